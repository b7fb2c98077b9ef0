package io.msm.kernel.game;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.cli.Main;
import io.msm.cli.source.Sources;
import io.msm.testkit.AgentProcess;
import io.msm.testkit.KernelTest;
import io.msm.testkit.StarTopology;
import io.msm.testkit.StarTopology.Receiver;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real msm-agent process with a static {@code game:} service: it sets F_GAME, writes the game
 * tables, and client UDP sent to the node's address reaches backends in namespaces, weighted, with
 * replies from the service address; {@code msm games} shows each session's backend, and /metrics
 * counts packets per route and backend.
 */
@KernelTest
class GameAgentTest {
    static final String METRICS = "127.0.0.1:19482";
    static final int SVC_PORT = 7777;
    static final int BACKEND_PORT = 9000;
    static final int NEW_FLOWS_PER_SECOND = 50;
    static final int NEW_FLOW_BURST = 60;
    static StarTopology topo;
    static Path bpffs;
    static Path config;
    static final List<DatagramChannel> echoes = new ArrayList<>();

    @BeforeAll
    static void setUp() throws IOException {
        topo = StarTopology.create(2);
        bpffs = Path.of("/sys/fs/bpf/msmtest-" + topo.id);
        StringBuilder backends = new StringBuilder();
        for (Receiver r : topo.receivers) {
            r.ns().ip("route", "add", "default", "via", r.nodeAddr().getHostAddress());
            DatagramChannel ch =
                    r.ns().call(
                                    () ->
                                            DatagramChannel.open()
                                                    .bind(
                                                            new InetSocketAddress(
                                                                    r.addr(), BACKEND_PORT)));
            echoes.add(ch);
            Thread t = new Thread(() -> echo(ch, r.index()), "echo-" + r.index());
            t.setDaemon(true);
            t.start();
            backends.append("    - {address: ")
                    .append(r.addr().getHostAddress())
                    .append(", port: ")
                    .append(BACKEND_PORT)
                    .append(", weight: 1}\n");
        }
        config = Files.createTempFile("msm-agent-game", ".yaml");
        Files.writeString(
                config,
                "interfaces: ["
                        + StarTopology.NODE_IN_IF
                        + ", n-r0, n-r1]\n"
                        + "bpffs: "
                        + bpffs
                        + "\nrtsp-listen: 127.0.0.1:18558\nsip-listen: 127.0.0.1:15064\n"
                        // XDP's new-flow limit per source guards the session table
                        + "protection: {new-flows-per-second: "
                        + NEW_FLOWS_PER_SECOND
                        + ", new-flow-burst: "
                        + NEW_FLOW_BURST
                        + "}\n"
                        + "game:\n  services:\n  - name: arena\n    port: "
                        + SVC_PORT
                        + "\n    backends:\n"
                        + backends);
    }

    /** answers "b<index>|<payload>" */
    static void echo(DatagramChannel ch, int index) {
        ByteBuffer b = ByteBuffer.allocate(2048);
        try {
            while (true) {
                b.clear();
                InetSocketAddress from = (InetSocketAddress) ch.receive(b);
                b.flip();
                byte[] head = ("b" + index + "|").getBytes(StandardCharsets.UTF_8);
                ByteBuffer out = ByteBuffer.allocate(head.length + b.remaining());
                out.put(head).put(b).flip();
                ch.send(out, from);
            }
        } catch (IOException e) {
            // closed
        }
    }

    @AfterAll
    static void tearDown() throws IOException {
        for (DatagramChannel c : echoes) {
            c.close();
        }
        if (topo != null) {
            AgentProcess.run(topo.node, "cleanup", "--bpffs", bpffs.toString());
            topo.close();
        }
        if (config != null) {
            Files.deleteIfExists(config);
        }
    }

