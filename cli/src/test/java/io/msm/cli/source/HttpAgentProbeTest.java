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
}
