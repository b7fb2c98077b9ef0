package io.msm.agent.rtsp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.msm.agent.auth.Credentials;
import io.msm.agent.config.HostPort;
import io.msm.agent.config.RtspSettings;
import io.msm.agent.config.RtspSettings.Permission;
import io.msm.agent.config.RtspSettings.Rules;
import io.msm.agent.identity.AccessPolicy;
import io.msm.agent.identity.Identities;
import io.msm.agent.identity.IdentitySink;
import io.msm.agent.identity.PodIdentities;
import io.msm.agent.identity.StreamPolicies;
import io.msm.agent.media.Relay;
import io.msm.agent.media.UserspaceMediaPlane;
import io.msm.agent.rtsp.wire.RtspResponse;
import io.msm.bpf.maps.PortTable;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Publishing and watching by workload identity, on loopback: pods are simulated at 127.0.0.x (the
 * directory learns them as the informer would tell it). cam's policy admits the camera's
 * ServiceAccount as publisher and the lab's players as viewers; passwords still guard it for
 * sources outside the cluster.
 */
@Timeout(60)
class RtspIdentityTest {
    static final InetAddress CAMERA = address("127.0.0.2"); // video/camera
    static final InetAddress INTRUDER = address("127.0.0.3"); // video/intruder
    static final InetAddress PLAYER = address("127.0.0.4"); // lab/player
    static final InetAddress OUTSIDER = address("127.0.0.5"); // no pod: WORLD

    final List<AutoCloseable> closers = new ArrayList<>();
    final PodIdentities pods = new PodIdentities(IdentitySink.NONE, "cluster.local");
    final StreamPolicies policies = new StreamPolicies(pods);
    SimpleMeterRegistry registry;
    UserspaceMediaPlane plane;
    RtspServer srv;
    Pod cameraPod;
    @TempDir Path dir;

