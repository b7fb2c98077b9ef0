package io.msm.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.FanoutSub;
import io.msm.bpf.maps.PortTable;
import io.msm.bpf.maps.RewriteState;
import io.msm.bpf.testrun.ProgTestRun;
import io.msm.testkit.Frame;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Names;
import io.msm.testkit.Netns;
import io.msm.testkit.Packets;
import io.msm.testkit.Veth;
import java.net.Inet4Address;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * MSM_GROUP_F_REWRITE on crafted packets (BPF_PROG_TEST_RUN): one continuous SSRC, sequence and
 * timestamp across a source switch with valid UDP checksums, sender reports following, hot standby
 * taking over after the active source's silence, and the added per-packet cost.
 */
@KernelTest
class RewriteTestRunTest {
    static final int TC_ACT_SHOT = 2;
    static final int TC_ACT_REDIRECT = 7;
    static final Inet4Address UPSTREAM = (Inet4Address) Packets.addr("10.0.0.1");
    static final FanoutKey RTP = new FanoutKey(UPSTREAM, 5004);
    static final FanoutKey RTCP = new FanoutKey(UPSTREAM, 5005);
    static final String A = "10.1.0.5";
    static final String B = "10.1.0.6";

    static Netns ns;
    static Datapath dp;
    static int ifindex;

