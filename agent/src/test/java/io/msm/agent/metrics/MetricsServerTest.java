package io.msm.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.msm.agent.auth.CidrSet;
import io.msm.agent.config.HttpSettings;
import io.msm.agent.limits.ConnectionGate;
import io.msm.agent.limits.RequestDeadline;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTP listener as a hostile network meets it (loopback only: 127.0.0.x are distinct sources).
 */
class MetricsServerTest {
    final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    final List<AutoCloseable> closing = new ArrayList<>();
    MetricsServer server;

    @TempDir Path tmp;

    @AfterEach
    void close() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    static HttpSettings settings(
            int max,
            int perSource,
            Duration request,
            Duration idle,
            Path token,
            String privateFrom) {
        return new HttpSettings(
                max,
                perSource,
                request,
                idle,
                Duration.ofMillis(500),
                token,
                CidrSet.parse(List.of(privateFrom)));
    }

    /** The services /readyz waits for (the agent's not-ready services). */
    volatile List<String> waiting = List.of();

    private final Supplier<List<String>> waitingFor = () -> waiting;

    MetricsServer start(HttpSettings s, Heartbeats hb, Map<String, Supplier<String>> json)
            throws IOException {
        server =
                new MetricsServer(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        s,
                        registry,
                        () -> {},
                        () -> true,
                        () -> true,
                        waitingFor,
                        hb,
                        json);
        closing.add(server);
        return server;
    }

    MetricsServer start() throws IOException {
        return start(
                settings(
                        64, 16, Duration.ofSeconds(1), Duration.ofSeconds(2), null, "127.0.0.1/32"),
                null,
                Map.of("/calls", () -> "{\"calls\":[]}"));
    }

