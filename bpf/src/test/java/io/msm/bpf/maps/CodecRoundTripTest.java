package io.msm.bpf.maps;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.Inet4Address;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class CodecRoundTripTest {
    static <T> T roundTrip(Codec<T> c, T v) {
        ByteBuffer b = ByteBuffer.allocate(c.size() + 16).order(ByteOrder.nativeOrder());
        for (int i = 0; i < b.capacity(); i++) {
            b.put(i, (byte) 0x5a); // garbage: encoders must write every byte they own
        }
        c.write(b, 8, v);
        return c.read(b, 8);
    }

    static Inet4Address v4(String s) {
        return (Inet4Address) Addr.parse(s);
    }

    @Test
    void flowKeysIncludingIpv6AndPaddingRoundTrip() {
        FlowKey k4 = FlowKey.udp(Addr.parse("10.1.2.3"), 5004, Addr.parse("192.168.0.1"), 6000);
        FlowKey k6 = FlowKey.tcp(Addr.parse("2001:db8::1"), 40000, Addr.parse("2001:db8::2"), 554);
        assertEquals(k4, roundTrip(FlowKey.CODEC, k4));
        assertEquals(k6, roundTrip(FlowKey.CODEC, k6));
        ByteBuffer b = ByteBuffer.allocate(40).order(ByteOrder.nativeOrder());
        for (int i = 0; i < 40; i++) {
            b.put(i, (byte) 0xff);
        }
        FlowKey.CODEC.write(b, 0, k4);
        assertEquals(0, b.getShort(6), "padding zeroed: keys are compared bytewise by the kernel");
        assertEquals(0, b.getInt(12), "unused address words zeroed");
        assertEquals("udp 10.1.2.3:5004 -> 192.168.0.1:6000", k4.toString());
        assertEquals("[2001:db8:0:0:0:0:0:1]:40000", k6.srcString());
    }

    @Test
    void flowsWithRtpStatsRoundTrip() {
        RtpStats r =
                new RtpStats(
                        0xdeadbeefL,
                        96,
                        0,
                        65535,
                        131072,
                        12,
                        65537,
                        1000,
                        3,
                        0xfffffff0L,
                        4800,
                        90000,
                        3);
        Flow f = new Flow(1, 1, 0x3, 1_000_000_000_000L, 5L << 40, 123, 456, r);
        assertEquals(f, roundTrip(Flow.CODEC, f));
        assertEquals(131072 + 65535, r.extendedHighestSeq());
        assertEquals(r.expected() - 1000, r.lost());
        assertEquals(4800 / 16.0 * 1000 / 90000, r.jitterMs(), 1e-9);
    }

    @Test
    void fanoutGroupsRoundTripAndRefuseTooManySubscribers() {
        FanoutSub s =
                new FanoutSub(
                        7,
                        3,
                        new byte[] {2, 0, 0, 0, 0, 1},
                        new byte[] {2, 0, 0, 0, 0, 2},
                        v4("10.0.0.1"),
                        v4("10.0.0.2"),
                        5004,
                        6000,
                        FanoutSub.F_INGRESS);
        FanoutGroup g =
                new FanoutGroup(5, FanoutGroup.F_STRICT, v4("10.9.9.9"), 1234, List.of(s, s));
        FanoutGroup back = roundTrip(FanoutGroup.CODEC, g);
        assertEquals(g.subs(), back.subs());
        assertEquals(g.srcAddr(), back.srcAddr());
        assertEquals(1234, back.srcPort());
        assertEquals(FanoutGroup.F_STRICT, back.flags());
        List<FanoutSub> many = Collections.nCopies(FanoutGroup.MAX_SUBS + 1, s);
        assertThrows(IllegalArgumentException.class, () -> new FanoutGroup(1, 0, null, 0, many));
        FanoutKey k = new FanoutKey(v4("10.0.0.1"), 5004);
        assertEquals(k, roundTrip(FanoutKey.CODEC, k));
        assertThrows(IllegalArgumentException.class, () -> new FanoutKey(v4("10.0.0.1"), 0));
    }

    @Test
    void countersAndConfigRoundTrip() {
        Counters c = Counters.zero();
        c.classPackets()[TrafficClass.RTP.id()] = 42;
        c.stat()[Stat.FANOUT_COPIES.id()] = 7;
        Counters back = roundTrip(Counters.CODEC, c);
        assertEquals(42, back.packets(TrafficClass.RTP));
        assertEquals(7, back.get(Stat.FANOUT_COPIES));
        assertEquals(84, Counters.sum(List.of(back, back)).packets(TrafficClass.RTP));
        DatapathConfig cfg =
                DatapathConfig.defaults().withNewflowLimit(100, 200).withClockRate(111, 48000);
        assertEquals(cfg, roundTrip(DatapathConfig.CODEC, cfg));
        assertEquals(8000, cfg.clockRates()[0]);
        assertEquals(90000, cfg.clockRates()[96]);
        assertEquals(90000, cfg.clockRates()[26], "JPEG");
    }

    @Test
    void denyKeysParseCidrs() {
        DenyKey k = DenyKey.parse("10.66.0.0/16");
        assertEquals(16, k.prefixLen());
        assertEquals(k, roundTrip(DenyKey.CODEC, k));
        DenyKey h = DenyKey.parse("2001:db8::1");
        assertEquals(128, h.prefixLen());
        assertEquals(h, roundTrip(DenyKey.CODEC, h));
        assertThrows(IllegalArgumentException.class, () -> DenyKey.parse("10.0.0.0/33"));
        assertThrows(IllegalArgumentException.class, () -> DenyKey.parse("example.org"));
    }

    @Test
    void attachmentsAndMetaRoundTrip() {
        Attachment a =
                new Attachment(Attachment.F_TC | Attachment.F_XDP, 0x4d534d, 1, 77, 78, "eth0");
        assertEquals(a, roundTrip(Attachment.CODEC, a));
        Attachment longName = new Attachment(0, 0, 0, 0, 0, "averyveryverylongifname");
        assertEquals(
                "averyveryverylo",
                roundTrip(Attachment.CODEC, longName).ifname(),
                "IFNAMSIZ - 1 characters");
        byte[] sha = new byte[32];
        sha[31] = 9;
        Meta m = new Meta(Meta.MAGIC, 1, 99, sha);
        Meta mb = roundTrip(Meta.CODEC, m);
        assertArrayEquals(sha, mb.objectSha256());
        assertEquals(true, mb.written());
    }

    @Test
    void portTableMarksControlAndGamePorts() {
        int[] t =
                PortTable.build(
                        List.of(554), List.of(5060), List.of(PortTable.Range.parse("27015-27017")));
        assertEquals(PortTable.F_CONTROL_TCP, t[554]);
        assertEquals(PortTable.F_CONTROL_UDP, t[5060]);
        assertEquals(PortTable.F_GAME_UDP, t[27016]);
        assertEquals(0, t[27018]);
        assertThrows(IllegalArgumentException.class, () -> PortTable.Range.parse("9-3"));
        assertThrows(IllegalArgumentException.class, () -> PortTable.Range.parse("x"));
        assertThrows(
                IllegalArgumentException.class,
                () -> PortTable.build(List.of(70000), List.of(), List.of()));
        assertEquals(TrafficClass.RTCP, TrafficClass.parse("RTCP"));
        assertThrows(IllegalArgumentException.class, () -> TrafficClass.parse("video"));
    }

    @Test
    void identityMapsRoundTrip() {
        IdentityKey k4 = new IdentityKey(Addr.parse("10.244.1.7"));
        IdentityKey k6 = new IdentityKey(Addr.parse("fd00::17"));
        assertEquals(k4, roundTrip(IdentityKey.CODEC, k4));
        assertEquals(k6, roundTrip(IdentityKey.CODEC, k6));
        ByteBuffer b = ByteBuffer.allocate(20).order(ByteOrder.nativeOrder());
        for (int i = 0; i < 20; i++) {
            b.put(i, (byte) 0xff);
        }
        IdentityKey.CODEC.write(b, 0, k4);
        assertEquals(Addr.FAMILY_IPV4, b.get(0));
        assertEquals(0, b.get(1) | b.get(2) | b.get(3), "padding zeroed");
        assertEquals(0, b.getInt(8) | b.getInt(12) | b.getInt(16), "unused words zeroed");

        assertEquals(
                new SourceIdentity(42), roundTrip(SourceIdentity.CODEC, new SourceIdentity(42)));
        assertEquals(new AllowKey(7, 0), roundTrip(AllowKey.CODEC, new AllowKey(7, 0)));
        assertEquals(
                new AllowKey(255, 0x7fffffff),
                roundTrip(AllowKey.CODEC, new AllowKey(255, 0x7fffffff)));

        IdentityName n = new IdentityName("spiffe://cluster.local/ns/media/sa/camera");
        assertEquals(n, roundTrip(IdentityName.CODEC, n));
        String tooLong = "spiffe://td/" + "x".repeat(400);
        assertEquals(
                tooLong.substring(0, SourceIdentity.NAME_LEN - 1),
                roundTrip(IdentityName.CODEC, new IdentityName(tooLong)).name(),
                "cut to leave the NUL");
    }

    @Test
    void groupStatsCarryIdentityRefusals() {
        GroupStats g = new GroupStats(1, 2, 3, 4, 5, 6, 7);
        assertEquals(g, roundTrip(GroupStats.CODEC, g));
        GroupStats s = GroupStats.sum(List.of(g, new GroupStats(1, 1, 1, 1, 1)));
        assertEquals(6, s.identityUnknown());
        assertEquals(7, s.identityDenied());
        assertEquals(6, s.strictDrops());
    }

    @Test
    void gameMapsRoundTripWithTheRebindingPolicyAndTheReplyIndex() {
        GameService svc =
                new GameService(3, GameService.F_KCP, 20, 0, GameService.REBIND_PREFIX, 4, 9L);
        assertEquals(svc, roundTrip(GameService.CODEC, svc));
        assertEquals(
                GameService.REBIND_PORT,
                new GameService(3, GameService.F_KCP, 20, 0, 9L).rebind(),
                "the old constructor: same IP only");
        GameSession s =
                new GameSession(7, v4("10.1.0.5"), 40000, v4("10.1.0.5"), 40001, 1, 2, 3, 4, 1);
        assertEquals(s, roundTrip(GameSession.CODEC, s));
        GameServiceStats st = new GameServiceStats(1, 2, 3, 4, 5, 6, 7, 8);
        assertEquals(st, roundTrip(GameServiceStats.CODEC, st));
        assertEquals(8, GameServiceStats.sum(List.of(st)).rebindRefused());
        GameRevKey rk = new GameRevKey(v4("10.2.0.10"), v4("10.1.0.5"), 9000, 40000);
        assertEquals(rk, roundTrip(GameRevKey.CODEC, rk));
        GameRev rv =
                new GameRev(
                        new GameSessionKey(3, GameSessionKey.KIND_KCP, 0x1234, 0, 0, 0),
                        v4("10.0.0.1"),
                        7777);
        assertEquals(rv, roundTrip(GameRev.CODEC, rv));
    }

    @Test
    void raknetKeysShowTheGuidAsRakNetWritesIt() {
        ByteBuffer wire = ByteBuffer.allocate(8).putLong(0x0102030405060708L);
        wire.order(ByteOrder.LITTLE_ENDIAN); // what the kernel's two 32-bit loads hold
        GameSessionKey k =
                new GameSessionKey(
                        1, GameSessionKey.KIND_RAKNET, wire.getInt(0), wire.getInt(4), 0, 0);
        assertEquals(0x0102030405060708L, k.raknetGuid());
        assertEquals("raknet guid 0102030405060708", k.describe());
    }
}
