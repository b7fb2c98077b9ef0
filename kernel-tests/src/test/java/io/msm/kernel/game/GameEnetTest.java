package io.msm.kernel.game;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.game.GameTables;
import io.msm.agent.game.GameTables.Backend;
import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.attach.TcIngress;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.PortTable;
import io.msm.testkit.KernelTest;
import io.msm.testkit.KernelTestCondition;
import io.msm.testkit.Sh;
import io.msm.testkit.StarTopology;
import io.msm.testkit.StarTopology.Receiver;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Game services with the real ENet library (libenet): ENet servers behind the node answer with
 * their name, ENet clients in the sender namespace connect to the service address — each client
 * host on its own port is one session. Weights 90/10 over many sessions, an endpoint removed
 * (connected peers keep their server, new ones avoid it), a backend that stops answering taken out
 * of new choices. The peers are kernel-tests/src/test/resources/enet/enet_peer.c, built here with
 * gcc against the Debian package libenet-dev.
 */
// real processes, but short: ~20 s of tests on 6.1 under TCG (2026-12-07), so in the CI VM run
@KernelTest
class GameEnetTest {
    static final int N = 3;
    static final int BACKEND_PORT = 9000;
    static final int SVC_PORT = 7777;
    static final String SERVICE = "games/enet";

    static StarTopology topo;
    static Datapath dp;
    static GameTables tables;
    static Path dir;
    static Path peer;
    static final List<Process> servers = new ArrayList<>();

