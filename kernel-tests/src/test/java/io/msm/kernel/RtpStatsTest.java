package io.msm.kernel;

import static io.msm.testkit.Packets.addr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.Flow;
import io.msm.bpf.maps.FlowKey;
import io.msm.bpf.maps.PortTable;
import io.msm.bpf.maps.RtpStats;
import io.msm.bpf.rtp.RtpReceiverStats;
import io.msm.bpf.testrun.ProgTestRun;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Packets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * RFC 3550 receiver statistics kept by the kernel, packet by packet against the plain-Java
 * reference (io.msm.bpf.rtp.RtpReceiverStats): sequence wrap, loss, reordering, duplicates, SSRC
 * change, and A.8 jitter with the same arrival times the kernel saw.
 */
@KernelTest
class RtpStatsTest {
    static Datapath dp;
    static final FlowKey KEY = FlowKey.udp(addr("10.1.0.1"), 5004, addr("10.2.0.2"), 6004);

    @BeforeAll
    static void load() {
        dp = Datapath.load(DatapathSpec.DEFAULT.withFlows(1024));
        dp.configure(DatapathConfig.defaults().withClockRate(97, 48000), PortTable.defaults());
    }

    @AfterAll
    static void close() {
        if (dp != null) {
            dp.close();
        }
    }

    @BeforeEach
    void clear() {
        var flows = dp.flows();
        flows.keys().forEach(flows::delete);
    }

    /** Send one RTP packet; returns the flow as the kernel left it. */
    static Flow send(int seq, long ts, long ssrc, int pt) {
        byte[] p =
                Packets.builder()
                        .ip("10.1.0.1", "10.2.0.2")
                        .udp(5004, 6004)
                        .payload(Packets.rtp(seq & 0xffff, ts, ssrc, pt, false, 20))
                        .build();
        ProgTestRun.run(dp.progFd(Datapath.PROG_TC), p);
        return dp.flows().lookup(KEY).orElseThrow();
    }

    /** Replay seqs through kernel and reference; compare after every packet. */
    static RtpStats replay(int[] seqs, long[] timestamps, long ssrc, int pt) {
        RtpReceiverStats ref =
                new RtpReceiverStats(
                        p -> DatapathConfig.defaults().withClockRate(97, 48000).clockRates()[p]);
        Flow f = null;
        for (int i = 0; i < seqs.length; i++) {
            f = send(seqs[i], timestamps[i], ssrc, pt);
            ref.onPacket(ssrc, seqs[i] & 0xffff, timestamps[i], pt, f.lastNs() - f.firstNs());
            RtpStats k = f.rtp();
            String at = "after packet " + i + " (seq " + (seqs[i] & 0xffff) + ")";
            assertEquals(ref.maxSeq(), k.maxSeq(), "max_seq " + at);
            assertEquals(ref.cycles(), k.cycles(), "cycles " + at);
            assertEquals(ref.baseSeq(), k.baseSeq(), "base_seq " + at);
            assertEquals(ref.received(), k.received(), "received " + at);
            assertEquals(ref.late(), k.late(), "late " + at);
            assertEquals(ref.probation(), k.probation(), "probation " + at);
            assertEquals(ref.transit(), k.transit(), "transit " + at);
            assertEquals(ref.jitterScaled(), k.jitter(), "jitter " + at);
            assertEquals(ref.lost(), k.lost(), "lost " + at);
        }
        return f.rtp();
    }

    static long[] ts(int n, long step) {
        long[] t = new long[n];
        for (int i = 0; i < n; i++) {
            t[i] = 1000 + i * step;
        }
        return t;
    }

