package io.msm.agent.rtsp;

import static io.msm.agent.rtsp.RtspServerTest.receive;
import static io.msm.agent.rtsp.RtspServerTest.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.msm.agent.auth.Credentials;
import io.msm.agent.config.ConfigException;
import io.msm.agent.config.ConfigLoader;
import io.msm.agent.config.HostPort;
import io.msm.agent.config.RtspSettings;
import io.msm.agent.config.RtspSettings.Permission;
import io.msm.agent.config.RtspSettings.Rules;
import io.msm.agent.k8s.probe.RtspProbe;
import io.msm.agent.media.UserspaceMediaPlane;
import io.msm.agent.rtsp.wire.RtspResponse;
import io.msm.agent.sip.transport.TestCerts;
import io.msm.bpf.maps.PortTable;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * rtsps:// upstreams on loopback: "cluster B"'s agent serves RTSPS with a certificate from a test
 * CA and asks for Digest; "cluster A"'s agent pulls a path from it through an rtsps:// source with
 * that CA, credentials from its upstream-credentials file, and media interleaved on the TLS
 * connection. A certificate from another CA, one naming another host, an expired one, and a server
 * that never finishes the handshake each fail that pull with its reason (answered 502 to the
 * viewer, logged, counted in msm_rtsp_upstream_tls_failures_total{reason}); other paths go on.
 */
@Timeout(90)
class RtspsUpstreamTest {
    final RtspServerTest h = new RtspServerTest();
    @TempDir Path dir;

    @AfterEach
    void tearDown() throws Exception {
        h.tearDown();
    }

    /** A leaf for IP {@code ip} signed by {@code ca}, valid {@code days} (negative: expired). */
    void leaf(String ca, String name, String ip, int days) throws Exception {
        TestCerts.openssl(
                dir,
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                name + ".key");
        Files.writeString(dir.resolve(name + ".ext"), "subjectAltName=IP:" + ip + "\n");
        TestCerts.openssl(
                dir,
                "req",
                "-new",
                "-key",
                name + ".key",
                "-out",
                name + ".csr",
                "-subj",
                "/CN=" + name);
        TestCerts.openssl(
                dir,
                "x509",
                "-req",
                "-in",
                name + ".csr",
                "-CA",
                ca + ".crt",
                "-CAkey",
                ca + ".key",
                "-CAcreateserial",
                "-out",
                name + ".crt",
                "-days",
                Integer.toString(days),
                "-extfile",
                name + ".ext");
    }

    /** Cluster B's agent: "show" published on plain RTSP, read only by user cluster-a, + RTSPS. */
    RtspServer clusterB(String cert) throws Exception {
        Path users = dir.resolve("users");
        Files.write(users, Credentials.lines("cluster-a", "msm", "s3cret"), StandardCharsets.UTF_8);
        RtspSettings.Auth auth =
                RtspServerTest.LOOPBACK_PUBLISHES
                        .withUsers(users, RtspSettings.BasicAuth.TLS)
                        .withPath(
                                "show",
                                new Rules(
                                        Permission.from("127.0.0.0/8"),
                                        new Permission(Permission.ANYWHERE, List.of("cluster-a"))));
        return h.server(
                RtspServerTest.settings(
                                Duration.ofSeconds(30),
                                100,
                                Duration.ZERO,
                                Map.of(
                                        "show",
                                        new RtspSettings.PathSource(
                                                "show",
                                                RtspSettings.PathSource.Kind.PUBLISH,
                                                null)))
                        .with(auth)
                        .with(
                                new RtspSettings.Tls(
                                        new HostPort(InetAddress.getLoopbackAddress(), 0),
                                        dir.resolve(cert + ".crt"),
                                        dir.resolve(cert + ".key"))));
    }

