package io.msm.agent.k8s;

import static io.msm.agent.k8s.KubernetesWatchTest.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.msm.agent.routing.Backend;
import io.msm.agent.routing.Failure;
import io.msm.agent.routing.StreamRoutes;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Relay trees against fabric8's mock API server: a path published to node-a's agent is found by
 * node-b's agent through node-a's pod annotation and pulled from node-a's agent; a routed path
 * whose endpoint runs on node-a likewise; a request from a peer agent is never sent on to another
 * agent (one hop, no loops); a failed or vanished peer agent sends the next pull to the origin.
 */
class RelayTreeTest {
    static final String TREE = ", status: never, relay-tree: true, agent-namespace: msm-system";

    NodeAwareMock mock;
    Cluster k;
    final List<AutoCloseable> closing = new ArrayList<>();

    @BeforeEach
    void setUp() {
        mock = new NodeAwareMock();
        k = new Cluster(mock.client);
        k.namespace("msm-system", Map.of());
        k.namespace("studio", Map.of());
        k.namespace("media", Map.of());
        Map<String, String> agentLabels = Map.of("app.kubernetes.io/component", "agent");
        for (Pod p :
                List.of(
                        k.pod("msm-system", "msm-a", "node-a", agentLabels, true),
                        k.pod("msm-system", "msm-b", "node-b", agentLabels, true))) {
            ready(p.getMetadata().getName(), true);
        }
    }

    @AfterEach
    void tearDown() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
        mock.close();
    }

    void ready(String pod, boolean ready) {
        mock.client
                .pods()
                .inNamespace("msm-system")
                .withName(pod)
                .editStatus(
                        x -> {
                            x.getStatus()
                                    .setConditions(
                                            List.of(
                                                    new PodConditionBuilder()
                                                            .withType("Ready")
                                                            .withStatus(ready ? "True" : "False")
                                                            .build()));
                            return x;
                        });
    }

    KubernetesWatch watch(String node, int rtspPort) {
        KubernetesWatch w =
                new KubernetesWatch(
                        mock.client,
                        KubernetesWatchTest.settings(TREE),
                        node,
                        null,
                        List::of,
                        new Random(7));
        w.rtspPort(rtspPort);
        closing.add(w);
        w.start();
        await("the informers sync", w::ready);
        return w;
    }

    String annotation(String pod, String key) {
        Map<String, String> a =
                mock.client
                        .pods()
                        .inNamespace("msm-system")
                        .withName(pod)
                        .get()
                        .getMetadata()
                        .getAnnotations();
        return a == null ? null : a.get(key);
    }

    @Test
    void aPathPublishedOnAnotherNodeIsPulledFromThatNodesAgent() {
        KubernetesWatch onA = watch("node-a", 8554);
        KubernetesWatch onB = watch("node-b", 9554);
        StreamRoutes a = onA.routes();
        StreamRoutes b = onB.routes();
        assertTrue(b.choose(null, "/cam").isEmpty(), "nothing published yet");

        a.published(Set.of("cam", "lobby/door"));
        await(
                "node-a's agent writes its published paths on its pod",
                () -> "cam lobby/door".equals(annotation("msm-a", RelayTree.PUBLISHED)));
        assertEquals("8554", annotation("msm-a", RelayTree.PORT));
        await("node-b sees them", () -> b.choose(null, "/cam").isPresent());

        Backend got = b.choose("cams.example.com", "/lobby/door").orElseThrow();
        assertEquals(URI.create("rtsp://192.0.2.10:8554/lobby/door"), got.upstream());
        assertEquals("node node-a's agent", got.name());
        assertEquals(new Backend.Via("node-a", "cams.example.com", "node-b"), got.via());
        assertTrue(
                b.choose(null, "/cam", true).isEmpty(),
                "a peer's request is never sent on to another agent");
        assertTrue(a.choose(null, "/cam").isEmpty(), "an agent is not its own peer");
        assertTrue(b.choose(null, "/other").isEmpty());

        // the peer fails: left out for a while (the next viewer finds no source: 404)
        b.report(got, Failure.of(Failure.Kind.DESCRIBE_FAILED, "connection refused"));
        assertTrue(b.choose(null, "/cam").isEmpty(), "a failed peer is left out");

        // unpublished
        a.published(Set.of());
        await("the annotation follows", () -> "".equals(annotation("msm-a", RelayTree.PUBLISHED)));
    }

    @Test
    void aRoutedPathWhoseBackendRunsOnAnotherNodeIsPulledFromThatNodesAgent() throws Exception {
        TinyRtspServer origin = new TinyRtspServer("127.0.0.2");
        closing.add(origin);
        k.service("studio", "origin", 554);
        mock.client
                .discovery()
                .v1()
                .endpointSlices()
                .inNamespace("studio")
                .resource(
                        new EndpointSliceBuilder()
                                .withNewMetadata()
                                .withName("origin-abc")
                                .withNamespace("studio")
                                .withLabels(Map.of(EndpointSliceIndex.SERVICE_NAME_LABEL, "origin"))
                                .endMetadata()
                                .withAddressType("IPv4")
                                .addNewPort()
                                .withName("rtsp")
                                .withPort(origin.port())
                                .withProtocol("TCP")
                                .endPort()
                                .addNewEndpoint()
                                .withAddresses("127.0.0.2")
                                .withNodeName("node-a")
                                .withNewConditions()
                                .withReady(true)
                                .endConditions()
                                .endEndpoint()
                                .build())
                .create();
        KubernetesWatch onA = watch("node-a", 8554);
        KubernetesWatch onB = watch("node-b", 8554);
        k.route(
                "media",
                "live",
                null,
                "PathPrefix",
                "/show",
                List.of(Cluster.service("studio", "origin", 554, 1)));
        StreamRoutes a = onA.routes();
        StreamRoutes b = onB.routes();
        await(
                "both route",
                () ->
                        a.choose(null, "/show/1").isPresent()
                                && b.choose(null, "/show/1").isPresent());

        Backend onNodeA = a.choose(null, "/show/1").orElseThrow();
        assertNull(onNodeA.via(), "the backend's own node pulls from the backend");
        assertEquals(
                URI.create("rtsp://127.0.0.2:" + origin.port() + "/show/1"), onNodeA.upstream());

        Backend viaA = b.choose(null, "/show/1").orElseThrow();
        assertEquals(new Backend.Via("node-a", null, "node-b"), viaA.via());
        assertEquals(URI.create("rtsp://192.0.2.10:8554/show/1"), viaA.upstream());
        assertEquals("media/live", viaA.route());

        Backend fromPeer = b.choose(null, "/show/1", true).orElseThrow();
        assertNull(fromPeer.via(), "a peer's request is served from the backend, never forwarded");

        // node-a's agent fails: node-b pulls from the origin itself
        b.report(viaA, Failure.of(Failure.Kind.RTP_STOPPED, "peer gone"));
        assertNull(b.choose(null, "/show/1").orElseThrow().via(), "a failed peer is left out");
        assertTrue(
                a.choose(null, "/show/1").isPresent(),
                "the backend itself was not reported down by the peer's failure");
    }

    @Test
    void aPeerAgentThatIsNotReadyIsNotUsed() {
        KubernetesWatch onA = watch("node-a", 8554);
        KubernetesWatch onB = watch("node-b", 8554);
        onA.routes().published(Set.of("cam"));
        await("node-b sees cam", () -> onB.routes().choose(null, "/cam").isPresent());
        ready("msm-a", false);
        await("node-a's agent is not ready", () -> onB.routes().choose(null, "/cam").isEmpty());
    }
}
