package io.msm.cli.calls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.FlowKey;
import io.msm.bpf.maps.GroupStats;
import io.msm.cli.CliFailure;
import io.msm.cli.ExitCode;
import io.msm.cli.Failures;
import io.msm.cli.FakeDatapath;
import io.msm.cli.FakeHost;
import io.msm.cli.Run;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CallsCommandTest {
    /**
     * What msm-agent's /calls answers for one answered call (abridged to what the command reads).
     */
    static final String AGENT =
            """
            {"mode":"kernel","now_ms":1000000,"calls":[{"call_id":"c1@x","caller":"sip:alice@10.0.1.2",
             "callee":"sip:bob@10.0.2.1","state":"answered","started_ms":900000,"duration_s":100.0,
             "streams":[{"media":"audio","caller_side":"10.0.1.1:20000","callee_side":"10.0.2.1:20002",
              "caller":{"rtp":"10.0.1.2:7000","last_rtp":"10.0.1.2:7000"},
              "callee":{"rtp":"10.0.2.2:6000","last_rtp":"10.0.2.2:6000"},
              "caller_to_callee":{"served_by":"kernel","packets":5,"copies":5,"strict_drops":0},
              "callee_to_caller":{"served_by":"kernel","packets":3,"copies":3,"strict_drops":0,
                                  "rtp":{"lost":2,"jitter_ms":1.5}}}]}]}
            """;

    HttpServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
    }

    String serve(String body) throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 4);
        server.createContext(
                "/calls",
                ex -> {
                    byte[] b = body.getBytes(StandardCharsets.UTF_8);
                    ex.sendResponseHeaders(200, b.length);
                    ex.getResponseBody().write(b);
                    ex.close();
                });
        server.start();
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/calls";
    }

    static Inet4Address v4(String s) {
        return (Inet4Address) FakeDatapath.ip(s);
    }

    FakeDatapath kernel() {
        FakeDatapath dp = new FakeDatapath();
        dp.groups.put(
                new FanoutKey(v4("10.0.1.1"), 20000),
                new FanoutGroup(7, FanoutGroup.F_STRICT, v4("10.0.1.2"), 7000, List.of()));
        dp.groupStats.put(7, new GroupStats(400, 64000, 399, 0, 12));
        dp.flows.put(
                FlowKey.udp(FakeDatapath.ip("10.0.1.2"), 7000, FakeDatapath.ip("10.0.1.1"), 20000),
                FakeDatapath.rtpFlow(400, 64000, 0, 1, 0xAB, 410, 0, 1, 400, 16 * 80, 8000));
        return dp;
    }

    @Test
    void joinsTheAgentsCallsWithTheKernelsCounters() throws Exception {
        Run r = Run.of(kernel(), "calls", "--agent", serve(AGENT), "--json");
        assertEquals(0, r.exit(), r.toString());
        JsonNode a = new ObjectMapper().readTree(r.out());
        assertEquals(1, a.size());
        JsonNode c = a.get(0);
        assertEquals("c1@x", c.path("call_id").asText());
        assertEquals(100.0, c.path("duration_s").asDouble());
        JsonNode up = c.path("streams").get(0).path("directions").get(0);
        assertEquals("caller->callee", up.path("direction").asText());
        assertEquals("kernel", up.path("counters").asText());
        assertEquals(400, up.path("packets").asLong(), "from the fan-out group, not the agent's 5");
        assertEquals(12, up.path("strict_drops").asLong());
        assertEquals(10, up.path("lost").asLong(), "RFC 3550 loss of the flow alice -> node port");
        assertEquals("10.0.2.2:6000", up.path("to").asText());
        JsonNode down = c.path("streams").get(0).path("directions").get(1);
        assertEquals(
                "agent",
                down.path("counters").asText(),
                "no kernel group for it: the agent's numbers");
        assertEquals(3, down.path("packets").asLong());
        assertEquals(2, down.path("lost").asLong());
    }

    @Test
    void aTableWithOneLinePerDirection() throws Exception {
        Run r = Run.of(kernel(), "calls", "--agent", serve(AGENT));
        assertEquals(0, r.exit(), r.toString());
        assertTrue(
                r.out().startsWith("c1@x  sip:alice@10.0.1.2 -> sip:bob@10.0.2.1  answered  1m40s"),
                r.out());
        assertTrue(
                r.out()
                        .contains(
                                "caller->callee  10.0.1.2:7000  10.0.1.1:20000  10.0.2.1:20002  10.0.2.2:6000"),
                r.out());
        assertTrue(r.out().contains("1 call (1 answered); calls from http://127.0.0.1:"), r.out());
        assertTrue(r.out().contains("counters from the kernel"), r.out());
    }

    @Test
    void withoutTheAgentTheStateFileStillListsCalls() throws Exception {
        Path f = Files.createTempFile("sip-state", ".json");
        try {
            Files.writeString(
                    f,
                    "{\"version\":1,\"calls\":"
                            + new ObjectMapper().readTree(AGENT).path("calls")
                            + "}");
            Run r =
                    Run.of(
                            kernel(),
                            "calls",
                            "--agent",
                            "http://127.0.0.1:1/calls",
                            "--state-file",
                            f.toString());
            assertEquals(0, r.exit(), r.toString());
            assertTrue(r.out().contains("c1@x"), r.out());
            assertTrue(r.out().contains("msm-agent did not answer: connection refused"), r.out());
        } finally {
            Files.deleteIfExists(f);
        }
    }

    @Test
    void neitherAgentNorStateFileIsAFailureThatSaysWhy() {
        Run r =
                Run.of(
                        kernel(),
                        "calls",
                        "--agent",
                        "http://127.0.0.1:1/calls",
                        "--state-file",
                        "/nonexistent/x.json");
        assertEquals(ExitCode.FAILURE.code(), r.exit());
        assertTrue(
                r.err().contains("msm-agent did not answer on http://127.0.0.1:1/calls"), r.err());
        assertTrue(r.err().contains("no SIP state file at /nonexistent/x.json"), r.err());
    }

    @Test
    void withoutAPinnedDatapathTheAgentsCountersAreShown() throws Exception {
        String url = serve(AGENT);
        Run r =
                Run.of(
                        dir -> {
                            throw Failures.notPinned(dir);
                        },
                        new FakeHost(),
                        Run.AGENT_UP,
                        "calls",
                        "--agent",
                        url,
                        "--json");
        assertEquals(0, r.exit(), r.toString());
        JsonNode up =
                new ObjectMapper()
                        .readTree(r.out())
                        .get(0)
                        .path("streams")
                        .get(0)
                        .path("directions")
                        .get(0);
        assertEquals("agent", up.path("counters").asText());
        assertEquals(5, up.path("packets").asLong());
    }

    @Test
    void noCallsSaysSo() throws Exception {
        Run r = Run.of(kernel(), "calls", "--agent", serve("{\"calls\":[]}"));
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.out().startsWith("no calls\n"), r.out());
    }

    @Test
    void helpAndBadAgentUrl() {
        Run h = Run.of(kernel(), "calls", "--help");
        assertEquals(0, h.exit());
        assertTrue(h.out().startsWith("Usage: msm calls"), h.out());
        assertTrue(h.out().contains("Exit codes:"), h.out());
        assertEquals(
                ExitCode.USAGE.code(),
                Run.of(kernel(), "calls", "--agent", "ftp://x/calls").exit());
        assertEquals(CliFailure.class, Failures.notPinned(Path.of("/x")).getClass());
    }
}