    /**
     * Cluster A's agent (made last: its meters are h.registry): each path pulls the URL given,
     * credentials for every 127.0.0.1 upstream from its credentials file.
     */
    RtspServer clusterA(RtspSettings.UpstreamTls tls, Map<String, String> pulls) throws Exception {
        Path creds = dir.resolve("upstreams");
        Files.writeString(
                creds, "rtsps://127.0.0.1: cluster-a:s3cret\nrtsp://127.0.0.1: cluster-a:s3cret\n");
        Map<String, RtspSettings.PathSource> paths = new LinkedHashMap<>();
        pulls.forEach(
                (name, url) ->
                        paths.put(
                                name,
                                new RtspSettings.PathSource(
                                        name, RtspSettings.PathSource.Kind.PULL, URI.create(url))));
        RtspSettings t =
                RtspServerTest.settings(Duration.ofSeconds(30), 100, Duration.ofSeconds(5), paths);
        // an upstream must be playing within 2 s: the silent one fails before the test client's
        // own 5 s limit
        t =
                new RtspSettings(
                        t.publishByDefault(),
                        t.sessionTimeout(),
                        t.maxSessions(),
                        t.upstreamLinger(),
                        t.maxHeaderBytes(),
                        t.maxBodyBytes(),
                        t.maxPaths(),
                        Duration.ofSeconds(2),
                        t.paths(),
                        t.auth(),
                        t.limits(),
                        t.tls(),
                        t.grace());
        return h.server(
                t.with(
                        RtspServerTest.LOOPBACK_PUBLISHES
                                .withUpstreamCredentials(creds)
                                .withUpstreamTls(tls)));
    }

    static String rtsps(RtspServer b) {
        return "rtsps://127.0.0.1:" + b.tlsAddress().getPort() + "/show";
    }

    double tlsFailures(String reason) {
        Counter c =
                h.registry.find("msm.rtsp.upstream.tls.failures").tag("reason", reason).counter();
        return c == null ? 0 : c.count();
    }

    @Test
    void anAgentPullsOverTlsWithDigestAndTheMediaComesInterleavedOnIt() throws Exception {
        TestCerts.ca(dir, "ca");
        leaf("ca", "b", "127.0.0.1", 2);
        RtspServer b = clusterB("b");
        RtspServerTest.Publisher pub = h.publish(b, "show");
        RtspServer a =
                clusterA(
                        new RtspSettings.UpstreamTls(dir.resolve("ca.crt"), true),
                        Map.of("remote/show", rtsps(b)));
        RtspServerTest.Viewer v1 = h.view(a, "remote/show");
        RtspServerTest.Viewer v2 = h.view(a, "remote/show");
        RtspServer.PathState show =
                b.pathStates().stream().filter(p -> p.name().equals("show")).findFirst().get();
        assertEquals(1, show.viewers(), "cluster B's agent serves cluster A's node one session");
        pub.send(0, 20);
        for (RtspServerTest.Viewer v : List.of(v1, v2)) {
            assertEquals(20, receive(v.rtp(), 20, 3000).size(), "the viewers in cluster A play");
        }
        assertEquals(0, tlsFailures("untrusted") + tlsFailures("handshake"));
    }

