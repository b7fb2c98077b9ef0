package io.msm.agent.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodIP;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.msm.agent.identity.Identities;
import io.msm.agent.identity.PathAccess;
import io.msm.agent.identity.RecordingSink;
import io.msm.agent.k8s.crd.StreamPolicy;
import io.msm.agent.k8s.crd.StreamPolicySpec;
import io.msm.agent.k8s.crd.StreamRouteSpec;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Workload identities and StreamPolicies through the watcher, against the mock API server: pods of
 * every node and namespace, status saying what is enforced, invalid policies enforced closed.
 */
class StreamPolicyWatchTest {
    NodeAwareMock mock;
    final RecordingSink sink = new RecordingSink();
    final List<AutoCloseable> closing = new ArrayList<>();

    @BeforeEach
    void setUp() {
        mock = new NodeAwareMock();
    }

    @AfterEach
    void tearDown() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
        mock.close();
    }

    KubernetesWatch watch() {
        KubernetesWatch w =
                new KubernetesWatch(
                        mock.client,
                        KubernetesWatchTest.settings(", status: always, trust-domain: msm.test"),
                        "node-a",
                        null,
                        List::of,
                        new Random(1),
                        sink);
        closing.add(w);
        w.start();
        KubernetesWatchTest.await("the informers sync", w::ready);
        return w;
    }

    Pod pod(String ns, String name, String node, String sa, boolean hostNetwork, String... ips) {
        PodBuilder b =
                new PodBuilder()
                        .withNewMetadata()
                        .withName(name)
                        .withNamespace(ns)
                        .withUid(UUID.randomUUID().toString())
                        .withLabels(Map.of("app", name))
                        .endMetadata()
                        .withNewSpec()
                        .withNodeName(node)
                        .withServiceAccountName(sa)
                        .withHostNetwork(hostNetwork)
                        .endSpec()
                        .withNewStatus()
                        .withPhase("Running")
                        .withPodIP(ips[0])
                        .withPodIPs(List.of(ips).stream().map(PodIP::new).toList())
                        .endStatus();
        return mock.client.pods().inNamespace(ns).resource(b.build()).create();
    }

    StreamPolicy policy(
            String ns,
            String name,
            String type,
            String path,
            List<StreamPolicySpec.Peer> publish,
            List<StreamPolicySpec.Peer> watch) {
        StreamPolicy p = new StreamPolicy();
        p.setMetadata(new ObjectMetaBuilder().withNamespace(ns).withName(name).build());
        StreamPolicySpec s = new StreamPolicySpec();
        s.match = new StreamRouteSpec.Match();
        s.match.path = new StreamRouteSpec.PathMatch();
        s.match.path.type = type;
        s.match.path.value = path;
        s.publish = publish;
        s.watch = watch;
        p.setSpec(s);
        return mock.client.resources(StreamPolicy.class).inNamespace(ns).resource(p).create();
    }

    static StreamPolicySpec.Peer peer(String ns, String sa) {
        StreamPolicySpec.Peer p = new StreamPolicySpec.Peer();
        p.namespace = ns;
        p.serviceAccount = sa;
        return p;
    }

    StreamPolicy read(String ns, String name) {
        return mock.client.resources(StreamPolicy.class).inNamespace(ns).withName(name).get();
    }

    static Condition cond(StreamPolicy p, String type) {
        if (p == null || p.getStatus() == null) {
            return null;
        }
        return p.getStatus().conditions.stream()
                .filter(c -> type.equals(c.getType()))
                .findFirst()
                .orElse(null);
    }

    static InetAddress ip(String s) throws Exception {
        return InetAddress.getByName(s);
    }

    @Test
    void podsOfEveryNodeAndNamespaceHaveIdentitiesHostNetworkNone() throws Exception {
        // what a previous agent left in the pinned map goes after the first listing
        sink.map.put(ip("10.9.9.9"), 42);
        pod("video", "cam", "node-b", "camera", false, "10.1.0.2", "fd00::2");
        pod("kube-system", "kp", "node-a", "proxy", true, "192.0.2.10");
        KubernetesWatch w = watch();
        KubernetesWatchTest.await(
                "the other node's pod has its identity",
                () -> "spiffe://msm.test/ns/video/sa/camera".equals(sink.nameAt(addr("10.1.0.2"))));
        assertEquals("spiffe://msm.test/ns/video/sa/camera", sink.nameAt(ip("fd00::2")));
        assertEquals(Identities.WORLD, w.identities().identityOf(ip("192.0.2.10")));
        KubernetesWatchTest.await(
                "stale entries dropped", () -> !sink.map.containsKey(addr("10.9.9.9")));
        assertTrue(w.waitingFor().isEmpty());
        assertTrue(w.describe().contains("trust domain msm.test"), w.describe());
    }

    @Test
    void aPodAddressReusedByAnotherIdentityIsNeverTrustedAsTheOld() throws Exception {
        Pod old = pod("video", "cam", "node-a", "camera", false, "10.1.0.30");
        KubernetesWatch w = watch();
        KubernetesWatchTest.await(
                "the camera is known", () -> w.identities().identityOf(addr("10.1.0.30")) != 0);
        int camera = w.identities().identityOf(ip("10.1.0.30"));
        mock.client.pods().inNamespace("video").withName("cam").delete();
        pod("lab", "rogue", "node-b", "intruder", false, "10.1.0.30");
        KubernetesWatchTest.await(
                "the newcomer's identity",
                () ->
                        "spiffe://msm.test/ns/lab/sa/intruder"
                                .equals(sink.nameAt(addr("10.1.0.30"))));
        assertNotEquals(camera, w.identities().identityOf(ip("10.1.0.30")));
        // RecordingSink fails any put over an address that still has an identity: removal came
        // first
        assertTrue(sink.calls.contains("remove 10.1.0.30"), sink.calls.toString());
        assertEquals("cam", old.getMetadata().getName());
    }

    @Test
    void aValidPolicyIsEnforcedAndItsStatusSaysWhat() throws Exception {
        pod("video", "cam", "node-a", "camera", false, "10.1.0.2");
        pod("video", "evil", "node-a", "intruder", false, "10.1.0.3");
        policy("video", "cams", "PathPrefix", "/cams", List.of(peer(null, "camera")), null);
        KubernetesWatch w = watch();
        KubernetesWatchTest.await(
                "Enforced written",
                () -> {
                    Condition c = cond(read("video", "cams"), "Enforced");
                    return c != null && "True".equals(c.getStatus());
                });
        StreamPolicy p = read("video", "cams");
        assertEquals("Accepted", cond(p, "Accepted").getReason());
        assertEquals("Enforced", cond(p, "Enforced").getReason());
        assertTrue(
                cond(p, "Enforced")
                        .getMessage()
                        .contains("publish 1 rule(s), watch not restricted"));
        assertEquals(1, p.getStatus().publishRules);
        assertNull(p.getStatus().watchRules);
        KubernetesWatchTest.await(
                "the camera is known", () -> w.identities().identityOf(addr("10.1.0.3")) != 0);
        assertEquals(
                PathAccess.Verdict.ALLOWED,
                w.policies().check("cams/1", PathAccess.Action.PUBLISH, ip("10.1.0.2")).verdict());
        assertEquals(
                PathAccess.Verdict.DENIED,
                w.policies().check("cams/1", PathAccess.Action.PUBLISH, ip("10.1.0.3")).verdict());
        assertEquals(
                PathAccess.Verdict.NOT_COVERED,
                w.policies().check("cams/1", PathAccess.Action.WATCH, ip("10.1.0.3")).verdict());
    }

    @Test
    void anInvalidPolicyIsRejectedWithTheFieldAndEnforcedClosed() throws Exception {
        pod("video", "cam", "node-a", "camera", false, "10.1.0.2");
        policy("video", "bad", "Exact", "/cam", List.of(peer("Not_A_Namespace", "camera")), null);
        policy("video", "nomatch", "Sideways", "/x", List.of(), null);
        KubernetesWatch w = watch();
        KubernetesWatchTest.await(
                "Accepted=False written", () -> cond(read("video", "bad"), "Accepted") != null);
        StreamPolicy p = read("video", "bad");
        Condition acc = cond(p, "Accepted");
        assertEquals("False", acc.getStatus());
        assertEquals("Invalid", acc.getReason());
        assertTrue(acc.getMessage().contains("spec.publish[0].namespace"), acc.getMessage());
        assertEquals("FailClosed", cond(p, "Enforced").getReason());
        assertEquals(0, p.getStatus().publishRules);
        KubernetesWatchTest.await(
                "the camera is known", () -> w.identities().identityOf(addr("10.1.0.2")) != 0);
        assertEquals(
                PathAccess.Verdict.DENIED,
                w.policies().check("cam", PathAccess.Action.PUBLISH, ip("10.1.0.2")).verdict(),
                "never 'allow all'");
        KubernetesWatchTest.await(
                "nomatch's status", () -> cond(read("video", "nomatch"), "Enforced") != null);
        Condition e = cond(read("video", "nomatch"), "Enforced");
        assertEquals("False", e.getStatus());
        assertEquals("InvalidMatch", e.getReason());
        assertTrue(
                cond(read("video", "nomatch"), "Accepted")
                        .getMessage()
                        .contains("spec.match.path.type"));
    }

    @Test
    void aPolicyEditIsSeenWithinSeconds() throws Exception {
        pod("video", "cam", "node-a", "camera", false, "10.1.0.2");
        policy("video", "cams", "Exact", "/cam", List.of(peer(null, "camera")), null);
        KubernetesWatch w = watch();
        KubernetesWatchTest.await(
                "allowed",
                () ->
                        w.policies()
                                        .check("cam", PathAccess.Action.PUBLISH, addr("10.1.0.2"))
                                        .verdict()
                                == PathAccess.Verdict.ALLOWED);
        // the agent writes status meanwhile: edit the latest version, again on a conflict
        for (int attempt = 0; ; attempt++) {
            StreamPolicy p = read("video", "cams");
            p.getSpec().publish = List.of(peer(null, "somebody-else"));
            try {
                mock.client.resources(StreamPolicy.class).inNamespace("video").resource(p).update();
                break;
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409 || attempt > 20) {
                    throw e;
                }
            }
        }
        KubernetesWatchTest.await(
                "denied after the edit",
                () ->
                        w.policies()
                                        .check("cam", PathAccess.Action.PUBLISH, addr("10.1.0.2"))
                                        .verdict()
                                == PathAccess.Verdict.DENIED);
    }

    static InetAddress addr(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
