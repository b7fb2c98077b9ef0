package io.msm.kernel.game;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.game.GameTables;
import io.msm.agent.game.GameTables.Backend;
import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.attach.TcIngress;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.GameBackendStats;
import io.msm.bpf.maps.GameService;
import io.msm.bpf.maps.GameServiceStats;
import io.msm.bpf.maps.GameSession;
import io.msm.bpf.maps.GameSessionKey;
import io.msm.bpf.maps.PortTable;
import io.msm.testkit.KernelTest;
import io.msm.testkit.StarTopology;
import io.msm.testkit.StarTopology.Receiver;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Game services on real interfaces: UDP clients in the sender namespace talk to a service on the
 * node's address; TC on the node picks a backend per session (Maglev, weights), NATs both ways and
 * forwards; echo servers in the receiver namespaces answer with who they are and the source they
 * saw.
 */
// real processes (agents, players, kcptun) in real time: too slow under TCG for the CI VM run
@Tag("vm-slow")
@KernelTest
class GameNamespaceTest {
    static final int N = 3;
    static final int BACKEND_PORT = 9000;
    static final int SVC_PORT = 7777;
    static final Inet4Address SVC = StarTopology.NODE_IN_ADDR;

    static StarTopology topo;
    static Datapath dp;
    static GameTables tables;
    static final List<DatagramChannel> echoes = new ArrayList<>();
    static final AtomicBoolean[] mute = new AtomicBoolean[N];
    static final List<Thread> threads = new ArrayList<>();