    /** Each bad server fails its pull with its reason; the good one on the same agent plays on. */
    @Test
    void aBadCertificateFailsThatPullWithItsReasonAndNothingElse() throws Exception {
        TestCerts.ca(dir, "ca");
        TestCerts.ca(dir, "other");
        leaf("ca", "good", "127.0.0.1", 2);
        leaf("other", "stranger", "127.0.0.1", 2);
        leaf("ca", "elsewhere", "127.0.0.2", 2);
        leaf("ca", "old", "127.0.0.1", -1);
        RtspServer good = clusterB("good");
        RtspServer stranger = clusterB("stranger");
        RtspServer elsewhere = clusterB("elsewhere");
        RtspServer old = clusterB("old");
        RtspServerTest.Publisher pub = h.publish(good, "show");
        for (RtspServer x : List.of(stranger, elsewhere, old)) {
            h.publish(x, "show");
        }
        try (ServerSocket silent = new ServerSocket(0, 8, InetAddress.getLoopbackAddress())) {
            List<Socket> held = new ArrayList<>();
            Thread accept =
                    new Thread(
                            () -> {
                                try {
                                    while (true) {
                                        held.add(silent.accept()); // never says a word
                                    }
                                } catch (Exception ignored) {
                                    // closed
                                }
                            });
            accept.setDaemon(true);
            accept.start();
            Map<String, String> pulls = new LinkedHashMap<>();
            pulls.put("good", rtsps(good));
            pulls.put("stranger", rtsps(stranger));
            pulls.put("elsewhere", rtsps(elsewhere));
            pulls.put("old", rtsps(old));
            pulls.put("silent", "rtsps://127.0.0.1:" + silent.getLocalPort() + "/show");
            pulls.put("plain", "rtsp://127.0.0.1:" + good.address().getPort() + "/show");
            RtspServer a =
                    clusterA(new RtspSettings.UpstreamTls(dir.resolve("ca.crt"), true), pulls);
            RtspServerTest.Viewer watching = h.view(a, "good");
            RtspServerTest.Viewer plain = h.view(a, "plain");

            Map<String, String> reasons =
                    Map.of(
                            "stranger", "untrusted",
                            "elsewhere", "name-mismatch",
                            "old", "expired",
                            "silent", "timeout");
            for (Map.Entry<String, String> e : reasons.entrySet()) {
                RtspTestClient v = h.client(a, e.getKey());
                RtspResponse r = v.send("DESCRIBE", v.base, "Accept", "application/sdp");
                assertEquals(
                        502, r.status(), e.getKey() + ": " + r.headers().getOrNull("X-Reason"));
                String why = r.headers().getOrNull("X-Reason");
                assertTrue(
                        why != null && why.contains("TLS"),
                        e.getKey() + " says it was TLS: " + why);
                waitFor(
                        () -> tlsFailures(e.getValue()) >= 1,
                        2000,
                        e.getKey() + " counted as " + e.getValue());
            }
            for (RtspServer x : List.of(stranger, elsewhere, old)) {
                assertEquals(
                        0,
                        x.pathStates().stream()
                                .filter(p -> p.name().equals("show"))
                                .findFirst()
                                .get()
                                .viewers(),
                        "a server whose certificate did not pass serves nothing");
            }
            pub.send(0, 10);
            assertEquals(10, receive(watching.rtp(), 10, 3000).size(), "the good pull plays on");
            assertEquals(10, receive(plain.rtp(), 10, 3000).size(), "plain rtsp:// still pulls");
            silent.close();
            for (Socket s : held) {
                s.close();
            }
        }
    }

    /** verify-host: false (the documented opt-out) takes a certificate naming another host. */
    @Test
    void theHostNameCheckCanBeTurnedOffExplicitly() throws Exception {
        TestCerts.ca(dir, "ca");
        leaf("ca", "elsewhere", "127.0.0.2", 2);
        RtspServer b = clusterB("elsewhere");
        RtspServerTest.Publisher pub = h.publish(b, "show");
        RtspServer a =
                clusterA(
                        new RtspSettings.UpstreamTls(dir.resolve("ca.crt"), false),
                        Map.of("remote", rtsps(b)));
        RtspServerTest.Viewer v = h.view(a, "remote");
        pub.send(0, 5);
        assertEquals(5, receive(v.rtp(), 5, 3000).size());
    }

