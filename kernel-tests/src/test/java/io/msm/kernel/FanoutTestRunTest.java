package io.msm.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.maps.Addr;
import io.msm.bpf.maps.AllowKey;
import io.msm.bpf.maps.BpfMap;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.FanoutSub;
import io.msm.bpf.maps.GroupStats;
import io.msm.bpf.maps.IdentityKey;
import io.msm.bpf.maps.PortTable;
import io.msm.bpf.maps.SourceIdentity;
import io.msm.bpf.maps.Stat;
import io.msm.bpf.maps.SubStats;
import io.msm.bpf.testrun.ProgTestRun;
import io.msm.testkit.Frame;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Names;
import io.msm.testkit.Netns;
import io.msm.testkit.Packets;
import io.msm.testkit.Sysctl;
import io.msm.testkit.Testkit;
import io.msm.testkit.Veth;
import java.net.Inet4Address;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The fan-out loop on crafted packets: BPF_PROG_TEST_RUN inside a namespace whose veth pairs carry
 * the clones to a capture program, so every copy is checked byte for byte (addresses, ports, both
 * checksums, payload).
 */
@KernelTest
class FanoutTestRunTest {
    static final int TC_ACT_OK = 0;
    static final int TC_ACT_SHOT = 2;
    static final int TC_ACT_REDIRECT = 7;
    static final int N = 8;
    static final Inet4Address UPSTREAM = (Inet4Address) Packets.addr("10.0.0.1");
    static final FanoutKey KEY = new FanoutKey(UPSTREAM, 5004);

    static Netns ns;
    static Datapath dp;
    static Testkit kit;
    static int[] ifindex = new int[N];
    static int[] peerIfindex = new int[N];

    @BeforeAll
    static void setUp() {
        ns = Netns.create(Names.runId() + "-fan");
        for (int i = 0; i < N; i++) {
            Veth v = Veth.create(ns, "fa" + i, null, ns, "fb" + i, null);
            ifindex[i] = v.ifindexA();
            peerIfindex[i] = v.ifindexB();
        }
        dp = Datapath.load(DatapathSpec.DEFAULT.withFlows(1024).withGroups(16).withSubIds(2048));
        dp.configure(DatapathConfig.defaults(), PortTable.defaults());
        kit = Testkit.load();
        for (int i = 0; i < N; i++) {
            kit.attach(ns, "fb" + i, Testkit.PROG_CAPTURE);
        }
    }

    @AfterAll
    static void tearDown() {
        if (kit != null) {
            kit.close();
        }
        if (dp != null) {
            dp.close();
        }
        if (ns != null) {
            ns.close();
        }
    }

    @BeforeEach
    void reset() {
        var groups = dp.fanoutGroups();
        groups.keys().forEach(groups::delete);
        var ids = dp.identities();
        ids.keys().forEach(ids::delete);
        var allow = dp.groupAllow();
        allow.keys().forEach(allow::delete);
        kit.drain();
    }

    static byte[] mac(int kind, int i) {
        return new byte[] {0x02, 0, 0, 0, (byte) kind, (byte) i};
    }

    static FanoutSub sub(int i, int viaVeth) {
        return new FanoutSub(
                ifindex[viaVeth],
                i,
                mac(1, i),
                mac(2, i),
                (Inet4Address) Packets.addr("10.9.0.1"),
                (Inet4Address) Packets.addr("10.9." + (i / 200) + "." + (i % 200 + 2)),
                5004,
                6000 + i,
                0);
    }

