package io.msm.agent.rtsp;

import static io.msm.agent.rtsp.RtspServerTest.receive;
import static io.msm.agent.rtsp.RtspServerTest.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.msm.agent.auth.Credentials;
import io.msm.agent.config.RtspSettings;
import io.msm.agent.routing.Backend;
import io.msm.agent.routing.Failure;
import io.msm.agent.routing.StreamRoutes;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Relay trees between agents on loopback (userspace media plane): node-b's and node-c's agents pull
 * a path published to node-a's agent from node-a's agent, which serves one session per remote node;
 * a request marked {@code X-Msm-Hop} is served only from the agent's own sources (never from a path
 * it pulls from a peer, never sent on to a peer), so even contradicting directories cannot loop; a
 * remote agent that goes away moves nothing on the others.
 */
@Timeout(60)
class RelayTreeRtspTest {
    final RtspServerTest h = new RtspServerTest();

    @AfterEach
    void tearDown() throws Exception {
        h.tearDown();
    }

    /** What {@code k8s.RelayTree} answers, for fixed peers: path → the node's agent serving it. */
    static final class Peers implements StreamRoutes {
        final Map<String, RtspServer> where;
        final Map<RtspServer, String> names;
        final List<Backend> reported = new CopyOnWriteArrayList<>();

        /** the node whose agent asks (it names itself to the peer: X-Msm-Hop from=) */
        final String self;

        Peers(Map<String, RtspServer> where, Map<RtspServer, String> names) {
            this(where, names, null);
        }

        Peers(Map<String, RtspServer> where, Map<RtspServer, String> names, String self) {
            this.where = where;
            this.names = names;
            this.self = self;
        }

        @Override
        public Optional<Backend> choose(String host, String path) {
            return choose(host, path, false);
        }

        @Override
        public Optional<Backend> choose(String host, String path, boolean fromPeer) {
            RtspServer s = where.get(path);
            if (fromPeer || s == null) {
                return Optional.empty();
            }
            String hp = "127.0.0.1:" + s.address().getPort();
            return Optional.of(
                    new Backend(
                            "",
                            "node " + names.get(s) + "'s agent",
                            hp,
                            URI.create("rtsp://" + hp + path),
                            new Backend.Via(names.get(s), null, self)));
        }

        @Override
        public void report(Backend backend, Failure failure) {
            reported.add(backend);
        }
    }

    RtspServer agent() throws Exception {
        return h.server(
                RtspServerTest.settings(
                        Duration.ofSeconds(30), 100, Duration.ofSeconds(5), Map.of()));
    }

    static RtspServer.PathState state(RtspServer s, String name) {
        return s.pathStates().stream().filter(p -> p.name().equals(name)).findFirst().orElse(null);
    }

    @Test
    void remoteNodesPullFromTheOriginNodesAgentOncePerNode() throws Exception {
        RtspServer a = agent();
        RtspServer b = agent();
        RtspServer c = agent();
        Map<RtspServer, String> names = Map.of(a, "node-a", b, "node-b", c, "node-c");
        b.withRoutes(() -> new Peers(Map.of("/cam", a), names, "node-b"));
        c.withRoutes(() -> new Peers(Map.of("/cam", a), names, "node-c"));
        RtspServerTest.Publisher pub = h.publish(a, "cam");

        RtspServerTest.Viewer b1 = h.view(b, "cam");
        RtspServerTest.Viewer b2 = h.view(b, "cam");
        RtspServerTest.Viewer c1 = h.view(c, "cam");
        assertEquals(2, state(a, "cam").viewers(), "node-a's agent serves one session per node");
        assertEquals(1, state(b, "cam").upstreamSessions());
        assertEquals(2, state(b, "cam").viewers(), "node-b fans out locally");
        pub.send(0, 20);
        for (RtspServerTest.Viewer v : List.of(b1, b2, c1)) {
            assertEquals(20, receive(v.rtp(), 20, 3000).size(), "every viewer gets the stream");
        }

        var cRegistry = h.registry; // the last server made: c's
        waitFor(
                () -> {
                    var g =
                            cRegistry
                                    .find("msm.rtsp.tree.edges")
                                    .tags("direction", "takes", "peer", "node-a")
                                    .gauge();
                    return g != null && g.value() == 1.0;
                },
                5000,
                "msm_rtsp_tree_edges{direction=takes,peer=node-a} on node-c");

        // msm status reads the edges from /tree: a serves node-b and node-c, c takes from node-a
        JsonNode served = new ObjectMapper().readTree(a.treeJson()).path("edges");
        assertEquals(2, served.size(), a.treeJson());
        for (int i = 0; i < 2; i++) {
            JsonNode e = served.get(i);
            assertEquals("serves", e.path("direction").asText());
            assertEquals(i == 0 ? "node-b" : "node-c", e.path("peer").asText(), a.treeJson());
            assertEquals("cam", e.path("path").asText());
            assertEquals(1, e.path("sessions").asLong(), "one session per remote node");
            assertTrue(
                    e.path("bytes").asLong() > 0, "the copies sent to the peer: " + a.treeJson());
        }
        JsonNode taken = new ObjectMapper().readTree(c.treeJson()).path("edges");
        assertEquals(1, taken.size(), c.treeJson());
        assertEquals("takes", taken.get(0).path("direction").asText());
        assertEquals("node-a", taken.get(0).path("peer").asText());
        assertEquals(1, taken.get(0).path("sessions").asLong());
        assertTrue(
                taken.get(0).path("bytes").asLong() > 0, "received from node-a: " + c.treeJson());

        // a peer's request: served from a's own source; b never serves its pulled copy to a peer
        RtspTestClient hopToA = h.client(a, "cam");
        assertEquals(
                200,
                hopToA.send("DESCRIBE", hopToA.base, "X-Msm-Hop", "-").status(),
                "the origin's agent serves a peer from its publisher");
        RtspTestClient hopToB = h.client(b, "cam");
        assertEquals(
                404,
                hopToB.send("DESCRIBE", hopToB.base, "X-Msm-Hop", "-").status(),
                "an agent never serves a peer from a path it pulls from a peer");

        // node-b's agent goes away: node-a loses one session, node-c keeps watching
        b.close();
        waitFor(() -> state(a, "cam").viewers() == 1, 5000, "node-b's session at node-a ends");
        pub.send(20, 10);
        assertEquals(10, receive(c1.rtp(), 10, 3000).size(), "node-c is not moved");
        assertEquals(1, state(c, "cam").upstreamSessions(), "node-c did not re-pull");
    }