    /**
     * The source= problem of peer pulls: cluster B's publisher reached its agent on 127.0.0.1, and
     * cluster A pulls over plain RTSP (UDP) from 127.0.0.2 — B sends from its publisher-side relay
     * (127.0.0.1, which its Transport names in source=), not from the address A connected to. A
     * takes the media from the advertised source at its first packet on the server ports.
     */
    @Test
    void aPlainPullTakesMediaFromTheSourceTheUpstreamNamed() throws Exception {
        int base = 20000 + 2 * ThreadLocalRandom.current().nextInt(0, 10000);
        UserspaceMediaPlane plane =
                new UserspaceMediaPlane(new PortTable.Range(base, base + 399), 1);
        h.closers.add(plane);
        RtspServer b =
                new RtspServer(
                        new HostPort(InetAddress.getByName("0.0.0.0"), 0),
                        RtspServerTest.settings(
                                Duration.ofSeconds(30), 100, Duration.ZERO, Map.of()),
                        plane,
                        new SimpleMeterRegistry());
        b.start();
        h.closers.add(b);
        // the publisher reaches B on 127.0.0.1
        RtspTestClient p =
                new RtspTestClient(
                        new InetSocketAddress(RtspServerTest.LO, b.address().getPort()), "show");
        h.closers.add(p);
        assertEquals(
                200,
                p.sendBody(
                                "ANNOUNCE",
                                p.base,
                                RtspServerTest.SDP,
                                "Content-Type",
                                "application/sdp")
                        .status());
        DatagramChannel[] pr = h.udpPair();
        RtspResponse setup =
                p.send(
                        "SETUP",
                        p.base + "/streamid=0",
                        "Transport",
                        "RTP/AVP/UDP;unicast;client_port="
                                + RtspServerTest.port(pr[0])
                                + "-"
                                + RtspServerTest.port(pr[1])
                                + ";mode=record");
        assertEquals(200, setup.status(), setup.headers().getOrNull("X-Reason"));
        assertEquals(200, p.send("RECORD", p.base).status());
        RtspServerTest.Publisher pub =
                new RtspServerTest.Publisher(p, pr[0], pr[1], RtspTestClient.serverPort(setup));
        RtspServer a =
                clusterA(
                        RtspSettings.UpstreamTls.DEFAULTS,
                        Map.of("remote", "rtsp://127.0.0.2:" + b.address().getPort() + "/show"));
        RtspServerTest.Viewer v = h.view(a, "remote");
        pub.send(0, 10);
        assertEquals(
                10,
                receive(v.rtp(), 10, 3000).size(),
                "the viewer in cluster A gets the media B sends from its source=");
    }

    /** A StreamRoute's probe of an rtsps:// backend: TLS, liveness only (401 is alive). */
    @Test
    void theRouteProbeOfAnRtspsBackendSpeaksTls() throws Exception {
        TestCerts.ca(dir, "ca");
        leaf("ca", "b", "127.0.0.1", 2);
        RtspServer b = clusterB("b");
        h.publish(b, "show");
        int port = b.tlsAddress().getPort();
        assertTrue(
                RtspProbe.probe(
                                "127.0.0.1",
                                port,
                                URI.create(rtsps(b)),
                                Duration.ofSeconds(3),
                                true)
                        .isEmpty(),
                "alive: the stream exists behind Digest");
        assertTrue(
                RtspProbe.probe(
                                "127.0.0.1",
                                port,
                                URI.create(rtsps(b)),
                                Duration.ofSeconds(3),
                                false)
                        .isPresent(),
                "plain RTSP to the TLS port is no answer");
    }

    @Test
    void theConfigNamesAMissingOrBadCaFile() throws Exception {
        Path notPem = dir.resolve("not.pem");
        Files.writeString(notPem, "hello\n");
        for (String ca : List.of(dir.resolve("missing.pem").toString(), notPem.toString())) {
            ConfigException e =
                    assertThrows(
                            ConfigException.class,
                            () ->
                                    ConfigLoader.parseYaml(
                                            "rtsp: {upstream-tls: {ca: '" + ca + "'}}\n",
                                            ConfigLoader.Overrides.NONE));
            assertTrue(e.getMessage().contains("rtsp.upstream-tls.ca"), e.getMessage());
        }
        TestCerts.ca(dir, "ca");
        RtspSettings s =
                ConfigLoader.parseYaml(
                                "rtsp: {upstream-tls: {ca: '"
                                        + dir.resolve("ca.crt")
                                        + "'}, paths: {r: {source: 'rtsps://b.example:8322/x'}}}\n",
                                ConfigLoader.Overrides.NONE)
                        .rtsp();
        assertEquals(dir.resolve("ca.crt"), s.auth().upstreamTls().ca());
        assertTrue(s.auth().upstreamTls().verifyHost(), "host names are checked by default");
        assertEquals("rtsps", s.paths().get("r").upstream().getScheme());
    }
}