    @BeforeAll
    static void setUp() {
        ns = Netns.create(Names.runId() + "-rw");
        Veth v = Veth.create(ns, "ra0", null, ns, "rb0", null);
        ifindex = v.ifindexA();
        dp = Datapath.load(DatapathSpec.DEFAULT.withFlows(1024).withGroups(16).withSubIds(64));
        dp.configure(DatapathConfig.defaults(), PortTable.defaults());
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

    @BeforeEach
    void reset() {
        var groups = dp.fanoutGroups();
        groups.keys().forEach(groups::delete);
    }

    static FanoutSub sub(int id, int port) {
        return new FanoutSub(
                ifindex,
                id,
                new byte[] {2, 0, 0, 0, 1, 1},
                new byte[] {2, 0, 0, 0, 2, 1},
                (Inet4Address) Packets.addr("10.9.0.1"),
                (Inet4Address) Packets.addr("10.9.0.2"),
                port,
                6000 + id,
                0);
    }

    ProgTestRun.Result run(byte[] packet) {
        return ns.call(() -> ProgTestRun.run(dp.progFd(Datapath.PROG_TC), packet));
    }

    static byte[] rtp(String from, int sport, int seq, long ts, long ssrc) {
        return Packets.builder()
                .ip(from, "10.0.0.1")
                .udp(sport, 5004)
                .payload(Packets.rtp(seq, ts, ssrc, 96, false, 200))
                .build();
    }

    static byte[] sr(String from, long ssrc) {
        return Packets.builder()
                .ip(from, "10.0.0.1")
                .udp(40001, 5005)
                .payload(Packets.rtcpSenderReport(ssrc))
                .build();
    }

    record Rtp(int seq, long ts, long ssrc) {}

    static Rtp rtpOf(ProgTestRun.Result r) {
        assertEquals(TC_ACT_REDIRECT, r.retval(), "relayed");
        Frame f = Frame.parse(r.packet());
        assertTrue(f.udpChecksumOk(), "UDP checksum valid after the rewrite");
        ByteBuffer b = ByteBuffer.wrap(f.payload());
        return new Rtp(
                b.getShort(2) & 0xffff, b.getInt(4) & 0xffffffffL, b.getInt(8) & 0xffffffffL);
    }

    void group(int id, FanoutKey key, int flags, String src, int sport, RewriteState rw) {
        dp.fanoutGroups()
                .update(
                        key,
                        new FanoutGroup(
                                id,
                                flags,
                                src == null ? null : (Inet4Address) Packets.addr(src),
                                sport,
                                List.of(sub(id, key.port()))));
        dp.rewrites().update(id, rw);
    }

    @Test
    void aNewSourceContinuesTheStreamAndSenderReportsFollow() throws Exception {
        group(3, RTP, FanoutGroup.F_REWRITE, null, 0, RewriteState.of(3, 0, 90000, null, 0, 0));
        group(4, RTCP, FanoutGroup.F_REWRITE, null, 0, RewriteState.of(3, 0, 0, null, 0, 0));
        for (int i = 0; i < 5; i++) {
            Rtp o = rtpOf(run(rtp(A, 40000, 100 + i, 1000 + 3000L * i, 0xA)));
            assertEquals(new Rtp(100 + i, 1000 + 3000L * i, 0xA), o, "the first source as it is");
        }
        Frame srA = Frame.parse(run(sr(A, 0xA)).packet());
        assertTrue(srA.udpChecksumOk());
        Thread.sleep(100);
        // the publisher returns as another source: SSRC, sequence and time of its own
        long lastTs = 1000 + 3000L * 4;
        Rtp first = rtpOf(run(rtp(B, 41000, 5000, 777777, 0xB)));
        assertEquals(105, first.seq(), "the sequence continues");
        assertEquals(0xA, first.ssrc(), "under the group's SSRC");
        long step = first.ts() - lastTs;
        assertTrue(
                step >= 90 * 90 && step <= 90 * 2000,
                "the timestamp advances by the silence (~100 ms at 90 kHz): " + step);
        for (int i = 1; i < 4; i++) {
            Rtp o = rtpOf(run(rtp(B, 41000, 5000 + i, 777777 + 3000L * i, 0xB)));
            assertEquals(new Rtp(105 + i, first.ts() + 3000L * i, 0xA), o);
        }
        RewriteState st = dp.rewrites().lookup(3).orElseThrow();
        assertEquals(1, st.switches());
        assertEquals(4, st.rewritten());
        // sender reports of the new source follow: its SSRC, its RTP time moved by the same delta
        ProgTestRun.Result r = run(sr(B, 0xB));
        assertEquals(TC_ACT_REDIRECT, r.retval());
        Frame f = Frame.parse(r.packet());
        assertTrue(f.udpChecksumOk(), "UDP checksum of the rewritten SR");
        ByteBuffer b = ByteBuffer.wrap(f.payload());
        assertEquals(0xA, b.getInt(4) & 0xffffffffL, "SR SSRC rewritten");
        assertEquals((1234L + st.tsDelta()) & 0xffffffffL, b.getInt(16) & 0xffffffffL);
        assertEquals(0x1122334455667788L, b.getLong(8), "NTP time untouched");
        assertEquals(TC_ACT_SHOT, run(sr(A, 0xA)).retval(), "the old source's SRs are dropped");
    }

    @Test
    void aPublisherResumingWithItsOwnSsrcContinuesTheStreamWhenResynced() throws Exception {
        group(7, RTP, FanoutGroup.F_REWRITE, null, 0, RewriteState.of(7, 0, 90000, null, 0, 0));
        for (int i = 0; i < 5; i++) {
            assertEquals(
                    new Rtp(100 + i, 1000 + 3000L * i, 0xA),
                    rtpOf(run(rtp(A, 40000, 100 + i, 1000 + 3000L * i, 0xA))));
        }
        Thread.sleep(100);
        // the agent resumes the stream: the publisher comes back with the SSRC it had, but its
        // own new sequence numbers and timestamps
        dp.rewrites().update(7, dp.rewrites().lookup(7).orElseThrow().resynced());
        long lastTs = 1000 + 3000L * 4;
        Rtp first = rtpOf(run(rtp(A, 40002, 20, 5, 0xA)));
        assertEquals(105, first.seq(), "the sequence continues, not 20");
        assertEquals(0xA, first.ssrc());
        long step = first.ts() - lastTs;
        assertTrue(
                step >= 90 * 90 && step <= 90 * 2000,
                "the timestamp advances by the silence (~100 ms at 90 kHz): " + step);
        Rtp next = rtpOf(run(rtp(A, 40002, 21, 3005, 0xA)));
        assertEquals(new Rtp(106, first.ts() + 3000, 0xA), next, "one re-base, then steady");
        RewriteState st = dp.rewrites().lookup(7).orElseThrow();
        assertEquals(1, st.switches());
        assertEquals(0, st.flags() & RewriteState.F_RESYNC, "the kernel cleared the flag");
        assertTrue(st.primed());
    }

    @Test
    void aStandbyWithTheActiveSourcesSsrcIsStillANewSource() throws Exception {
        group(
                8,
                RTP,
                FanoutGroup.F_STRICT | FanoutGroup.F_REWRITE,
                A,
                40000,
                RewriteState.of(8, 0, 90000, (Inet4Address) Packets.addr(B), 40000, 50_000_000L));
        for (int i = 0; i < 3; i++) {
            assertEquals(10 + i, rtpOf(run(rtp(A, 40000, 10 + i, 3000L * i, 0xA))).seq());
        }
        Thread.sleep(100);
        // two encoders configured with one SSRC: the switch re-bases all the same
        Rtp o = rtpOf(run(rtp(B, 40000, 7000, 123456, 0xA)));
        assertEquals(13, o.seq(), "the standby continues the sequence");
        assertEquals(14, rtpOf(run(rtp(B, 40000, 7001, 126456, 0xA))).seq());
        assertEquals(1, dp.rewrites().lookup(8).orElseThrow().switches());
    }

    @Test
    void hotStandbyTakesOverAfterTheActiveSourcesSilence() throws Exception {
        long silenceNs = 200_000_000L;
        group(
                5,
                RTP,
                FanoutGroup.F_STRICT | FanoutGroup.F_REWRITE,
                A,
                40000,
                RewriteState.of(5, 0, 90000, (Inet4Address) Packets.addr(B), 40000, silenceNs));
        int seq = 10;
        for (int i = 0; i < 3; i++) {
            assertEquals(seq + i, rtpOf(run(rtp(A, 40000, seq + i, 3000L * i, 0xA))).seq());
            assertEquals(
                    TC_ACT_SHOT,
                    run(rtp(B, 40000, 900 + i, 50 + 3000L * i, 0xB)).retval(),
                    "the standby is not relayed while the active source is live");
        }
        assertEquals(
                TC_ACT_SHOT,
                run(rtp("10.1.0.7", 40000, 1, 1, 0xC)).retval(),
                "a third source is not admitted");
        long t0 = System.nanoTime();
        Thread.sleep(250); // the active source falls silent
        Rtp o = rtpOf(run(rtp(B, 40000, 903, 50 + 3000L * 3, 0xB)));
        long switchMs = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(13, o.seq(), "the standby continues the sequence");
        assertEquals(0xA, o.ssrc());
        assertEquals(
                TC_ACT_SHOT,
                run(rtp(A, 40000, 13, 9000, 0xA)).retval(),
                "the old active is the standby now");
        RewriteState st = dp.rewrites().lookup(5).orElseThrow();
        assertTrue(st.activeAlt());
        assertEquals(1, st.switches());
        System.out.println("hot standby: first standby packet relayed " + switchMs + " ms after");
    }

    @Test
    void perPacketCost() {
        // addresses and ports of the copy as they arrive: every repeat hits the group again
        FanoutSub same =
                new FanoutSub(
                        ifindex,
                        1,
                        Packets.MAC_B,
                        Packets.MAC_A,
                        (Inet4Address) Packets.addr(A),
                        UPSTREAM,
                        40000,
                        5004,
                        0);
        byte[] p = rtp(A, 40000, 1, 1, 0xA);
        int repeat = 200_000;
        dp.fanoutGroups().update(RTP, new FanoutGroup(6, 0, null, 0, List.of(same)));
        long plain = median(p, repeat);
        dp.fanoutGroups()
                .update(RTP, new FanoutGroup(6, FanoutGroup.F_REWRITE, null, 0, List.of(same)));
        dp.rewrites().update(6, RewriteState.of(6, 0, 90000, null, 0, 0));
        long asIs = median(p, repeat);
        // a switched source: every packet's seq, timestamp and SSRC are written
        dp.rewrites()
                .update(
                        6,
                        new RewriteState(
                                RewriteState.F_PRIMED,
                                6,
                                0xA,
                                0xA,
                                90000,
                                7,
                                0,
                                11,
                                0,
                                0,
                                0,
                                0,
                                0,
                                null,
                                0,
                                false,
                                0,
                                0));
        long written = median(p, repeat);
        System.out.printf(
                "per-packet cost (1 subscriber): plain %d ns, F_REWRITE first source %d ns (+%d),"
                        + " rewritten %d ns (+%d)%n",
                plain, asIs, asIs - plain, written, written - plain);
        assertTrue(dp.rewrites().lookup(6).orElseThrow().rewritten() > 0, "the write path ran");
    }

    long median(byte[] p, int repeat) {
        long[] x = new long[5];
        for (int i = 0; i < x.length; i++) {
            x[i] =
                    ns.call(() -> ProgTestRun.run(dp.progFd(Datapath.PROG_TC), p, repeat))
                            .durationNs();
        }
        Arrays.sort(x);
        return x[2];
    }
}