    @Test
    void contradictingDirectoriesCannotLoop() throws Exception {
        RtspServer b = agent();
        RtspServer c = agent();
        Map<RtspServer, String> names = Map.of(b, "node-b", c, "node-c");
        // each believes the other has /x: b pulls from c with the hop mark, c does not forward it
        b.withRoutes(() -> new Peers(Map.of("/x", c), names));
        c.withRoutes(() -> new Peers(Map.of("/x", b), names));
        RtspTestClient v = h.client(b, "x");
        int status = v.send("DESCRIBE", v.base, "Accept", "application/sdp").status();
        assertNotEquals(200, status);
        waitFor(
                () -> state(b, "x") == null && state(c, "x") == null,
                5000,
                "no path is left behind on either agent");
        assertNull(state(c, "x"), "c created no path for the peer's request");
    }

    /**
     * Inter-cluster, one hop: cluster A's agent pulls a path from cluster B's agent through a
     * {@code url} backend whose userinfo answers B's Digest challenge (B lets only user cluster-a
     * read it); no {@code X-Msm-Hop} on that pull, so B serves it as it serves any viewer.
     */
    @Test
    void anAgentPullsFromAnotherClustersAgentWithCredentials() throws Exception {
        Path dir = Files.createTempDirectory("msm-intercluster");
        try {
            Path users = dir.resolve("users");
            Files.write(
                    users, Credentials.lines("cluster-a", "msm", "s3cret"), StandardCharsets.UTF_8);
            RtspSettings.Auth auth =
                    RtspServerTest.LOOPBACK_PUBLISHES
                            .withUsers(users, RtspSettings.BasicAuth.TLS)
                            .withPath(
                                    "show",
                                    new RtspSettings.Rules(
                                            RtspSettings.Permission.from("127.0.0.0/8"),
                                            new RtspSettings.Permission(
                                                    RtspSettings.Permission.ANYWHERE,
                                                    List.of("cluster-a"))));
            RtspServer clusterB =
                    h.server(
                            RtspServerTest.settings(
                                            Duration.ofSeconds(30),
                                            100,
                                            Duration.ofSeconds(5),
                                            Map.of(
                                                    "show",
                                                    new RtspSettings.PathSource(
                                                            "show",
                                                            RtspSettings.PathSource.Kind.PUBLISH,
                                                            null)))
                                    .with(auth));
            RtspServerTest.Publisher pub = h.publish(clusterB, "show");
            RtspTestClient stranger = h.client(clusterB, "show");
            assertEquals(
                    401,
                    stranger.send("DESCRIBE", stranger.base).status(),
                    "cluster B's agent lets only cluster-a read show");

            String hp = "127.0.0.1:" + clusterB.address().getPort();
            StreamRoutes remote =
                    new StreamRoutes() {
                        @Override
                        public Optional<Backend> choose(String host, String path) {
                            return path.equals("/remote/show")
                                    ? Optional.of(
                                            new Backend(
                                                    "media/remote-show",
                                                    "rtsp://" + hp + "/show",
                                                    hp,
                                                    URI.create(
                                                            "rtsp://cluster-a:s3cret@"
                                                                    + hp
                                                                    + "/show")))
                                    : Optional.empty();
                        }

                        @Override
                        public void report(Backend backend, Failure failure) {}
                    };
            RtspServer clusterA = agent();
            clusterA.withRoutes(() -> remote);
            RtspServerTest.Viewer v1 = h.view(clusterA, "remote/show");
            RtspServerTest.Viewer v2 = h.view(clusterA, "remote/show");
            assertEquals(
                    1,
                    state(clusterB, "show").viewers(),
                    "cluster B's agent serves cluster A's node one session");
            pub.send(0, 20);
            for (RtspServerTest.Viewer v : List.of(v1, v2)) {
                assertEquals(
                        20, receive(v.rtp(), 20, 3000).size(), "the viewers in cluster A play");
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dir);
        }
    }
}