    static List<FanoutSub> subs(int n) {
        List<FanoutSub> s = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            s.add(sub(i, i % N));
        }
        return s;
    }

    static byte[] rtpPacket(Packets.Builder b) {
        return b.ip("10.1.0.5", "10.0.0.1")
                .udp(40000, 5004)
                .payload(Packets.rtp(77, 123456, 0xabcdef, 96, true, 1000))
                .build();
    }

    ProgTestRun.Result run(byte[] packet) {
        return ns.call(() -> ProgTestRun.run(dp.progFd(Datapath.PROG_TC), packet));
    }

    static void assertCopy(Frame f, FanoutSub s, byte[] payload, boolean udpChecksumExpected) {
        String who = "copy for " + s.destination();
        assertArrayEquals(s.dmac(), f.dstMac(), who + ": dst MAC");
        assertArrayEquals(s.smac(), f.srcMac(), who + ": src MAC");
        assertEquals(s.saddr(), f.src(), who + ": src IP");
        assertEquals(s.daddr(), f.dst(), who + ": dst IP");
        assertEquals(s.sport(), f.sport(), who + ": src port");
        assertEquals(s.dport(), f.dport(), who + ": dst port");
        assertTrue(f.ipChecksumOk(), who + ": IPv4 header checksum");
        if (udpChecksumExpected) {
            assertTrue(f.udpChecksum() != 0, who + ": UDP checksum present");
            assertTrue(f.udpChecksumOk(), who + ": UDP checksum");
        } else {
            assertEquals(0, f.udpChecksum(), who + ": a zero UDP checksum stays zero");
        }
        assertArrayEquals(
                Arrays.copyOf(payload, Math.min(payload.length, f.payload().length)),
                f.payload(),
                who + ": payload untouched");
    }

    List<Testkit.Captured> captured(int expected) throws InterruptedException {
        List<Testkit.Captured> c = kit.await(expected, 3000);
        c.sort(Comparator.comparingInt(x -> x.frame().dport()));
        return c;
    }

    @Test
    void everySubscriberGetsACorrectCopy() throws Exception {
        List<FanoutSub> subs = subs(N);
        dp.fanoutGroups().update(KEY, new FanoutGroup(3, 0, null, 0, subs));
        byte[] in = rtpPacket(Packets.builder());
        Frame orig = Frame.parse(in);
        long copiesBefore = dp.totals().get(Stat.FANOUT_COPIES);

        ProgTestRun.Result r = run(in);

        assertEquals(TC_ACT_REDIRECT, r.retval(), "the original goes to the last subscriber");
        assertCopy(Frame.parse(r.packet()), subs.get(N - 1), orig.payload(), true);
        List<Testkit.Captured> got = captured(N - 1);
        assertEquals(N - 1, got.size(), "one clone per subscriber but the last");
        for (int i = 0; i < N - 1; i++) {
            assertEquals(
                    peerIfindex[i],
                    got.get(i).ifindex(),
                    "clone " + i + " left through its own veth");
            assertEquals(in.length, got.get(i).len());
            assertCopy(got.get(i).frame(), subs.get(i), orig.payload(), true);
        }
        GroupStats g = GroupStats.sum(dp.groupStats().lookupPerCpu(3).orElseThrow());
        assertEquals(1, g.packets());
        assertEquals(N, g.copies());
        assertEquals(0, g.errors());
        for (int i = 0; i < N; i++) {
            SubStats s = SubStats.sum(dp.subStats().lookupPerCpu(i).orElseThrow());
            assertTrue(s.packets() >= 1, "subscriber " + i + " counted");
        }
        assertEquals(N, dp.totals().get(Stat.FANOUT_COPIES) - copiesBefore);
    }

    @Test
    void zeroUdpChecksumStaysZero() throws Exception {
        List<FanoutSub> subs = subs(4);
        dp.fanoutGroups().update(KEY, new FanoutGroup(1, 0, null, 0, subs));
        byte[] in = rtpPacket(Packets.builder().noUdpChecksum());
        ProgTestRun.Result r = run(in);
        assertEquals(TC_ACT_REDIRECT, r.retval());
        assertCopy(Frame.parse(r.packet()), subs.get(3), Frame.parse(in).payload(), false);
        List<Testkit.Captured> got = captured(3);
        assertEquals(3, got.size());
        for (int i = 0; i < 3; i++) {
            assertCopy(got.get(i).frame(), subs.get(i), Frame.parse(in).payload(), false);
        }
    }

    @Test
    void ipOptionsAndVlanTagsAreHandled() throws Exception {
        List<FanoutSub> subs = subs(3);
        dp.fanoutGroups().update(KEY, new FanoutGroup(1, 0, null, 0, subs));
        byte[] in =
                rtpPacket(Packets.builder().vlan(7).ipOptions(new byte[] {1, 1, 1, 0, 1, 1, 1, 0}));
        ProgTestRun.Result r = run(in);
        assertEquals(TC_ACT_REDIRECT, r.retval());
        Frame last = Frame.parse(r.packet());
        assertEquals(28, last.ihl(), "options kept");
        assertCopy(last, subs.get(2), Frame.parse(in).payload(), true);
        List<Testkit.Captured> got = captured(2);
        assertEquals(2, got.size());
        for (int i = 0; i < 2; i++) {
            assertCopy(got.get(i).frame(), subs.get(i), Frame.parse(in).payload(), true);
        }
    }

    @Test
    void localGroupClonesToAllAndPassesTheOriginalUnchanged() throws Exception {
        List<FanoutSub> subs = subs(N);
        dp.fanoutGroups().update(KEY, new FanoutGroup(2, FanoutGroup.F_LOCAL, null, 0, subs));
        byte[] in = rtpPacket(Packets.builder());
        ProgTestRun.Result r = run(in);
        assertEquals(TC_ACT_OK, r.retval());
        assertArrayEquals(in, r.packet(), "the stack gets the packet as it arrived");
        List<Testkit.Captured> got = captured(N);
        assertEquals(N, got.size());
        for (int i = 0; i < N; i++) {
            assertCopy(got.get(i).frame(), subs.get(i), Frame.parse(in).payload(), true);
        }
    }

    @Test
    void emptyGroupDropsTheUpstreamPacket() {
        dp.fanoutGroups().update(KEY, new FanoutGroup(4, 0, null, 0, List.of()));
        long before = dp.totals().get(Stat.FANOUT_EMPTY);
        assertEquals(TC_ACT_SHOT, run(rtpPacket(Packets.builder())).retval());
        assertEquals(1, dp.totals().get(Stat.FANOUT_EMPTY) - before);
    }

    @Test
    void packetsForOtherDestinationsAreNotTouched() throws Exception {
        dp.fanoutGroups().update(KEY, new FanoutGroup(1, 0, null, 0, subs(2)));
        byte[] other =
                Packets.builder()
                        .ip("10.1.0.5", "10.0.0.1")
                        .udp(40000, 5006)
                        .payload(Packets.rtp(1, 1, 1, 96, false, 100))
                        .build();
        ProgTestRun.Result r = run(other);
        assertEquals(TC_ACT_OK, r.retval());
        assertArrayEquals(other, r.packet());
        assertEquals(0, kit.await(1, 200).size(), "no copies");
    }

    @Test
    void strictSourceDropsOrPassesOthers() throws Exception {
        Inet4Address publisher = (Inet4Address) Packets.addr("10.1.0.5");
        dp.fanoutGroups()
                .update(KEY, new FanoutGroup(5, FanoutGroup.F_STRICT, publisher, 40000, subs(2)));
        byte[] fromPublisher = rtpPacket(Packets.builder());
        byte[] fromElsewhere =
                Packets.builder()
                        .ip("10.1.0.99", "10.0.0.1")
                        .udp(40000, 5004)
                        .payload(Packets.rtp(1, 1, 1, 96, false, 100))
                        .build();
        long drops = dp.totals().get(Stat.STRICT_DROP);
        assertEquals(TC_ACT_REDIRECT, run(fromPublisher).retval());
        assertEquals(
                1,
                captured(1).size(),
                "the publisher's packet: one clone (and the original redirected)");
        assertEquals(TC_ACT_SHOT, run(fromElsewhere).retval());
        assertEquals(1, dp.totals().get(Stat.STRICT_DROP) - drops);
        assertEquals(
                1, GroupStats.sum(dp.groupStats().lookupPerCpu(5).orElseThrow()).strictDrops());

        dp.fanoutGroups()
                .update(
                        KEY,
                        new FanoutGroup(
                                5,
                                FanoutGroup.F_STRICT | FanoutGroup.F_PASS_OTHERS,
                                publisher,
                                40000,
                                subs(2)));
        kit.drain();
        ProgTestRun.Result r = run(fromElsewhere);
        assertEquals(
                TC_ACT_OK, r.retval(), "others go to the local stack (e.g. RTCP receiver reports)");
        assertArrayEquals(fromElsewhere, r.packet());
        assertEquals(0, kit.await(1, 200).size(), "and are not fanned out");
    }

    @Test
    void aMissingDeviceIsCountedAndTheOthersStillGetTheirCopy() throws Exception {
        List<FanoutSub> subs = new ArrayList<>(subs(4));
        FanoutSub bad = sub(9, 0);
        subs.add(
                1,
                new FanoutSub(
                        999_999,
                        9,
                        bad.dmac(),
                        bad.smac(),
                        bad.saddr(),
                        bad.daddr(),
                        bad.sport(),
                        bad.dport(),
                        0));
        dp.fanoutGroups().update(KEY, new FanoutGroup(6, 0, null, 0, subs));
        assertEquals(TC_ACT_REDIRECT, run(rtpPacket(Packets.builder())).retval());
        assertEquals(3, captured(3).size(), "the three good clones arrive");
        GroupStats g = GroupStats.sum(dp.groupStats().lookupPerCpu(6).orElseThrow());
        assertEquals(1, g.errors());
        assertEquals(4, g.copies());
        assertEquals(1, SubStats.sum(dp.subStats().lookupPerCpu(9).orElseThrow()).errors());
    }

    @Test
    void theLargestGroupFansOutToEveryMember() throws Exception {
        int n = FanoutGroup.MAX_SUBS;
        List<FanoutSub> subs = subs(n);
        dp.fanoutGroups().update(KEY, new FanoutGroup(7, 0, null, 0, subs));
        assertEquals(
                n,
                dp.fanoutGroups().lookup(KEY).orElseThrow().subs().size(),
                "group of " + n + " stored");
        List<Testkit.Captured> got;
        // all clones of one packet queue on this CPU's backlog before the veth
        // peers drain it: the default limit (1000) would drop some
        try (Sysctl backlog = Sysctl.atLeast("net.core.netdev_max_backlog", 4L * n)) {
            ProgTestRun.Result r = run(rtpPacket(Packets.builder()));
            assertEquals(TC_ACT_REDIRECT, r.retval());
            got = kit.await(n - 1, 10_000);
        }
        assertEquals(n - 1, got.size(), "a clone for every member but the last");
        Set<Integer> ports = new HashSet<>();
        for (Testkit.Captured c : got) {
            Frame f = c.frame();
            assertTrue(f.ipChecksumOk() && f.udpChecksumOk(), "checksums of " + f.dstString());
            ports.add(f.dport());
        }
        assertEquals(n - 1, ports.size(), "all distinct destinations");
        assertEquals(n, GroupStats.sum(dp.groupStats().lookupPerCpu(7).orElseThrow()).copies());
    }

    @Test
    void groupsAreReadBackAsWritten() {
        List<FanoutSub> subs = subs(5);
        FanoutGroup g = new FanoutGroup(9, FanoutGroup.F_LOCAL, null, 0, subs);
        BpfMap<FanoutKey, FanoutGroup> m = dp.fanoutGroups();
        m.update(KEY, g);
        FanoutGroup back = m.lookup(KEY).orElseThrow();
        assertEquals(g.subs(), back.subs());
        assertEquals(9, back.groupId());
        assertTrue(back.local());
        assertEquals("10.0.0.1:5004", Addr.hostPort(KEY.addr(), KEY.port()));
    }

    // ---- MSM_GROUP_F_IDENTITY

    static byte[] rtpFrom(String src) {
        return Packets.builder()
                .ip(src, "10.0.0.1")
                .udp(40000, 5004)
                .payload(Packets.rtp(5, 5, 5, 96, false, 200))
                .build();
    }

    static void identity(String addr, int id) {
        dp.identities().update(new IdentityKey(Packets.addr(addr)), new SourceIdentity(id));
    }

    static GroupStats group(int id) {
        return GroupStats.sum(dp.groupStats().lookupPerCpu(id).orElseThrow());
    }

    @Test
    void identityAllowedSendersAreFannedOutOthersDroppedAndCountedByReason() throws Exception {
        int gid = 10;
        dp.groupStats().update(gid, GroupStats.ZERO);
        dp.fanoutGroups()
                .update(KEY, new FanoutGroup(gid, FanoutGroup.F_IDENTITY, null, 0, subs(2)));
        identity("10.1.0.5", 7); // allowed
        identity("10.1.0.6", 8); // known, not allowed
        dp.groupAllow().update(new AllowKey(gid, 7), 1);
        long unknown = dp.totals().get(Stat.IDENT_UNKNOWN);
        long denied = dp.totals().get(Stat.IDENT_DENIED);

        assertEquals(TC_ACT_REDIRECT, run(rtpFrom("10.1.0.5")).retval(), "allowed: fanned out");
        assertEquals(1, captured(1).size());

        byte[] fromDenied = rtpFrom("10.1.0.6");
        assertEquals(TC_ACT_SHOT, run(fromDenied).retval(), "another identity: dropped");
        assertEquals(TC_ACT_SHOT, run(rtpFrom("10.1.0.99")).retval(), "no identity: dropped");
        assertEquals(TC_ACT_SHOT, run(rtpFrom("10.1.0.99")).retval());
        assertEquals(0, kit.await(1, 200).size(), "no copies of refused packets");

        GroupStats g = group(gid);
        assertEquals(1, g.packets(), "refused packets are not upstream");
        assertEquals(1, g.identityDenied());
        assertEquals(2, g.identityUnknown());
        assertEquals(1, dp.totals().get(Stat.IDENT_DENIED) - denied);
        assertEquals(2, dp.totals().get(Stat.IDENT_UNKNOWN) - unknown);

        // WORLD listed: senders without an identity are admitted, other identities still not
        dp.groupAllow().update(new AllowKey(gid, SourceIdentity.WORLD), 1);
        assertEquals(TC_ACT_REDIRECT, run(rtpFrom("10.1.0.99")).retval());
        assertEquals(TC_ACT_SHOT, run(fromDenied).retval());
        assertEquals(1, captured(1).size());

        // an address that changes hands (removed, then given to another identity) is not trusted
        dp.identities().delete(new IdentityKey(Packets.addr("10.1.0.5")));
        dp.groupAllow().delete(new AllowKey(gid, SourceIdentity.WORLD));
        assertEquals(TC_ACT_SHOT, run(rtpFrom("10.1.0.5")).retval(), "removed: WORLD");
        identity("10.1.0.5", 8);
        assertEquals(TC_ACT_SHOT, run(rtpFrom("10.1.0.5")).retval(), "reused: not trusted");
        assertEquals(3, group(gid).identityDenied(), "10.1.0.6 twice, the reused address once");
        assertEquals(3, group(gid).identityUnknown(), "10.1.0.99 twice, the removed address once");
    }

    @Test
    void identityRefusedSendersGoToTheStackWithPassOthers() throws Exception {
        int gid = 11;
        dp.groupStats().update(gid, GroupStats.ZERO);
        dp.fanoutGroups()
                .update(
                        KEY,
                        new FanoutGroup(
                                gid,
                                FanoutGroup.F_IDENTITY | FanoutGroup.F_PASS_OTHERS,
                                null,
                                0,
                                subs(2)));
        identity("10.1.0.6", 8);
        dp.groupAllow().update(new AllowKey(gid, 7), 1);
        long local = dp.totals().get(Stat.IDENT_LOCAL);
        byte[] rr = rtpFrom("10.1.0.6");
        ProgTestRun.Result r = run(rr);
        assertEquals(TC_ACT_OK, r.retval(), "a refused sender's packet reaches the local stack");
        assertArrayEquals(rr, r.packet(), "untouched");
        assertEquals(0, kit.await(1, 200).size(), "and is not fanned out");
        assertEquals(1, group(gid).identityDenied(), "counted as refused");
        assertEquals(1, dp.totals().get(Stat.IDENT_LOCAL) - local);
    }

    @Test
    void identityIsCheckedAfterTheStrictSource() throws Exception {
        int gid = 12;
        dp.groupStats().update(gid, GroupStats.ZERO);
        Inet4Address publisher = (Inet4Address) Packets.addr("10.1.0.5");
        dp.fanoutGroups()
                .update(
                        KEY,
                        new FanoutGroup(
                                gid,
                                FanoutGroup.F_STRICT | FanoutGroup.F_IDENTITY,
                                publisher,
                                0,
                                subs(2)));
        identity("10.1.0.6", 7);
        dp.groupAllow().update(new AllowKey(gid, 7), 1);
        assertEquals(
                TC_ACT_SHOT, run(rtpFrom("10.1.0.6")).retval(), "allowed identity, wrong source");
        assertEquals(1, group(gid).strictDrops());
        assertEquals(TC_ACT_SHOT, run(rtpFrom("10.1.0.5")).retval(), "right source, no identity");
        assertEquals(1, group(gid).identityUnknown());
        identity("10.1.0.5", 7);
        assertEquals(TC_ACT_REDIRECT, run(rtpFrom("10.1.0.5")).retval(), "both");
        assertEquals(1, captured(1).size());
    }

    @Test
    void packetsTheAgentInjectsAreNotCheckedForIdentity() throws Exception {
        int gid = 14;
        dp.groupStats().update(gid, GroupStats.ZERO);
        dp.fanoutGroups()
                .update(KEY, new FanoutGroup(gid, FanoutGroup.F_IDENTITY, null, 0, subs(2)));
        byte[] p = rtpFrom("10.0.0.1"); // as KernelRelay.inject builds it: from the relay itself
        assertEquals(TC_ACT_SHOT, run(p).retval(), "unmarked: no identity, refused");
        ProgTestRun.Result r =
                ns.call(
                        () ->
                                ProgTestRun.run(
                                        dp.progFd(Datapath.PROG_TC),
                                        p,
                                        1,
                                        FanoutGroup.MARK_INJECTED));
        assertEquals(TC_ACT_REDIRECT, r.retval(), "marked as injected: fanned out");
        assertEquals(1, captured(1).size());
        assertEquals(1, group(gid).identityUnknown());
    }

    @Test
    void withoutTheFlagIdentitiesAreNotChecked() throws Exception {
        int gid = 13;
        dp.groupStats().update(gid, GroupStats.ZERO);
        dp.fanoutGroups().update(KEY, new FanoutGroup(gid, 0, null, 0, subs(2)));
        identity("10.1.0.6", 8); // listed nowhere
        assertEquals(TC_ACT_REDIRECT, run(rtpFrom("10.1.0.6")).retval());
        assertEquals(TC_ACT_REDIRECT, run(rtpFrom("10.1.0.99")).retval());
        assertEquals(2, captured(2).size());
        GroupStats g = group(gid);
        assertEquals(0, g.identityDenied() + g.identityUnknown());
    }

    @Test
    void allowEntriesAreReadBackPerGroup() {
        dp.groupAllow().update(new AllowKey(20, 7), 1);
        dp.groupAllow().update(new AllowKey(21, 7), 1);
        dp.groupAllow().update(new AllowKey(20, SourceIdentity.WORLD), 1);
        Set<AllowKey> keys = new HashSet<>(dp.groupAllow().keys());
        assertEquals(Set.of(new AllowKey(20, 7), new AllowKey(21, 7), new AllowKey(20, 0)), keys);
    }
}
