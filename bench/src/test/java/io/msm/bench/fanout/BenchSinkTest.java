package io.msm.bench.fanout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.testkit.KernelTest;
import io.msm.testkit.Packets;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * msm_bench_sink on crafted packets (BPF_PROG_TEST_RUN): counts per receiver, late and duplicate
 * sequence numbers, latency from the stamp, the first-to-last-copy spread, and other packets passed
 * on untouched.
 */
@KernelTest
class BenchSinkTest {
    static final int TC_ACT_OK = 0;
    static final int TC_ACT_SHOT = 2;
    static BenchSink sink;

    @BeforeAll
    static void load() {
        sink = BenchSink.load();
    }

    @AfterAll
    static void close() {
        sink.close();
    }

    /** A benchmark packet as rtpsend builds it (RTP header, stamp, filler) to receiver i. */
    static byte[] packet(int receiver, int seq, long sentNs) {
        byte[] rtp = Packets.rtp(seq, 0, 0x6d736d62, 96, false, 1188);
        ByteBuffer b = ByteBuffer.wrap(rtp).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(12, sentNs);
        b.putInt(20, 0x424d534d);
        return Packets.builder()
                .ip(Topology.NODE_ADDR, Topology.receiverAddr(receiver))
                .udp(5004, 6000)
                .payload(rtp)
                .build();
    }

    int run(byte[] p) {
        return sink.testRun(p);
    }

    @Test
    void countsSequenceLatencyAndSpread() {
        sink.expectCopies(2);
        BenchSink.Snapshot before = sink.snapshot();
        long t = System.nanoTime();
        // receiver 0: 1, 2, 4, 3 (late), 4 (duplicate); receiver 1: 1, 2 — the copies of 1 and 2
        // complete
        long[] sent = {t - 2_000_000, t - 1_000_000, t - 500_000, t - 400_000};
        assertEquals(TC_ACT_SHOT, run(packet(0, 1, sent[0])));
        assertEquals(TC_ACT_SHOT, run(packet(0, 2, sent[1])));
        assertEquals(TC_ACT_SHOT, run(packet(0, 4, sent[3])));
        assertEquals(TC_ACT_SHOT, run(packet(0, 3, sent[2])));
        assertEquals(TC_ACT_SHOT, run(packet(0, 4, sent[3])));
        assertEquals(TC_ACT_SHOT, run(packet(1, 1, sent[0])));
        assertEquals(TC_ACT_SHOT, run(packet(1, 2, sent[1])));
        BenchSink.Snapshot after = sink.snapshot();

        long[] d = after.deltas(before, 2);
        assertEquals(7, d[0], "copies");
        assertEquals(1, d[1], "late (reordered) copies");
        assertEquals(1, d[2], "duplicates");
        long[] per = after.perReceiver(before, 2);
        assertEquals(5, per[0]);
        assertEquals(2, per[1]);
        Histogram lat = after.latency().minus(before.latency());
        assertEquals(7, lat.count());
        double now = System.nanoTime() - t;
        assertTrue(lat.quantile(0.0) >= 400_000 * 0.93, "smallest latency " + lat.quantile(0.0));
        assertTrue(
                lat.quantile(1.0) <= (2_000_000 + now) * 1.07,
                "largest latency " + lat.quantile(1.0));
        Histogram spread = after.spread().minus(before.spread());
        assertEquals(2, spread.count(), "packets 1 and 2 reached both receivers");
        assertTrue(spread.quantile(1.0) < 1e9, "spread " + spread.quantile(1.0));
    }

    @Test
    void aReceiverSilentForASecondStartsItsSequenceAfresh() {
        sink.expectCopies(1);
        long t = System.nanoTime();
        // receiver 7 last heard sequence 20000 long ago; the sender has wrapped to 100 meanwhile,
        // which
        // without the resync would count as behind 20000 (late)
        run(packet(7, 20000, t - 3_000_000_000L));
        BenchSink.Snapshot before = sink.snapshot();
        run(packet(7, 100, t));
        run(packet(7, 101, t + 1000));
        run(packet(7, 99, t + 2000));
        long[] d = sink.snapshot().deltas(before, 8);
        assertEquals(3, d[0]);
        assertEquals(1, d[1], "only 99 after 101 is late, not the fresh start");
    }

    @Test
    void otherPacketsGoOnUntouched() {
        BenchSink.Snapshot before = sink.snapshot();
        byte[] plainRtp =
                Packets.builder()
                        .ip("10.1.0.1", "10.2.0.2")
                        .udp(5004, 6000)
                        .payload(Packets.rtp(1, 0, 1, 96, false, 100))
                        .build();
        assertEquals(TC_ACT_OK, run(plainRtp), "RTP without the bench stamp");
        assertEquals(
                TC_ACT_OK,
                run(Packets.builder().etherType(Packets.ETH_P_ARP).payload(new byte[28]).build()));
        assertEquals(TC_ACT_OK, run(new byte[20]), "a runt");
        assertEquals(0, sink.snapshot().deltas(before, 4096)[0]);
    }
}