    @BeforeAll
    static void setUp() {
        topo = StarTopology.create(N);
        dp = Datapath.load(DatapathSpec.DEFAULT.withFlows(8192).withGroups(8).withSubIds(64));
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
            mute[r.index()] = new AtomicBoolean();
            DatagramChannel ch =
                    r.ns().call(
                                    () -> {
                                        DatagramChannel c = DatagramChannel.open();
                                        c.bind(new InetSocketAddress(r.addr(), BACKEND_PORT));
                                        return c;
                                    });
            echoes.add(ch);
            Thread t = new Thread(() -> echo(ch, r.index()), "echo-" + r.index());
            t.setDaemon(true);
            t.start();
            threads.add(t);
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

    /** answers "b<index> <source it saw>|<payload>" */
    static void echo(DatagramChannel ch, int index) {
        ByteBuffer b = ByteBuffer.allocate(2048);
        try {
            while (true) {
                b.clear();
                InetSocketAddress from = (InetSocketAddress) ch.receive(b);
                b.flip();
                if (mute[index].get()) {
                    continue;
                }
                byte[] p = new byte[b.remaining()];
                b.get(p);
                String head =
                        "b"
                                + index
                                + " "
                                + from.getAddress().getHostAddress()
                                + ":"
                                + from.getPort()
                                + "|";
                ByteBuffer out = ByteBuffer.allocate(head.length() + p.length);
                out.put(head.getBytes(StandardCharsets.UTF_8)).put(p).flip();
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
        if (dp != null) {
            dp.close();
        }
        if (topo != null) {
            topo.close();
        }
    }

    @AfterEach
    void clear() {
        tables.apply(List.of());
        var s = dp.gameSessions();
        s.keys().forEach(s::delete);
        tables.sweep();
        for (AtomicBoolean m : mute) {
            m.set(false);
        }
    }

    static Backend backend(int i, int weight) {
        return new Backend(topo.receivers.get(i).addr(), BACKEND_PORT, weight, null);
    }

    static GameTables.Service service(int flags, int keyOff, int tokenLen, List<Backend> backends) {
        return new GameTables.Service(
                "default/game", SVC, SVC_PORT, flags, keyOff, tokenLen, Duration.ZERO, backends);
    }

    static DatagramSocket client(int port) {
        return topo.sender.call(
                () -> {
                    DatagramSocket c =
                            new DatagramSocket(
                                    new InetSocketAddress(StarTopology.SENDER_ADDR, port));
                    c.setSoTimeout(500);
                    return c;
                });
    }

    /** one request, its answer (null: none within the timeout) and who sent it */
    record Reply(String text, InetSocketAddress from) {
        String backend() {
            return text.substring(0, text.indexOf(' '));
        }

        String seen() {
            return text.substring(text.indexOf(' ') + 1, text.indexOf('|'));
        }

        String payload() {
            return text.substring(text.indexOf('|') + 1);
        }
    }

    static Reply ask(DatagramSocket c, byte[] payload) throws IOException {
        c.send(new DatagramPacket(payload, payload.length, new InetSocketAddress(SVC, SVC_PORT)));
        DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
        try {
            c.receive(p);
        } catch (SocketTimeoutException e) {
            return null;
        }
        return new Reply(
                new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8),
                (InetSocketAddress) p.getSocketAddress());
    }

    static Map<String, Integer> spread(int sessions, int firstPort) throws IOException {
        Map<String, Integer> count = new TreeMap<>();
        for (int i = 0; i < sessions; i++) {
            try (DatagramSocket c = client(firstPort + i)) {
                Reply r = ask(c, ("hello " + i).getBytes(StandardCharsets.UTF_8));
                count.merge(r == null ? "none" : r.backend(), 1, Integer::sum);
            }
        }
        return count;
    }

    @Test
    void weightsNinetyTenAcrossSessionsAndRepliesComeFromTheService() throws IOException {
        tables.apply(List.of(service(0, 0, 0, List.of(backend(0, 90), backend(1, 10)))));
        try (DatagramSocket c = client(30000)) {
            Reply r = ask(c, "x".getBytes(StandardCharsets.UTF_8));
            assertNotNull(r, "no reply through the service");
            assertEquals(new InetSocketAddress(SVC, SVC_PORT), r.from());
            assertEquals(StarTopology.SENDER_ADDR.getHostAddress() + ":30000", r.seen());
            assertEquals("x", r.payload());
        }
        int n = 1000;
        Map<String, Integer> count = spread(n, 31000);
        // 90/10 over 1000 sessions: sd of the share 0.95%; 4 sd either side
        double share = count.getOrDefault("b0", 0) / (double) n;
        assertEquals(
                n, count.getOrDefault("b0", 0) + count.getOrDefault("b1", 0), count.toString());
        assertTrue(share > 0.86 && share < 0.94, count.toString());
    }

    @Test
    void kcpSessionKeepsItsBackendWhenTheClientPortChanges() throws IOException {
        tables.apply(
                List.of(
                        service(
                                GameService.F_KCP,
                                0,
                                0,
                                List.of(backend(0, 1), backend(1, 1), backend(2, 1)))));
        byte[] seg = new byte[24];
        ByteBuffer.wrap(seg).order(ByteOrder.LITTLE_ENDIAN).putInt(0x5eed1234);
        Reply first;
        try (DatagramSocket c = client(32000)) {
            first = ask(c, seg);
        }
        assertNotNull(first, GameNamespaceTest::diag);
        for (int port = 32001; port < 32010; port++) {
            try (DatagramSocket c = client(port)) {
                Reply r = ask(c, seg);
                assertNotNull(r, "reply to the rebound port " + port);
                assertEquals(first.backend(), r.backend());
                // the backend still sees the session's first address
                assertEquals(first.seen(), r.seen());
                assertEquals(new InetSocketAddress(SVC, SVC_PORT), r.from());
            }
        }
        int svcId = tables.serviceId("default/game");
        GameSession s =
                dp.gameSessions()
                        .lookup(
                                new GameSessionKey(
                                        svcId, GameSessionKey.KIND_KCP, 0x5eed1234, 0, 0, 0))
                        .orElseThrow();
        assertEquals(9, s.rebinds());
        assertEquals(32009, s.curPort());
        assertEquals(32000, s.origPort());
    }

    @Test
    void removedEndpointDrainsAndNewSessionsAvoidIt() throws IOException {
        tables.apply(List.of(service(0, 0, 0, List.of(backend(0, 1), backend(1, 1)))));
        List<DatagramSocket> on0 = new ArrayList<>();
        int port = 33000;
        while (on0.size() < 5) {
            DatagramSocket c = client(port++);
            Reply r = ask(c, "a".getBytes(StandardCharsets.UTF_8));
            if (r != null && r.backend().equals("b0")) {
                on0.add(c);
            } else {
                c.close();
            }
        }
        tables.apply(List.of(service(0, 0, 0, List.of(backend(1, 1)))));
        for (DatagramSocket c : on0) {
            Reply r = ask(c, "again".getBytes(StandardCharsets.UTF_8));
            assertNotNull(r);
            assertEquals("b0", r.backend(), "a pinned session drains on its backend");
        }
        assertEquals(Map.of("b1", 200), spread(200, 34000));
        assertEquals(0, tables.sweep(), "b0 still has sessions");
        var s = dp.gameSessions();
        s.keys().forEach(s::delete);
        assertEquals(1, tables.sweep());
        for (DatagramSocket c : on0) {
            c.close();
        }
    }

    @Test
    void silentBackendIsTakenOutOfNewChoices() throws IOException {
        tables.apply(
                List.of(service(0, 0, 0, List.of(backend(0, 1), backend(1, 1), backend(2, 1)))));
        tables.checkSilent(20);
        mute[2].set(true);
        Map<String, Integer> before = spread(300, 35000);
        assertTrue(before.getOrDefault("none", 0) > 50, before.toString());
        int id2 = tables.backendId("default/game", topo.receivers.get(2).addr(), BACKEND_PORT);
        assertEquals(Set.of(id2), tables.checkSilent(20));
        // sessions pinned to it stay (its clients' packets still count); new ones avoid it
        var s = dp.gameSessions();
        s.keys().forEach(s::delete);
        Map<String, Integer> after = spread(300, 36000);
        assertEquals(null, after.get("none"), after.toString());
        assertEquals(null, after.get("b2"), after.toString());
        mute[2].set(false);
    }

    @Test
    void tokenRoutingStripsKnownTokensAndDropsUnknown() throws IOException {
        byte[] ta = "tokA".getBytes(StandardCharsets.UTF_8);
        byte[] tb = "tokB".getBytes(StandardCharsets.UTF_8);
        List<Backend> bs =
                List.of(
                        new Backend(topo.receivers.get(0).addr(), BACKEND_PORT, 1, ta),
                        new Backend(topo.receivers.get(1).addr(), BACKEND_PORT, 1, tb));
        tables.apply(List.of(service(GameService.F_TOKEN, 0, 4, bs)));
        // odd and even payload lengths: the checksum fix-up at both byte lane parities
        for (String body : List.of("move 1 2", "move 1 23", "")) {
            try (DatagramSocket c = client(37000 + body.length())) {
                Reply r = ask(c, concat(body, tb));
                assertNotNull(r, "token B, body '" + body + "'");
                assertEquals("b1", r.backend());
                assertEquals(body, r.payload(), "token stripped");
                r = ask(c, concat(body, ta));
                assertNotNull(r);
                assertEquals("b0", r.backend());
                assertEquals(body, r.payload());
            }
        }
        int svcId = tables.serviceId("default/game");
        long unknownBefore = stats(svcId).tokenUnknown();
        try (DatagramSocket c = client(37100)) {
            assertNull(ask(c, concat("x", "tokC".getBytes(StandardCharsets.UTF_8))));
            assertNull(ask(c, "ok".getBytes(StandardCharsets.UTF_8)));
        }
        assertEquals(unknownBefore + 2, stats(svcId).tokenUnknown());
    }

    static String diag() {
        StringBuilder b = new StringBuilder();
        dp.gameServiceStats()
                .forEachPerCpu(
                        (k, v) -> {
                            var t = GameServiceStats.sum(v);
                            if (t.packets() > 0)
                                b.append("svc ").append(k).append(' ').append(t).append('\n');
                        });
        dp.gameBackendStats()
                .forEachPerCpu(
                        (k, v) -> {
                            var t = GameBackendStats.sum(v);
                            if (t.toPackets() > 0)
                                b.append("be ").append(k).append(' ').append(t).append('\n');
                        });
        dp.gameSessions().forEach((k, v) -> b.append(k).append(" -> ").append(v).append('\n'));
        b.append(topo.node.exec("ip", "-s", "link"));
        return b.toString();
    }

    static GameServiceStats stats(int svcId) {
        return GameServiceStats.sum(dp.gameServiceStats().lookupPerCpu(svcId).orElseThrow());
    }

    static byte[] concat(String body, byte[] token) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        byte[] out = Arrays.copyOf(b, b.length + token.length);
        System.arraycopy(token, 0, out, b.length, token.length);
        assertArrayEquals(token, Arrays.copyOfRange(out, b.length, out.length));
        return out;
    }
}
