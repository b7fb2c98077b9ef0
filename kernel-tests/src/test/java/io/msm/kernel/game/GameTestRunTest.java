package io.msm.kernel.game;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.game.GameTables;
import io.msm.agent.game.GameTables.Backend;
import io.msm.agent.game.GameTables.Rebind;
import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.GameBackend;
import io.msm.bpf.maps.GameBackendStats;
import io.msm.bpf.maps.GameRevKey;
import io.msm.bpf.maps.GameService;
import io.msm.bpf.maps.GameServiceStats;
import io.msm.bpf.maps.GameSession;
import io.msm.bpf.maps.GameSessionKey;
import io.msm.bpf.maps.PortTable;
import io.msm.bpf.testrun.ProgTestRun;
import io.msm.testkit.Checksums;
import io.msm.testkit.Frame;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Names;
import io.msm.testkit.Netns;
import io.msm.testkit.Packets;
import io.msm.testkit.Veth;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Game services on crafted packets (BPF_PROG_TEST_RUN), no processes: the NAT both ways with
 * addresses, ports and checksums checked from scratch, routing tokens of 1, 8 and 16 bytes
 * stripped, unknown tokens dropped, the KCP conversation id at its offset as the session key, the
 * rebinding policies, the reply index's upkeep, a drained backend, and the per-packet cost.
 */
@KernelTest
class GameTestRunTest {
    static final int TC_ACT_OK = 0;
    static final int TC_ACT_SHOT = 2;
    static final int TC_ACT_REDIRECT = 7;
    static final String SVC = "10.0.0.1";
    static final int SVC_PORT = 7777;
    static final int BE_PORT = 9000;
    static final String CLIENT = "10.1.0.5";
    static final String[] BACKENDS = {"10.2.0.10", "10.2.0.11", "10.2.0.12"};
    static final byte[] BE_MAC = {2, 0, 0, 0, 0x0b, 0x0a};
    static final int KCP_OFF = 20;

    static Netns ns;
    static Datapath dp;
    static GameTables tables;
    static int inIf;
    static int outIf;