    /** One request from the sender namespace; the reply's text and source, or null. */
    static String[] ask(int port) {
        return topo.sender.call(
                () -> {
                    try (DatagramSocket c =
                            new DatagramSocket(
                                    new InetSocketAddress(StarTopology.SENDER_ADDR, port))) {
                        c.setSoTimeout(1000);
                        byte[] p = "hello".getBytes(StandardCharsets.UTF_8);
                        c.send(
                                new DatagramPacket(
                                        p,
                                        p.length,
                                        new InetSocketAddress(
                                                StarTopology.NODE_IN_ADDR, SVC_PORT)));
                        DatagramPacket in = new DatagramPacket(new byte[2048], 2048);
                        try {
                            c.receive(in);
                        } catch (SocketTimeoutException e) {
                            return null;
                        }
                        return new String[] {
                            new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8),
                            in.getSocketAddress().toString()
                        };
                    }
                });
    }

    static String games() {
        return msm("games");
    }

    static String msm(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> all = new ArrayList<>(List.of("--bpffs", bpffs.toString()));
        all.addAll(List.of(args));
        int code =
                Main.run(
                        Sources.live(),
                        new PrintWriter(out),
                        new PrintWriter(err),
                        all.toArray(String[]::new));
        assertEquals(0, code, err.toString());
        return out.toString();
    }

    @Test
    void staticServiceRoutesSessionsToBackendsAndMsmGamesShowsThem() throws Exception {
        try (AgentProcess agent =
                AgentProcess.start(topo.node, METRICS, List.of("--config", config.toString()))) {
            agent.awaitReady(30_000);

            String[] first = ask(30000);
            assertNotNull(first, "no reply through the agent's game service\n" + agent.log());
            assertTrue(first[0].endsWith("|hello"), first[0]);
            assertEquals(
                    "/" + StarTopology.NODE_IN_ADDR.getHostAddress() + ":" + SVC_PORT, first[1]);
            String backend0 = first[0].startsWith("b0") ? "10.77.10.2" : "10.77.11.2";

            Map<String, Integer> seen = new TreeMap<>();
            for (int i = 1; i <= 40; i++) {
                String[] r = ask(30000 + i);
                seen.merge(r == null ? "none" : r[0].substring(0, 2), 1, Integer::sum);
            }
            // 1:1 over 40 sessions: both backends, every session answered
            assertEquals(null, seen.get("none"), seen.toString());
            assertTrue(
                    seen.getOrDefault("b0", 0) >= 5 && seen.getOrDefault("b1", 0) >= 5,
                    seen.toString());

            String table = games();
            String line =
                    table.lines()
                            .filter(
                                    l ->
                                            l.contains(
                                                    StarTopology.SENDER_ADDR.getHostAddress()
                                                            + ":30000 "))
                            .findFirst()
                            .orElseThrow(
                                    () -> new AssertionError("session of port 30000 in\n" + table));
            assertTrue(
                    line.contains(StarTopology.NODE_IN_ADDR.getHostAddress() + ":" + SVC_PORT),
                    line);
            assertTrue(line.contains(backend0 + ":" + BACKEND_PORT), line);
            assertEquals(42, table.lines().count(), table); // header + 41 sessions

            // msm flows: the client's flow to the service names the backend it is pinned to
            String flows = msm("flows");
            String flow =
                    flows.lines()
                            .filter(
                                    l ->
                                            l.trim()
                                                    .replaceAll("\\s+", " ")
                                                    .startsWith(
                                                            "udp "
                                                                    + StarTopology.SENDER_ADDR
                                                                            .getHostAddress()
                                                                    + ":30000 "
                                                                    + StarTopology.NODE_IN_ADDR
                                                                            .getHostAddress()
                                                                    + ":"
                                                                    + SVC_PORT
                                                                    + " "))
                            .findFirst()
                            .orElseThrow(
                                    () -> new AssertionError("flow of port 30000 in\n" + flows));
            assertTrue(flow.trim().endsWith(backend0 + ":" + BACKEND_PORT), flows);

            var prom = agent.scrape();
            double to =
                    prom.value(
                                    "msm_game_packets_total",
                                    "route",
                                    "arena",
                                    "backend",
                                    backend0 + ":" + BACKEND_PORT,
                                    "direction",
                                    "from_backend")
                            .orElseThrow(() -> new AssertionError(agent.get("/metrics")));
            assertTrue(to >= 1, "replies counted: " + to);
            assertEquals(
                    41.0,
                    prom.value("msm_game_sessions_total", "route", "arena").orElseThrow(),
                    agent.get("/metrics"));
        }
    }

    @Test
    void sessionsForwardWhileTheAgentIsDownAndKeepTheirBackendAcrossARestart() throws Exception {
        String backend;
        try (AgentProcess agent =
                AgentProcess.start(topo.node, METRICS, List.of("--config", config.toString()))) {
            agent.awaitReady(30_000);
            String[] r = ask(31000);
            assertNotNull(r, agent.log());
            backend = r[0].substring(0, 2);
            assertEquals(0, agent.stop());
        }
        // no agent: the kernel's tables stay, as flows and fan-out groups do
        String[] down = ask(31000);
        assertNotNull(down, "the pinned session forwards with the agent stopped");
        assertEquals(backend, down[0].substring(0, 2));
        try (AgentProcess agent =
                AgentProcess.start(topo.node, METRICS, List.of("--config", config.toString()))) {
            agent.awaitReady(30_000);
            for (int i = 0; i < 3; i++) {
                String[] r = ask(31000);
                assertNotNull(r, agent.log());
                assertEquals(backend, r[0].substring(0, 2), "same backend after the restart");
            }
            assertNotNull(ask(31001), "a new session through the restarted agent");
        }
    }

    @Test
    void xdpsNewFlowLimitKeepsOneSourceFromFillingTheSessionTable() throws Exception {
        try (AgentProcess agent =
                AgentProcess.start(topo.node, METRICS, List.of("--config", config.toString()))) {
            agent.awaitReady(30_000);
            double dropsBefore =
                    agent.scrape()
                            .value("msm_datapath_events_total", "event", "xdp_ratelimit")
                            .orElse(0.0);
            int ports = 300;
            long t0 = System.nanoTime();
            // one client address spraying 300 source ports: 300 would-be sessions
            topo.sender.call(
                    () -> {
                        byte[] p = "flood".getBytes(StandardCharsets.UTF_8);
                        for (int i = 0; i < ports; i++) {
                            try (DatagramSocket c =
                                    new DatagramSocket(
                                            new InetSocketAddress(
                                                    StarTopology.SENDER_ADDR, 40000 + i))) {
                                c.send(
                                        new DatagramPacket(
                                                p,
                                                p.length,
                                                new InetSocketAddress(
                                                        StarTopology.NODE_IN_ADDR, SVC_PORT)));
                            }
                        }
                        return null;
                    });
            double elapsed = (System.nanoTime() - t0) / 1e9;
            Thread.sleep(300);
            String prefix = StarTopology.SENDER_ADDR.getHostAddress() + ":4";
            long sessions = games().lines().filter(l -> l.contains(prefix)).count();
            // the bucket's burst plus what refilled while sending, and a little slack
            long most = NEW_FLOW_BURST + Math.round(NEW_FLOWS_PER_SECOND * (elapsed + 0.3)) + 5;
            assertTrue(
                    sessions >= 1 && sessions <= most,
                    sessions
                            + " sessions from "
                            + ports
                            + " ports in "
                            + elapsed
                            + " s (at most "
                            + most
                            + ")");
            double drops =
                    agent.scrape()
                                    .value("msm_datapath_events_total", "event", "xdp_ratelimit")
                                    .orElse(0.0)
                            - dropsBefore;
            System.out.printf(
                    Locale.ROOT,
                    "XDP new-flow limit: %d sessions from %d source ports in %.2f s (at most %d),"
                            + " %.0f xdp_ratelimit drops%n",
                    sessions,
                    ports,
                    elapsed,
                    most,
                    drops);
            assertTrue(
                    drops >= ports - most,
                    "xdp_ratelimit drops " + drops + ", sessions " + sessions);
        }
    }
}
