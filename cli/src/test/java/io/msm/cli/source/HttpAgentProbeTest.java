package io.msm.cli.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The real probe against a real HTTP server on loopback. */
class HttpAgentProbeTest {
    static HttpServer server(int status, String body) throws IOException {
        HttpServer s =
                HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        s.createContext(
                "/healthz",
                ex -> {
                    byte[] b = body.getBytes(StandardCharsets.UTF_8);
                    ex.sendResponseHeaders(status, b.length);
                    ex.getResponseBody().write(b);
                    ex.close();
                });
        s.start();
        return s;
    }

    static URI url(HttpServer s) {
        return URI.create("http://127.0.0.1:" + s.getAddress().getPort() + "/healthz");
    }

    @Test
    void healthyAgent() throws IOException {
        HttpServer s = server(200, "ok\nmore");
        try {
            AgentProbe.Health h = new HttpAgentProbe().probe(url(s), Duration.ofSeconds(1));
            assertTrue(h.reachable());
            assertEquals(200, h.httpStatus());
            assertEquals("ok", h.detail(), "first line of the body");
        } finally {
            s.stop(0);
        }
    }

    @Test
    void unhealthyAgentAnswersButIsNotReachable() throws IOException {
        HttpServer s = server(503, "flows map not adopted");
        try {
            AgentProbe.Health h = new HttpAgentProbe().probe(url(s), Duration.ofSeconds(1));
            assertFalse(h.reachable());
            assertEquals(503, h.httpStatus());
            assertEquals("flows map not adopted", h.detail());
        } finally {
            s.stop(0);
        }
    }

    @Test
    void nobodyListening() throws IOException {
        int port;
        try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        AgentProbe.Health h =
                new HttpAgentProbe()
                        .probe(
                                URI.create("http://127.0.0.1:" + port + "/healthz"),
                                Duration.ofSeconds(1));
        assertFalse(h.reachable());
        assertEquals(0, h.httpStatus());
        assertTrue(h.detail().startsWith("connection refused"), h.detail());
        assertTrue(h.millis() < 1500, "bounded by the timeout: " + h.millis());
    }

    @Test
    void silentAgentTimesOut() throws IOException {
        // accepts the connection (backlog) but never answers
        try (ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            AgentProbe.Health h =
                    new HttpAgentProbe()
                            .probe(
                                    URI.create(
                                            "http://127.0.0.1:"
                                                    + silent.getLocalPort()
                                                    + "/healthz"),
                                    Duration.ofMillis(300));
            assertFalse(h.reachable());
            assertTrue(h.detail().contains("no answer within 300 ms"), h.detail());
        }
    }

    @Test
    void treeEdgesAreReadFromTreeNextToTheHealthEndpoint() throws IOException {
        HttpServer s = server(200, "ok");
        s.createContext(
                "/tree",
                ex -> {
                    byte[] b =
                            ("{\"edges\":[{\"direction\":\"serves\",\"peer\":\"node-b\","
                                            + "\"path\":\"cam\",\"sessions\":1,\"bytes\":81412},"
                                            + "{\"direction\":\"takes\",\"peer\":\"node-c\","
                                            + "\"path\":\"show/1\",\"sessions\":1,\"bytes\":-1}]}")
                                    .getBytes(StandardCharsets.UTF_8);
                    ex.sendResponseHeaders(200, b.length);
                    ex.getResponseBody().write(b);
                    ex.close();
                });
        try {
            AgentProbe.Tree t = new HttpAgentProbe().tree(url(s), Duration.ofSeconds(1));
            assertEquals(null, t.unknown());
            assertEquals(
                    List.of(
                            new AgentProbe.Edge("serves", "node-b", "cam", 1, 81412),
                            new AgentProbe.Edge("takes", "node-c", "show/1", 1, -1)),
                    t.edges());
        } finally {
            s.stop(0);
        }
    }

    @Test
    void anAgentWithoutTreeOrRefusingItSaysWhy() {
        URI at = URI.create("http://127.0.0.1:9469/tree");
        assertTrue(HttpAgentProbe.parseTree(404, "", at).unknown().contains("older than this msm"));
        assertTrue(HttpAgentProbe.parseTree(403, "", at).unknown().contains("http.private-from"));
        assertTrue(HttpAgentProbe.parseTree(200, "{}", at).unknown().contains("no \"edges\""));
        assertEquals(
                URI.create("http://10.0.0.1:9469/tree"),
                HttpAgentProbe.treeUrl(URI.create("http://10.0.0.1:9469/healthz")));
    }
}