    Socket connect(String from) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
        s.connect(server.address(), 2000);
        closing.add(s);
        return s;
    }

    record Reply(int status, String text) {}

    /** One request on a fresh connection from {@code from}; the whole answer. */
    Reply request(String from, String method, String path, String... headers) throws IOException {
        Socket s = connect(from);
        s.setSoTimeout(3000);
        StringBuilder r =
                new StringBuilder(
                        method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
        for (String h : headers) {
            r.append(h).append("\r\n");
        }
        s.getOutputStream().write(r.append("\r\n").toString().getBytes(StandardCharsets.US_ASCII));
        String text = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        s.close();
        return new Reply(Integer.parseInt(text.substring(9, 12)), text);
    }

    static boolean closedByServer(Socket s, int waitMillis) throws IOException {
        s.setSoTimeout(waitMillis);
        InputStream in = s.getInputStream();
        try {
            return in.read() == -1;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // reset
        }
    }

    @Test
    void readyzAsksWhichInstanceAnswers() {
        // during a handover the old and the new agent share the port: the new pod's probes name
        // its instance, and only that agent is ready for them
        assertEquals(null, MetricsServer.otherInstance("/readyz", "abc"));
        assertEquals(null, MetricsServer.otherInstance("/readyz?instance=abc", "abc"));
        assertTrue(MetricsServer.otherInstance("/readyz?instance=abc", "old").contains("not abc"));
        assertTrue(
                MetricsServer.otherInstance("/readyz?x=1&instance=abc", null).contains("(none)"));
    }

    @Test
    void probesMetricsAndMethodsAnswerAsDocumented() throws Exception {
        start();
        assertEquals(200, request("127.0.0.1", "GET", "/healthz").status());
        Reply ready = request("127.0.0.1", "GET", "/readyz");
        assertEquals(200, ready.status());
        assertTrue(ready.text().endsWith("ready\n"), ready.text());
        Reply m = request("127.0.0.1", "GET", "/metrics");
        assertEquals(200, m.status());
        assertTrue(
                m.text().contains("msm_refused_total{protocol=\"http\""),
                "the refusal family is exported");
        Reply head = request("127.0.0.1", "HEAD", "/healthz");
        assertEquals(200, head.status());
        assertTrue(head.text().endsWith("\r\n\r\n"), "HEAD has no body: " + head.text());
        assertEquals(405, request("127.0.0.1", "POST", "/metrics").status());
        Reply nf = request("127.0.0.1", "GET", "/nothing");
        assertEquals(404, nf.status());
        assertTrue(nf.text().contains("/calls"), nf.text());
        assertEquals(200, request("127.0.0.1", "GET", "/healthz?verbose=1").status());
    }

    @Test
    void readyzFailsWhileAServiceIsNotReadyAndNamesIt() throws Exception {
        // e.g. Kubernetes informers that cannot list their resources (no API server reachable)
        waiting = List.of("kubernetes");
        start();
        assertEquals(200, request("127.0.0.1", "GET", "/healthz").status());
        Reply notReady = request("127.0.0.1", "GET", "/readyz");
        assertEquals(503, notReady.status());
        assertTrue(notReady.text().endsWith("waiting for: kubernetes\n"), notReady.text());
        waiting = List.of();
        assertEquals(200, request("127.0.0.1", "GET", "/readyz").status());
    }

    @Test
    void slowClientsHoldingHalfSentHeadersCannotStarveTheProbesAndAreClosedAtTheirDeadline()
            throws Exception {
        start();
        List<Socket> slow = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            Socket s = connect("127.0.0.3");
            s.getOutputStream()
                    .write("GET /healthz HTTP/1.1\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII));
            slow.add(s);
        }
        Socket seventeenth = connect("127.0.0.3");
        assertTrue(
                closedByServer(seventeenth, 1000), "a source's 17th connection is closed at once");
        long t0 = System.nanoTime();
        Reply h = request("127.0.0.1", "GET", "/healthz");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(200, h.status());
        assertTrue(
                ms < 1000,
                "/healthz answered within 1 s while slow clients hold connections: " + ms + " ms");
        Thread.sleep(1500);
        for (Socket s : slow) {
            assertTrue(
                    closedByServer(s, 1000),
                    "a half-sent request is closed after http.request-timeout");
        }
        assertEquals(16, server.refused(RequestDeadline.REASON));
        assertEquals(1, server.refused(ConnectionGate.PER_SOURCE));
        assertEquals(
                200,
                request("127.0.0.3", "GET", "/healthz").status(),
                "the source is served again");
    }

    @Test
    void idleConnectionsAreClosed() throws Exception {
        start();
        Socket idle = connect("127.0.0.4");
        assertFalse(closedByServer(idle, 500), "not before the idle timeout");
        assertTrue(closedByServer(idle, 3000), "closed after http.idle-timeout");
    }

    @Test
    void oversizedHeadersAreRefusedAndClosed() throws Exception {
        start();
        Reply r = request("127.0.0.1", "GET", "/healthz", "X-Big: " + "a".repeat(10_000));
        assertTrue(r.status() == 431 || r.status() == 400, r.text());
    }

    @Test
    void callsAnswerOnlyPrivateSourcesWithoutAToken() throws Exception {
        start();
        Reply mine = request("127.0.0.1", "GET", "/calls");
        assertEquals(200, mine.status());
        assertTrue(mine.text().contains("{\"calls\":[]}"));
        Reply stranger = request("127.0.0.2", "GET", "/calls");
        assertEquals(
                403, stranger.status(), "a client outside http.private-from gets no personal data");
        assertFalse(stranger.text().contains("calls\":"), stranger.text());
        assertEquals(
                200, request("127.0.0.2", "GET", "/healthz").status(), "probes answer everyone");
    }

    @Test
    void withATokenFileCallsNeedTheBearerTokenFromEverySource() throws Exception {
        Path token = tmp.resolve("token");
        Files.writeString(token, "0123456789abcdef0123456789abcdef\n");
        start(
                settings(
                        64,
                        16,
                        Duration.ofSeconds(1),
                        Duration.ofSeconds(2),
                        token,
                        "127.0.0.1/32"),
                null,
                Map.of("/calls", () -> "{\"calls\":[\"bob\"]}"));
        Reply none = request("127.0.0.1", "GET", "/calls");
        assertEquals(401, none.status());
        assertTrue(
                none.text().contains("WWW-Authenticate: Bearer")
                        || none.text().contains("www-authenticate: Bearer"),
                none.text());
        assertEquals(
                401, request("127.0.0.2", "GET", "/calls", "Authorization: Bearer nope").status());
        Reply ok =
                request(
                        "127.0.0.2",
                        "GET",
                        "/calls",
                        "Authorization: Bearer 0123456789abcdef0123456789abcdef");
        assertEquals(200, ok.status());
        assertTrue(ok.text().contains("bob"));
    }

    @Test
    void aShortOrMissingTokenFileStopsTheStartWithTheReason() {
        Path shortToken = tmp.resolve("short");
        try {
            Files.writeString(shortToken, "abc");
            start(
                    settings(
                            64,
                            16,
                            Duration.ofSeconds(1),
                            Duration.ofSeconds(2),
                            shortToken,
                            "127.0.0.1/32"),
                    null,
                    Map.of());
            throw new AssertionError("started with a 3-character token");
        } catch (IllegalStateException e) {
            assertTrue(e.getMessage().contains("at least 16"), e.getMessage());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void readyzFailsWhileAWatchedLoopIsStalledAndRecovers() throws Exception {
        Heartbeats hb = new Heartbeats(Duration.ofMillis(500));
        closing.add(hb);
        ExecutorService loop = Executors.newSingleThreadExecutor();
        closing.add(loop::shutdownNow);
        hb.watch("test-loop", loop);
        start(
                settings(
                        64, 16, Duration.ofSeconds(1), Duration.ofSeconds(2), null, "127.0.0.1/32"),
                hb,
                Map.of());
        Thread.sleep(600);
        assertEquals(200, request("127.0.0.1", "GET", "/readyz").status());
        CountDownLatch release = new CountDownLatch(1);
        loop.execute(
                () -> {
                    try {
                        release.await(10, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
        Reply stalled = null;
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < until) {
            stalled = request("127.0.0.1", "GET", "/readyz");
            if (stalled.status() == 503) {
                break;
            }
            Thread.sleep(100);
        }
        assertEquals(503, stalled.status(), stalled.text());
        assertTrue(stalled.text().contains("stalled: test-loop"), stalled.text());
        assertEquals(
                200, request("127.0.0.1", "GET", "/healthz").status(), "alive, only not ready");
        release.countDown();
        Thread.sleep(700);
        assertEquals(
                200,
                request("127.0.0.1", "GET", "/readyz").status(),
                "ready again once the loop runs");
    }

    @Test
    void readyzNamesWhatTheAgentStillWaitsFor() throws Exception {
        start();
        waiting = List.of("kubernetes (the cluster's pods: workload identities)");
        Reply r = request("127.0.0.1", "GET", "/readyz");
        assertEquals(503, r.status());
        assertTrue(r.text().contains("workload identities"), r.text());
        waiting = List.of();
        assertEquals(200, request("127.0.0.1", "GET", "/readyz").status());
    }

    @Test
    void aSlowEndpointQueuesAFewRequestsAndRefusesTheRest() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        start(
                settings(
                        64,
                        32,
                        Duration.ofSeconds(5),
                        Duration.ofSeconds(10),
                        null,
                        "127.0.0.1/32"),
                null,
                Map.of(
                        "/calls",
                        () -> {
                            try {
                                release.await(10, TimeUnit.SECONDS);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                            return "{}";
                        }));
        List<Socket> waiting = new ArrayList<>();
        for (int i = 0; i < 1 + MetricsServer.WORK_QUEUE; i++) {
            Socket s = connect("127.0.0.1");
            OutputStream o = s.getOutputStream();
            o.write(
                    "GET /calls HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
            waiting.add(s);
        }
        Thread.sleep(300);
        Reply busy = request("127.0.0.1", "GET", "/calls");
        assertEquals(503, busy.status(), busy.text());
        assertEquals(
                200,
                request("127.0.0.1", "GET", "/healthz").status(),
                "probes do not wait for the worker");
        release.countDown();
        for (Socket s : waiting) {
            s.setSoTimeout(5000);
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            s.getInputStream().transferTo(b);
            assertTrue(
                    b.toString(StandardCharsets.UTF_8).startsWith("HTTP/1.1 200"),
                    b.toString(StandardCharsets.UTF_8));
        }
    }
}