    static InetAddress address(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static Pod pod(String ns, String name, String sa, InetAddress ip) {
        return new PodBuilder()
                .withNewMetadata()
                .withNamespace(ns)
                .withName(name)
                .withUid(UUID.randomUUID().toString())
                .endMetadata()
                .withNewSpec()
                .withServiceAccountName(sa)
                .endSpec()
                .withNewStatus()
                .withPhase("Running")
                .withPodIP(ip.getHostAddress())
                .endStatus()
                .build();
    }

    static AccessPolicy camPolicy(List<AccessPolicy.Peer> watch) {
        return new AccessPolicy(
                "video/cam",
                true,
                "cam",
                List.of(new AccessPolicy.Peer("video", "camera", Map.of())),
                watch,
                null);
    }

    static final List<AccessPolicy.Peer> LAB_PLAYERS =
            List.of(new AccessPolicy.Peer("lab", "player", Map.of()));

    @BeforeEach
    void setUp() throws Exception {
        cameraPod = pod("video", "cam-0", "camera", CAMERA);
        pods.upsert(cameraPod);
        pods.upsert(pod("video", "evil", "intruder", INTRUDER));
        pods.upsert(pod("lab", "vlc", "player", PLAYER));
        pods.synced();
        policies.update(List.of(camPolicy(LAB_PLAYERS)));

        Path users = dir.resolve("users");
        List<String> lines = new ArrayList<>(Credentials.lines("cam", "msm", "campass"));
        lines.addAll(Credentials.lines("viewer", "msm", "viewpass"));
        Files.write(users, lines, StandardCharsets.UTF_8);
        RtspSettings.Auth auth =
                RtspSettings.Auth.OPEN_READ
                        .withUsers(users, RtspSettings.BasicAuth.TLS)
                        .withPath(
                                "cam",
                                new Rules(
                                        new Permission(Permission.ANYWHERE, List.of("cam")),
                                        new Permission(Permission.ANYWHERE, List.of("viewer"))));
        RtspSettings s =
                RtspServerTest.settings(
                                Duration.ofSeconds(30),
                                100,
                                Duration.ZERO,
                                Map.of(
                                        "cam",
                                        new RtspSettings.PathSource(
                                                "cam", RtspSettings.PathSource.Kind.PUBLISH, null)))
                        .with(auth);
        int base = 20000 + 2 * ThreadLocalRandom.current().nextInt(0, 10000);
        plane = new UserspaceMediaPlane(new PortTable.Range(base, base + 399), 1);
        closers.add(plane);
        registry = new SimpleMeterRegistry();
        srv =
                new RtspServer(new HostPort(RtspServerTest.LO, 0), s, plane, registry)
                        .withAccess(policies);
        srv.start();
        closers.add(srv);
    }

    @AfterEach
    void tearDown() {
        for (int i = closers.size() - 1; i >= 0; i--) {
            try {
                closers.get(i).close();
            } catch (Exception ignored) {
                // best effort
            }
        }
    }

    RtspTestClient client(InetAddress from, String user, String password) throws Exception {
        RtspTestClient c = new RtspTestClient(srv.address(), "cam", from, user, password);
        closers.add(c);
        return c;
    }

    /** ANNOUNCE, SETUP (interleaved), RECORD; the status of the first refused step, or 200. */
    static int publish(RtspTestClient c) throws Exception {
        RtspResponse r = RtspAuthTest.send(c, "ANNOUNCE", c.base, null);
        if (r.status() != 200) {
            return r.status();
        }
        r =
                c.send(
                        "SETUP",
                        c.base + "/streamid=0",
                        "Transport",
                        "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record");
        if (r.status() != 200) {
            return r.status();
        }
        return c.send("RECORD", c.base).status();
    }

    static int watch(RtspTestClient c) throws Exception {
        RtspResponse r = c.send("DESCRIBE", c.base);
        if (r.status() != 200) {
            return r.status();
        }
        r =
                c.send(
                        "SETUP",
                        c.base + "/trackID=0",
                        "Transport",
                        "RTP/AVP/TCP;unicast;interleaved=0-1");
        if (r.status() != 200) {
            return r.status();
        }
        return c.send("PLAY", c.base).status();
    }

    double refused(String reason) {
        return registry.find("msm.refused").tag("reason", reason).counter().count();
    }

    Set<Integer> relayIdentities() {
        for (Relay r : plane.relays()) {
            if (r.options().label().equals("rtsp/cam/track0/rtp")) {
                return r.options().allowedIdentities();
            }
        }
        throw new AssertionError("no relay for cam");
    }

    static void await(String what, BooleanSupplier cond) throws InterruptedException {
        long end = System.nanoTime() + 5_000_000_000L;
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("not within 5 s: " + what);
            }
            Thread.sleep(20);
        }
    }

    @Test
    void theAllowedPublisherPodPublishesWithoutAPasswordAndItsRelaysAdmitOnlyIt() throws Exception {
        assertEquals(200, publish(client(CAMERA, null, null)));
        assertEquals(Set.of(pods.identityOf(CAMERA)), relayIdentities());
        assertEquals(0, refused("unauthorized"), "nobody was asked for a password");
    }

    @Test
    void aPodWithAnotherServiceAccountIsRefused403WithoutAPrompt() throws Exception {
        RtspTestClient c = client(INTRUDER, "cam", "campass");
        RtspResponse r = RtspAuthTest.send(c, "ANNOUNCE", c.base, null);
        assertEquals(403, r.status());
        assertTrue(
                r.headers().getOrNull("X-Reason").contains("ns/video/sa/intruder"),
                r.headers().getOrNull("X-Reason"));
        assertTrue(RtspAuthTest.challenges(r).isEmpty(), "no password prompt for a pod");
        assertEquals(1, refused("identity"));
    }

    @Test
    void aViewerOutsideThePolicyGets403AndAnAllowedOneWatches() throws Exception {
        assertEquals(200, publish(client(CAMERA, null, null)));
        RtspTestClient no = client(INTRUDER, "viewer", "viewpass");
        assertEquals(403, no.send("DESCRIBE", no.base).status());
        assertEquals(200, watch(client(PLAYER, null, null)));
    }

    @Test
    void aSourceOutsideTheClusterFallsBackToPasswords() throws Exception {
        RtspTestClient anon = client(OUTSIDER, null, null);
        RtspResponse r = RtspAuthTest.send(anon, "ANNOUNCE", anon.base, null);
        assertEquals(401, r.status(), "challenged, as without a policy");
        assertEquals(200, publish(client(OUTSIDER, "cam", "campass")));
        assertEquals(
                Set.of(Identities.WORLD),
                relayIdentities(),
                "a publisher outside the cluster: the relay admits addresses without identity");
        assertEquals(200, watch(client(OUTSIDER, "viewer", "viewpass")));
    }

    @Test
    void aPolicyEditEndsANowForbiddenViewerWithinSeconds() throws Exception {
        RtspTestClient pub = client(CAMERA, null, null);
        assertEquals(200, publish(pub));
        RtspTestClient v = client(PLAYER, null, null);
        assertEquals(200, watch(v));
        assertEquals(2, srv.sessionCount());
        policies.update(
                List.of(
                        camPolicy(
                                List.of(new AccessPolicy.Peer("lab", "someone-else", Map.of())))));
        await("the viewer's connection closes", () -> !v.c.isOpen());
        assertEquals(1, srv.sessionCount(), "the publisher, still allowed, stays");
        assertTrue(pub.c.isOpen());
        assertEquals(1, refused("identity"));
    }

    @Test
    void aPublishersAddressTakenOverByAnotherIdentityEndsItsStream() throws Exception {
        RtspTestClient pub = client(CAMERA, null, null);
        assertEquals(200, publish(pub));
        RtspTestClient v = client(PLAYER, null, null);
        assertEquals(200, watch(v));
        // the camera's pod goes, another account's pod has its address (as a test can fake it)
        pods.delete(cameraPod);
        pods.upsert(pod("video", "evil-2", "intruder", CAMERA));
        await("the publisher's connection closes", () -> !pub.c.isOpen());
        await("and its viewer's, with the stream", () -> !v.c.isOpen());
        assertEquals(0, srv.sessionCount());
    }

    @Test
    void aPublisherWhoseAddressGainsAnAllowedIdentityKeepsPublishingAndItsRelaysFollow()
            throws Exception {
        RtspTestClient pub = client(OUTSIDER, "cam", "campass");
        assertEquals(200, publish(pub));
        assertEquals(Set.of(Identities.WORLD), relayIdentities());
        pods.upsert(pod("video", "cam-1", "camera", OUTSIDER));
        await(
                "the relays admit the camera's identity",
                () -> Set.of(pods.identityOf(OUTSIDER)).equals(relayIdentities()));
        assertTrue(pub.c.isOpen());
    }

    @Test
    void aViewerWhosePodLosesTheLabelThePolicyAsksForIsEnded() throws Exception {
        Pod labelled =
                new PodBuilder(pod("lab", "vlc-2", "other", address("127.0.0.6")))
                        .editMetadata()
                        .addToLabels("role", "viewer")
                        .endMetadata()
                        .build();
        pods.upsert(labelled);
        policies.update(
                List.of(
                        camPolicy(
                                List.of(
                                        new AccessPolicy.Peer(
                                                "*", null, Map.of("role", "viewer"))))));
        assertEquals(200, publish(client(CAMERA, null, null)));
        RtspTestClient v = client(address("127.0.0.6"), null, null);
        assertEquals(200, watch(v));
        pods.upsert(
                new PodBuilder(labelled).editMetadata().withLabels(Map.of()).endMetadata().build());
        await("the viewer's connection closes", () -> !v.c.isOpen());
        assertEquals(1, srv.sessionCount());
    }

    @Test
    void withoutAPolicyNothingChanges() throws Exception {
        policies.update(List.of());
        RtspTestClient c = client(CAMERA, null, null);
        assertEquals(401, RtspAuthTest.send(c, "ANNOUNCE", c.base, null).status());
        assertEquals(200, publish(client(CAMERA, "cam", "campass")));
        assertNull(relayIdentities(), "no identity check on the relays");
        assertFalse(refused("identity") > 0);
    }
}