    @BeforeAll
    static void setUp() {
        ns = Netns.create(Names.runId() + "-gt");
        Veth v = Veth.create(ns, "gt0", "10.2.0.1/24", ns, "gt1", "10.1.0.1/16");
        outIf = v.ifindexA();
        inIf = v.ifindexB();
        ns.exec("sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
        for (String b : BACKENDS) {
            ns.ip(
                    "neigh",
                    "add",
                    b,
                    "lladdr",
                    "02:00:00:00:0b:0a",
                    "dev",
                    "gt0",
                    "nud",
                    "permanent");
        }
        dp =
                Datapath.load(
                        DatapathSpec.DEFAULT
                                .withFlows(1024)
                                .withGroups(4)
                                .withSubIds(16)
                                .withGameServices(4));
        DatapathConfig d = DatapathConfig.defaults();
        dp.configure(
                new DatapathConfig(
                        d.flags() | DatapathConfig.F_GAME,
                        d.newflowRate(),
                        d.newflowBurst(),
                        d.clockRates()),
                PortTable.defaults());
        tables = new GameTables(dp);
    }

    @AfterAll
    static void tearDown() {
        if (dp != null) {
            dp.close();
        }
        if (ns != null) {
            ns.close();
        }
    }

    @AfterEach
    void clear() {
        tables.apply(List.of());
        var s = dp.gameSessions();
        s.keys().forEach(s::delete);
        tables.sweep();
    }

    // ------------------------------------------------------------------ helpers

    static Inet4Address a(String s) {
        return (Inet4Address) Packets.addr(s);
    }

    static Backend backend(int i, int weight, byte[] token) {
        return new Backend(a(BACKENDS[i]), BE_PORT, weight, token);
    }

    static GameTables.Service service(
            int flags, int keyOff, int tokenLen, Rebind rebind, int confirm, List<Backend> bes) {
        return new GameTables.Service(
                "default/game",
                a(SVC),
                SVC_PORT,
                flags,
                keyOff,
                tokenLen,
                Duration.ZERO,
                bes,
                rebind,
                confirm);
    }

    ProgTestRun.Result run(byte[] packet) {
        return ns.call(() -> ProgTestRun.run(dp.progFd(Datapath.PROG_TC), packet, 1, 0, inIf));
    }

    static byte[] toService(String from, int sport, byte[] payload) {
        return Packets.builder().ip(from, SVC).udp(sport, SVC_PORT).payload(payload).build();
    }

    static byte[] fromBackend(int i, String to, int dport, byte[] payload) {
        return Packets.builder().ip(BACKENDS[i], to).udp(BE_PORT, dport).payload(payload).build();
    }

    /** a KCP segment as kcptun sends it with --crypt none: nonce, CRC, then conv (LE) */
    static byte[] kcp(int conv, int len) {
        byte[] p = new byte[len];
        for (int i = 0; i < len; i++) {
            p[i] = (byte) (i * 7 + 3);
        }
        if (len >= KCP_OFF + 4) {
            ByteBuffer.wrap(p).order(ByteOrder.LITTLE_ENDIAN).putInt(KCP_OFF, conv);
        }
        return p;
    }

    /** what the kernel's key holds: the 4 bytes at the offset as a little-endian load */
    static GameSessionKey kcpKey(int conv) {
        return new GameSessionKey(
                tables.serviceId("default/game"), GameSessionKey.KIND_KCP, conv, 0, 0, 0);
    }

    /** a session keyed by the client's address (as it lies in the packet) and port */
    static GameSessionKey addrKey(String addr, int port) {
        int id0 = ByteBuffer.wrap(a(addr).getAddress()).order(ByteOrder.LITTLE_ENDIAN).getInt();
        return new GameSessionKey(
                tables.serviceId("default/game"), GameSessionKey.KIND_ADDR, id0, port, 0, 0);
    }

    /** checks the frame's IP header and UDP checksums from scratch and the IP total length */
    static Frame checked(ProgTestRun.Result r) {
        assertEquals(TC_ACT_REDIRECT, r.retval(), "NATed and redirected");
        Frame f = Frame.parse(r.packet());
        assertTrue(f.ipChecksumOk(), "IPv4 header checksum");
        byte[] seg = Arrays.copyOfRange(f.raw(), f.l3Off() + f.ihl(), f.raw().length);
        assertEquals(f.udpLen(), seg.length, "UDP length = what is left of the frame");
        int totLen = ((f.raw()[f.l3Off() + 2] & 0xff) << 8) | (f.raw()[f.l3Off() + 3] & 0xff);
        assertEquals(f.ihl() + f.udpLen(), totLen, "IPv4 total length");
        byte[] zeroed = seg.clone();
        zeroed[6] = 0;
        zeroed[7] = 0;
        int want = Checksums.l4(f.src(), f.dst(), 17, zeroed);
        assertEquals(want == 0 ? 0xffff : want, f.udpChecksum(), "UDP checksum from scratch");
        return f;
    }

    GameServiceStats stats() {
        return dp.gameServiceStats()
                .lookupPerCpu(tables.serviceId("default/game"))
                .map(GameServiceStats::sum)
                .orElseThrow();
    }

    static InetAddress ip(String s) {
        return Packets.addr(s);
    }

    // ------------------------------------------------------------------ tests

    @Test
    void natClientToBackendAndReplyBack() {
        tables.apply(List.of(service(0, 0, 0, Rebind.PORT, 0, List.of(backend(0, 1, null)))));
        byte[] hello = "hello, game server".getBytes(StandardCharsets.UTF_8);
        Frame f = checked(run(toService(CLIENT, 40000, hello)));
        assertEquals(ip(CLIENT), f.src(), "the backend sees the client");
        assertEquals(40000, f.sport());
        assertEquals(ip(BACKENDS[0]), f.dst());
        assertEquals(BE_PORT, f.dport());
        assertEquals(63, f.ttl(), "TTL decremented");
        assertArrayEquals(BE_MAC, f.dstMac(), "MAC of the backend's neighbour entry");
        assertArrayEquals(hello, f.payload());

        byte[] answer = "welcome".getBytes(StandardCharsets.UTF_8);
        Frame r = checked(run(fromBackend(0, CLIENT, 40000, answer)));
        assertEquals(ip(SVC), r.src(), "replies come from the service address");
        assertEquals(SVC_PORT, r.sport());
        assertEquals(ip(CLIENT), r.dst());
        assertEquals(40000, r.dport());
        assertArrayEquals(answer, r.payload());

        GameSession s = dp.gameSessions().lookup(addrKey(CLIENT, 40000)).orElseThrow();
        assertEquals(1, s.packetsIn());
        assertEquals(1, s.packetsOut());
        // a packet of the backend to an address no session has: not a game packet
        byte[] other = fromBackend(0, "10.1.0.99", 40000, answer);
        ProgTestRun.Result x = run(other);
        assertEquals(TC_ACT_OK, x.retval());
        assertArrayEquals(other, x.packet(), "left as it was");
    }

    @Test
    void tokensOf1And8And16BytesAreStripped() {
        for (int len : new int[] {1, 8, 16}) {
            byte[] t0 = new byte[len];
            byte[] t1 = new byte[len];
            for (int i = 0; i < len; i++) {
                t0[i] = (byte) (0x41 + i);
                t1[i] = (byte) (0x61 + i);
            }
            tables.apply(
                    List.of(
                            service(
                                    GameService.F_TOKEN,
                                    0,
                                    len,
                                    Rebind.PORT,
                                    0,
                                    List.of(backend(0, 1, t0), backend(1, 1, t1)))));
            // even and odd payload lengths: the token starts on either byte of a 16-bit word
            for (int plen : new int[] {10, 11}) {
                for (int b = 0; b < 2; b++) {
                    byte[] body = new byte[plen];
                    Arrays.fill(body, (byte) (0x30 + plen));
                    ByteBuffer p = ByteBuffer.allocate(plen + len);
                    p.put(body).put(b == 0 ? t0 : t1);
                    Frame f = checked(run(toService(CLIENT, 41000 + plen, p.array())));
                    assertEquals(ip(BACKENDS[b]), f.dst(), "the token names backend " + b);
                    assertEquals(8 + plen, f.udpLen(), "token of " + len + " stripped");
                    assertArrayEquals(body, f.payload());
                }
            }
            long before = stats().tokenUnknown();
            byte[] wrong = t0.clone();
            wrong[len - 1] ^= 0x5a;
            byte[] p = ByteBuffer.allocate(12 + len).put(new byte[12]).put(wrong).array();
            assertEquals(TC_ACT_SHOT, run(toService(CLIENT, 41500, p)).retval(), "unknown");
            assertEquals(before + 1, stats().tokenUnknown(), "counted");
            clear();
        }
    }

    @Test
    void kcpConversationAtItsOffsetKeysTheSessionAcrossPorts() {
        tables.apply(
                List.of(
                        service(
                                GameService.F_KCP,
                                KCP_OFF,
                                0,
                                Rebind.PORT,
                                0,
                                List.of(backend(0, 1, null), backend(1, 1, null)))));
        int conv = 0x1234abcd;
        Frame f = checked(run(toService(CLIENT, 40000, kcp(conv, 60))));
        GameSession s = dp.gameSessions().lookup(kcpKey(conv)).orElseThrow();
        String be = f.dst().getHostAddress();
        long rebinds = stats().rebinds();
        // the client's NAT moves it to another port: same backend, same source for it
        Frame g = checked(run(toService(CLIENT, 40111, kcp(conv, 60))));
        assertEquals(be, g.dst().getHostAddress(), "same backend");
        assertEquals(40000, g.sport(), "the backend still sees the first port");
        int bi = Arrays.asList(BACKENDS).indexOf(be);
        Frame r = checked(run(fromBackend(bi, CLIENT, 40000, kcp(conv, 40))));
        assertEquals(40111, r.dport(), "replies follow to the new port");
        s = dp.gameSessions().lookup(kcpKey(conv)).orElseThrow();
        assertEquals(1, s.rebinds());
        assertEquals(rebinds + 1, stats().rebinds());
        // another conversation id: its own session
        checked(run(toService(CLIENT, 40000, kcp(conv + 1, 60))));
        assertTrue(dp.gameSessions().lookup(kcpKey(conv + 1)).isPresent());
        // too short to hold the id: keyed by address
        checked(run(toService(CLIENT, 40222, kcp(0, 23))));
        assertTrue(dp.gameSessions().lookup(addrKey(CLIENT, 40222)).isPresent());
    }

    /** one KCP session from CLIENT:40000 on a one-backend service with this policy */
    void kcpSession(Rebind rebind, int confirm, int conv) {
        tables.apply(
                List.of(
                        service(
                                GameService.F_KCP,
                                KCP_OFF,
                                0,
                                rebind,
                                confirm,
                                List.of(backend(0, 1, null)))));
        checked(run(toService(CLIENT, 40000, kcp(conv, 60))));
    }

    /** where the backend's next reply goes */
    String replyTo(int conv) {
        Frame r = checked(run(fromBackend(0, CLIENT, 40000, kcp(conv, 40))));
        return r.dst().getHostAddress() + ":" + r.dport();
    }

    @Test
    void rebindingByPortMovesRepliesAnotherAddressIsRefused() {
        int conv = 0x0badf00d;
        kcpSession(Rebind.PORT, 0, conv);
        long refused = stats().rebindRefused(); // a service id's counters outlive its service
        checked(run(toService(CLIENT, 40001, kcp(conv, 60))));
        assertEquals(CLIENT + ":40001", replyTo(conv), "a new port of the same IP: allowed");
        // someone who learnt the conversation id sends from elsewhere
        ProgTestRun.Result x = run(toService("10.1.0.66", 40000, kcp(conv, 60)));
        assertEquals(TC_ACT_SHOT, x.retval(), "another IP: dropped");
        assertEquals(refused + 1, stats().rebindRefused(), "and counted");
        assertEquals(CLIENT + ":40001", replyTo(conv), "the replies stay with the client");
        assertEquals(1, dp.gameSessions().lookup(kcpKey(conv)).orElseThrow().rebinds());
    }

    @Test
    void rebindingPoliciesPrefixAnyNone() {
        int conv = 0x51;
        kcpSession(Rebind.PREFIX, 0, conv);
        long refused = stats().rebindRefused();
        checked(run(toService("10.1.0.77", 40000, kcp(conv, 60))));
        assertEquals("10.1.0.77:40000", replyTo(conv), "same /24: allowed");
        assertEquals(TC_ACT_SHOT, run(toService("10.1.1.5", 40000, kcp(conv, 60))).retval());
        assertEquals(refused + 1, stats().rebindRefused(), "another /24: refused");
        clear();

        kcpSession(Rebind.ANY, 0, conv);
        checked(run(toService("10.1.9.9", 40000, kcp(conv, 60))));
        assertEquals("10.1.9.9:40000", replyTo(conv), "any: anywhere");
        clear();

        kcpSession(Rebind.NONE, 0, conv);
        refused = stats().rebindRefused();
        assertEquals(TC_ACT_SHOT, run(toService(CLIENT, 40001, kcp(conv, 60))).retval());
        assertEquals(refused + 1, stats().rebindRefused(), "none: not even another port");
        assertEquals(CLIENT + ":40000", replyTo(conv));
    }

    @Test
    void rebindingWaitsForConfirmingPacketsInARow() {
        int conv = 0x77;
        kcpSession(Rebind.PORT, 3, conv);
        for (int i = 0; i < 2; i++) {
            Frame f = checked(run(toService(CLIENT, 40001, kcp(conv, 60))));
            assertEquals(40000, f.sport(), "forwarded as the session's first port");
        }
        assertEquals(CLIENT + ":40000", replyTo(conv), "2 of 3: not yet");
        checked(run(toService(CLIENT, 40000, kcp(conv, 60))));
        checked(run(toService(CLIENT, 40001, kcp(conv, 60))));
        checked(run(toService(CLIENT, 40001, kcp(conv, 60))));
        assertEquals(
                CLIENT + ":40000", replyTo(conv), "a packet from the current port starts again");
        checked(run(toService(CLIENT, 40001, kcp(conv, 60))));
        assertEquals(CLIENT + ":40001", replyTo(conv), "3 in a row: moved");
        assertEquals(1, dp.gameSessions().lookup(kcpKey(conv)).orElseThrow().rebinds());
    }

    @Test
    void drainedBackendKeepsItsSessionsAndGetsNoNewOnes() {
        List<Backend> both = List.of(backend(0, 1, null), backend(1, 1, null));
        tables.apply(List.of(service(0, 0, 0, Rebind.PORT, 0, both)));
        Map<Integer, String> pinned = new HashMap<>();
        for (int port = 42000; port < 42040; port++) {
            pinned.put(port, checked(run(toService(CLIENT, port, kcp(0, 30)))).dst().toString());
        }
        assertTrue(pinned.containsValue(ip(BACKENDS[0]).toString()), "some on backend 0");
        // backend 0's endpoint goes away: it drains
        tables.apply(List.of(service(0, 0, 0, Rebind.PORT, 0, List.of(backend(1, 1, null)))));
        int id0 = tables.backendId("default/game", a(BACKENDS[0]), BE_PORT);
        assertEquals(GameBackend.F_DRAINING, dp.gameBackends().lookup(id0).orElseThrow().flags());
        for (var e : pinned.entrySet()) {
            Frame f = checked(run(toService(CLIENT, e.getKey(), kcp(0, 30))));
            assertEquals(e.getValue(), f.dst().toString(), "a pinned session keeps its backend");
        }
        for (int port = 43000; port < 43100; port++) {
            Frame f = checked(run(toService(CLIENT, port, kcp(0, 30))));
            assertEquals(ip(BACKENDS[1]), f.dst(), "new sessions avoid the drained backend");
        }
        assertEquals(0, tables.sweep(), "still referenced");
    }

    @Test
    void aReusedBackendIdStartsWithCleanCounters() {
        tables.apply(List.of(service(0, 0, 0, Rebind.PORT, 0, List.of(backend(0, 1, null)))));
        int id = tables.backendId("default/game", a(BACKENDS[0]), BE_PORT);
        for (int port = 44000; port < 44010; port++) {
            checked(run(toService(CLIENT, port, kcp(0, 30)))); // never answered
        }
        clear(); // the endpoint goes, its sessions end, the sweep frees its id
        tables.apply(List.of(service(0, 0, 0, Rebind.PORT, 0, List.of(backend(1, 1, null)))));
        assertEquals(id, tables.backendId("default/game", a(BACKENDS[1]), BE_PORT), "reused");
        assertEquals(
                0,
                dp.gameBackendStats()
                        .lookupPerCpu(id)
                        .map(GameBackendStats::sum)
                        .orElseThrow()
                        .toPackets());
        assertEquals(Set.of(), tables.checkSilent(5), "not silent for what another received");
        assertEquals(0, stats().packets(), "the service's counters start again too");
    }

    @Test
    void replyIndexFollowsSessionsThatEndOrShareAnAddress() {
        List<Backend> one = List.of(backend(0, 1, null));
        tables.apply(List.of(service(GameService.F_KCP, KCP_OFF, 0, Rebind.PORT, 0, one)));
        int svc = tables.serviceId("default/game");
        GameRevKey rk = new GameRevKey(a(BACKENDS[0]), a(CLIENT), BE_PORT, 40000);
        // two conversations from one client address:port share one reply entry
        checked(run(toService(CLIENT, 40000, kcp(1, 60))));
        checked(run(toService(CLIENT, 40000, kcp(2, 60))));
        assertEquals(kcpKey(2), dp.gameRev().lookup(rk).orElseThrow().session(), "last wrote");
        // conversation 2's session is evicted (LRU): its reply entry is stale
        dp.gameSessions().delete(kcpKey(2));
        byte[] reply = fromBackend(0, CLIENT, 40000, kcp(1, 40));
        assertEquals(TC_ACT_OK, run(reply).retval(), "no session: not NATed");
        assertFalse(dp.gameRev().lookup(rk).isPresent(), "the stale entry removed on use");
        tables.sweep();
        assertEquals(kcpKey(1), dp.gameRev().lookup(rk).orElseThrow().session(), "given back");
        assertEquals(CLIENT + ":40000", replyTo(1));
        assertEquals(1, dp.gameSessions().lookup(kcpKey(1)).orElseThrow().packetsOut());

        // the backend goes: the session picks again and its old entry goes with it
        tables.apply(
                List.of(
                        service(
                                GameService.F_KCP,
                                KCP_OFF,
                                0,
                                Rebind.PORT,
                                0,
                                List.of(backend(1, 1, null)))));
        int id0 = tables.backendId("default/game", a(BACKENDS[0]), BE_PORT);
        dp.gameBackends().update(id0, new GameBackend(a(BACKENDS[0]), BE_PORT, 0, svc));
        Frame f = checked(run(toService(CLIENT, 40000, kcp(1, 60))));
        assertEquals(ip(BACKENDS[1]), f.dst(), "re-chosen");
        assertFalse(dp.gameRev().lookup(rk).isPresent(), "the old backend's entry removed");
        assertTrue(
                dp.gameRev()
                        .lookup(new GameRevKey(a(BACKENDS[1]), a(CLIENT), BE_PORT, 40000))
                        .isPresent());
        // a sweep removes entries of sessions that are gone
        dp.gameSessions().delete(kcpKey(1));
        tables.sweep();
        assertEquals(0, dp.gameRev().keys().size(), "no session, no reply entry");
    }

    static final byte[] RAKNET_MAGIC = {
        0x00,
        (byte) 0xff,
        (byte) 0xff,
        0x00,
        (byte) 0xfe,
        (byte) 0xfe,
        (byte) 0xfe,
        (byte) 0xfe,
        (byte) 0xfd,
        (byte) 0xfd,
        (byte) 0xfd,
        (byte) 0xfd,
        0x12,
        0x34,
        0x56,
        0x78
    };

    /** Open Connection Request 1: id, magic, protocol, MTU padding */
    static byte[] raknetRequest1() {
        return ByteBuffer.allocate(1 + 16 + 1 + 46).put((byte) 0x05).put(RAKNET_MAGIC).array();
    }

    /** Open Connection Request 2: id, magic, server address (IPv4), MTU, client GUID */
    static byte[] raknetRequest2(long guid) {
        return ByteBuffer.allocate(34)
                .put((byte) 0x07)
                .put(RAKNET_MAGIC)
                .put((byte) 4)
                .put(a(SVC).getAddress())
                .putShort((short) SVC_PORT)
                .putShort((short) 1400)
                .putLong(guid)
                .array();
    }

    /** a connected frame set */
    static byte[] raknetDatagram(int seq) {
        return ByteBuffer.allocate(24).put((byte) 0x84).put((byte) seq).array();
    }

    @Test
    void raknetClientGuidPinsTheBackendAcrossReconnects() {
        tables.apply(
                List.of(
                        service(
                                GameService.F_RAKNET,
                                0,
                                0,
                                Rebind.PORT,
                                0,
                                List.of(
                                        backend(0, 1, null),
                                        backend(1, 1, null),
                                        backend(2, 1, null)))));
        int svc = tables.serviceId("default/game");
        int overridden = 0;
        for (int i = 0; i < 20; i++) {
            long guid = 0x1122334455660000L + i;
            int port = 50000 + i;
            InetAddress first = checked(run(toService(CLIENT, port, raknetRequest1()))).dst();
            InetAddress g = checked(run(toService(CLIENT, port, raknetRequest2(guid)))).dst();
            if (!g.equals(first)) {
                overridden++;
            }
            assertEquals(
                    g,
                    checked(run(toService(CLIENT, port, raknetDatagram(1)))).dst(),
                    "later datagrams follow the GUID's backend");
            int bi = Arrays.asList(BACKENDS).indexOf(g.getHostAddress());
            Frame r = checked(run(fromBackend(bi, CLIENT, port, raknetDatagram(2))));
            assertEquals(ip(SVC), r.src());
            assertEquals(port, r.dport());
            // the client's NAT changes: it reconnects from another port with its GUID
            int again = 51000 + i;
            run(toService(CLIENT, again, raknetRequest1()));
            assertEquals(
                    g,
                    checked(run(toService(CLIENT, again, raknetRequest2(guid)))).dst(),
                    "same backend on reconnect");
            assertEquals(g, checked(run(toService(CLIENT, again, raknetDatagram(1)))).dst());
            Frame r2 = checked(run(fromBackend(bi, CLIENT, again, raknetDatagram(3))));
            assertEquals(again, r2.dport(), "replies to the new address");
            ByteBuffer gb = ByteBuffer.allocate(8).putLong(guid);
            gb.order(ByteOrder.LITTLE_ENDIAN);
            GameSessionKey gk =
                    new GameSessionKey(
                            svc, GameSessionKey.KIND_RAKNET, gb.getInt(0), gb.getInt(4), 0, 0);
            assertEquals(guid, gk.raknetGuid());
            GameSession gs = dp.gameSessions().lookup(gk).orElseThrow();
            assertEquals(tables.backendId("default/game", (Inet4Address) g, BE_PORT), gs.backend());
            assertEquals(1, gs.rebinds(), "one reconnect from another address");
        }
        assertTrue(overridden > 0, "the GUID, not the address, chose the backend");
        tables.sweep();
        dp.gameRev()
                .forEach(
                        (k, v) ->
                                assertEquals(
                                        GameSessionKey.KIND_ADDR,
                                        v.session().kind(),
                                        "replies go by the address sessions, also after a sweep"));
        // not a request 2 (wrong magic): an address session like any other
        byte[] bad = raknetRequest2(7);
        bad[5] ^= 1;
        checked(run(toService(CLIENT, 52000, bad)));
        assertTrue(dp.gameSessions().lookup(addrKey(CLIENT, 52000)).isPresent());
    }

    @Test
    void withoutGameServicesTheMapsAreMinimalAndGameIsRefused() {
        try (Datapath none =
                Datapath.load(
                        DatapathSpec.DEFAULT
                                .withFlows(64)
                                .withGroups(1)
                                .withSubIds(1)
                                .withGameServices(0))) {
            assertEquals(1, none.gameMaglev().maxEntries(), "no 4 MB Maglev array");
            assertEquals(0, none.gameServiceCapacity());
            DatapathConfig d = DatapathConfig.defaults();
            none.configure(d, PortTable.defaults());
            IllegalStateException e =
                    assertThrows(
                            IllegalStateException.class,
                            () ->
                                    none.configure(
                                            new DatapathConfig(
                                                    d.flags() | DatapathConfig.F_GAME,
                                                    d.newflowRate(),
                                                    d.newflowBurst(),
                                                    d.clockRates()),
                                            PortTable.defaults()));
            assertTrue(e.getMessage().contains("gameServices"), e.getMessage());
        }
        assertEquals(4, dp.gameServiceCapacity());
        assertEquals(4 * GameService.MAGLEV_SIZE, dp.gameMaglev().maxEntries());
        assertEquals(
                DatapathSpec.MAX_GAME_SERVICES, DatapathSpec.DEFAULT.gameServices(), "as before");
    }

    @Test
    void perPacketCost() {
        tables.apply(
                List.of(
                        service(
                                GameService.F_KCP,
                                KCP_OFF,
                                0,
                                Rebind.PORT,
                                0,
                                List.of(backend(0, 1, null), backend(1, 1, null)))));
        byte[] in = toService(CLIENT, 40000, kcp(9, 100));
        byte[] plain = Packets.builder().ip(CLIENT, "10.0.0.2").udp(40000, 7778).build();
        run(in);
        String be = checked(run(in)).dst().getHostAddress();
        byte[] out = fromBackend(Arrays.asList(BACKENDS).indexOf(be), CLIENT, 40000, kcp(9, 100));
        long p = median(plain);
        long f = median(in);
        long r = median(out);
        System.out.printf(
                "game per-packet cost (test run, single runs, median of 2001): plain UDP %d ns,"
                        + " client->backend %d ns (+%d), reply %d ns (+%d)%n",
                p, f, f - p, r, r - p);
        assertTrue(dp.gameSessions().lookup(kcpKey(9)).orElseThrow().packetsOut() > 1000);
    }

    /** the program rewrites the packet in place: one run per call (repeat would see its output) */
    long median(byte[] p) {
        long[] x = new long[2001];
        ns.run(
                () -> {
                    for (int i = 0; i < x.length; i++) {
                        x[i] =
                                ProgTestRun.run(dp.progFd(Datapath.PROG_TC), p, 1, 0, inIf)
                                        .durationNs();
                    }
                });
        Arrays.sort(x);
        return x[x.length / 2];
    }
}