    @Test
    void inOrderStreamHasNoLoss() {
        int n = 50;
        int[] seqs = new int[n];
        for (int i = 0; i < n; i++) {
            seqs[i] = 100 + i;
        }
        RtpStats s = replay(seqs, ts(n, 3000), 0x11223344L, 96);
        assertEquals(0x11223344L, s.ssrc());
        assertEquals(96, s.pt());
        assertEquals(0, s.lost());
        // the first packet is probation (RFC 3550 A.1, MIN_SEQUENTIAL = 2): base is the second
        assertEquals(101, s.baseSeq());
        assertEquals(n - 1, s.received());
        assertEquals(100 + n - 1, s.extendedHighestSeq());
        assertEquals(90000, s.clockRate(), "dynamic payload types default to 90 kHz");
    }

    @Test
    void gapsCountAsLost() {
        List<Integer> seq = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            if (i % 10 != 7) {
                seq.add(1000 + i); // drop every 10th (after the start)
            }
        }
        int[] seqs = seq.stream().mapToInt(Integer::intValue).toArray();
        RtpStats s = replay(seqs, ts(seqs.length, 3000), 7, 96);
        assertEquals(10, s.lost(), "10 packets missing from the middle");
    }

    @Test
    void sequenceWrapExtendsTheHighestSequence() {
        int n = 40;
        int[] seqs = new int[n];
        for (int i = 0; i < n; i++) {
            seqs[i] = (65520 + i) & 0xffff;
        }
        RtpStats s = replay(seqs, ts(n, 160), 9, 0);
        assertEquals(65536, s.cycles(), "one wrap");
        assertEquals(65536 + ((65520 + n - 1) & 0xffff), s.extendedHighestSeq());
        assertEquals(0, s.lost());
        assertEquals(8000, s.clockRate(), "PCMU is 8 kHz");
    }

    @Test
    void reorderedAndDuplicatePacketsAreLateNotLost() {
        int[] seqs = {10, 11, 12, 14, 13, 15, 16, 16, 17, 20, 18, 19, 21};
        RtpStats s = replay(seqs, ts(seqs.length, 3000), 5, 97);
        assertEquals(s.expected() - s.received(), s.lost());
        // 13, 18 and 19 arrive after a higher number; the second 16 repeats the
        // highest so far, which A.1 treats as in order (udelta 0)
        assertEquals(3, s.late(), "13, 18, 19 arrived late");
        assertEquals(
                -1, s.lost(), "a duplicate makes the cumulative loss negative, as RFC 3550 says");
        assertEquals(48000, s.clockRate(), "configured clock rate for PT 97");
    }

    @Test
    void largeJumpRestartsAfterTwoSequentialPackets() {
        int[] seqs = {1, 2, 3, 4, 30000, 30001, 30002, 30003};
        RtpStats s = replay(seqs, ts(seqs.length, 3000), 5, 96);
        assertEquals(
                30001,
                s.baseSeq(),
                "re-initialised at the second sequential packet after the jump");
        assertEquals(0, s.lost());
    }

    @Test
    void newSsrcStartsOver() {
        replay(new int[] {1, 2, 3, 4, 5}, ts(5, 3000), 1, 96);
        Flow f = send(500, 1, 2, 96);
        assertEquals(2, f.rtp().ssrc());
        assertEquals(0, f.rtp().received(), "probation again for the new source");
    }

    @Test
    void jitterMatchesTheReferenceOnARandomisedStream() {
        Random r = new Random(42);
        int n = 300;
        int[] seqs = new int[n];
        long[] ts = new long[n];
        int seq = 5000;
        long t = 90000;
        for (int i = 0; i < n; i++) {
            seq += r.nextInt(20) == 0 ? 2 : 1; // some loss
            t += 3000 + r.nextInt(600) - 300; // timestamps that wobble
            seqs[i] = seq;
            ts[i] = t;
        }
        RtpStats s = replay(seqs, ts, 77, 96);
        assertTrue(s.jitter() > 0, "a wobbling stream has jitter");
        assertTrue(s.lost() > 0);
        assertTrue(s.jitterMs() > 0 && s.jitterMs() < 10_000);
    }
}