    @BeforeAll
    static void setUp() throws IOException, InterruptedException {
        KernelTestCondition.requireTools("gcc");
        KernelTestCondition.require(
                Files.exists(Path.of("/usr/include/enet/enet.h")), "libenet-dev");
        dir = Files.createTempDirectory("msm-enet");
        Path src = dir.resolve("enet_peer.c");
        try (InputStream in = GameEnetTest.class.getResourceAsStream("/enet/enet_peer.c")) {
            Files.write(src, in.readAllBytes());
        }
        peer = dir.resolve("enet_peer");
        Sh.run("gcc", "-O2", "-D_GNU_SOURCE", "-o", peer.toString(), src.toString(), "-lenet");

        topo = StarTopology.create(N);
        dp =
                Datapath.load(
                        DatapathSpec.DEFAULT
                                .withFlows(8192)
                                .withGroups(8)
                                .withSubIds(64)
                                .withGameServices(2));
        DatapathConfig d = DatapathConfig.defaults();
        dp.configure(
                new DatapathConfig(
                        d.flags() | DatapathConfig.F_GAME,
                        d.newflowRate(),
                        d.newflowBurst(),
                        d.clockRates()),
                PortTable.defaults());
        attach(StarTopology.NODE_IN_IF);
        for (Receiver r : topo.receivers) {
            attach(r.nodeIf());
            r.ns().ip("route", "add", "default", "via", r.nodeAddr().getHostAddress());
            Process p =
                    new ProcessBuilder(
                                    "ip",
                                    "netns",
                                    "exec",
                                    r.ns().name(),
                                    peer.toString(),
                                    "server",
                                    r.addr().getHostAddress(),
                                    Integer.toString(BACKEND_PORT),
                                    "b" + r.index())
                            .redirectError(ProcessBuilder.Redirect.DISCARD)
                            .start();
            servers.add(p);
            BufferedReader out =
                    new BufferedReader(
                            new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("ready", out.readLine(), "ENet server b" + r.index() + " bound");
        }
        tables = new GameTables(dp);
    }

    static void attach(String ifname) {
        int ifindex = topo.node.ifindex(ifname);
        topo.node.run(
                () ->
                        TcIngress.attach(
                                ifindex,
                                dp.progFd(Datapath.PROG_TC),
                                TcIngress.DEFAULT_HANDLE,
                                TcIngress.DEFAULT_PRIORITY,
                                false));
    }

    @AfterAll
    static void tearDown() throws IOException {
        for (Process p : servers) {
            Sh.exec("kill", "-CONT", Long.toString(p.pid()));
            p.destroy();
        }
        if (dp != null) {
            dp.close();
        }
        if (topo != null) {
            topo.close();
        }
        if (dir != null) {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    @AfterEach
    void clear() {
        tables.apply(List.of());
        var s = dp.gameSessions();
        s.keys().forEach(s::delete);
        tables.sweep();
        for (Process p : servers) {
            Sh.exec("kill", "-CONT", Long.toString(p.pid()));
        }
    }

    static Backend backend(int i, int weight) {
        return new Backend(topo.receivers.get(i).addr(), BACKEND_PORT, weight, null);
    }

    static void apply(List<Backend> backends) {
        tables.apply(
                List.of(
                        new GameTables.Service(
                                SERVICE,
                                StarTopology.NODE_IN_ADDR,
                                SVC_PORT,
                                0,
                                0,
                                0,
                                Duration.ZERO,
                                backends)));
    }

    /** count ENet client hosts on ports first.., each connected to the service */
    static final class Clients implements AutoCloseable {
        final Process p;
        final BufferedReader out;
        final OutputStream in;

        Clients(int first, int count, int timeoutMs) throws IOException {
            p =
                    new ProcessBuilder(
                                    "ip",
                                    "netns",
                                    "exec",
                                    topo.sender.name(),
                                    peer.toString(),
                                    "clients",
                                    StarTopology.NODE_IN_ADDR.getHostAddress(),
                                    Integer.toString(SVC_PORT),
                                    StarTopology.SENDER_ADDR.getHostAddress(),
                                    Integer.toString(first),
                                    Integer.toString(count),
                                    Integer.toString(timeoutMs))
                            .redirectError(ProcessBuilder.Redirect.DISCARD)
                            .start();
            out =
                    new BufferedReader(
                            new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            in = p.getOutputStream();
        }

        /** port -> the server that answered ("-": none) */
        Map<Integer, String> answers() throws IOException {
            Map<Integer, String> m = new TreeMap<>();
            String line;
            while ((line = out.readLine()) != null && !line.equals("done")) {
                String[] f = line.split(" ");
                m.put(Integer.parseInt(f[0]), f[1]);
            }
            return m;
        }

        /** every connected client sends again over its connection */
        Map<Integer, String> again() throws IOException {
            in.write("again\n".getBytes(StandardCharsets.UTF_8));
            in.flush();
            return answers();
        }

        @Override
        public void close() throws IOException {
            in.close();
            p.destroy();
        }
    }

    static Map<String, Integer> count(Map<Integer, String> answers) {
        Map<String, Integer> c = new TreeMap<>();
        answers.values().forEach(v -> c.merge(v, 1, Integer::sum));
        return c;
    }

    @Test
    void weights90To10OverManySessions() throws IOException {
        apply(List.of(backend(0, 90), backend(1, 10)));
        int n = 400;
        Map<Integer, String> a;
        try (Clients c = new Clients(20000, n, 20000)) {
            a = c.answers();
        }
        Map<String, Integer> by = count(a);
        System.out.println("ENet 90/10 over " + n + " sessions: " + by);
        assertEquals(n, a.size());
        assertFalse(by.containsKey("-"), "every ENet client connected and was answered: " + by);
        assertEquals(Set.of("b0", "b1"), by.keySet());
        // binomial(400, 0.9): mean 360, sigma 6; 4 sigma either way
        int heavy = by.get("b0");
        assertTrue(heavy >= 336 && heavy <= 384, "b0 took " + heavy + " of " + n);
    }

    @Test
    void removedEndpointDrainsConnectedPeersKeepItNewOnesAvoidIt() throws IOException {
        apply(List.of(backend(0, 1), backend(1, 1)));
        try (Clients c = new Clients(21000, 100, 15000)) {
            Map<Integer, String> before = c.answers();
            Map<String, Integer> by = count(before);
            assertFalse(by.containsKey("-"), by.toString());
            assertTrue(by.getOrDefault("b0", 0) > 0 && by.getOrDefault("b1", 0) > 0, "" + by);
            // b0's endpoint is removed: it drains
            apply(List.of(backend(1, 1)));
            assertEquals(before, c.again(), "connected peers keep their server");
            try (Clients fresh = new Clients(22000, 100, 15000)) {
                Map<String, Integer> now = count(fresh.answers());
                assertEquals(Map.of("b1", 100), now, "new peers avoid the removed server");
            }
        }
        assertEquals(0, tables.sweep(), "b0 still has its sessions");
    }

    @Test
    void silentBackendIsTakenOutOfNewChoices() throws IOException, InterruptedException {
        apply(List.of(backend(0, 1), backend(1, 1), backend(2, 1)));
        tables.checkSilent(5); // the baseline of the counters
        Process b2 = servers.get(2);
        Sh.run("kill", "-STOP", Long.toString(b2.pid()));
        Map<String, Integer> stuck;
        try (Clients c = new Clients(23000, 90, 3000)) {
            stuck = count(c.answers());
        }
        assertTrue(stuck.getOrDefault("-", 0) > 0, "some clients reached the stopped b2: " + stuck);
        assertFalse(stuck.containsKey("b2"), stuck.toString());
        int id2 = tables.backendId(SERVICE, topo.receivers.get(2).addr(), BACKEND_PORT);
        assertEquals(Set.of(id2), tables.checkSilent(5), "b2 received and never answered");
        try (Clients c = new Clients(24000, 90, 15000)) {
            Map<String, Integer> after = count(c.answers());
            assertEquals(Set.of("b0", "b1"), after.keySet(), "b2 gets no new sessions: " + after);
        }
    }
}
