package io.msm.bpf.rtp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The Java reference on its own (the kernel is compared with it in kernel-tests). */
class RtpReceiverStatsTest {
    static RtpReceiverStats stats() {
        return new RtpReceiverStats(pt -> pt >= 96 ? 90000 : 8000);
    }

    @Test
    void steadyStreamHasNoLossAndNoJitter() {
        RtpReceiverStats s = stats();
        for (int i = 0; i < 100; i++) {
            // 30 fps at 90 kHz, arriving exactly every 1/30 s
            s.onPacket(1, i, i * 3000L, 96, i * 33_333_333L + (i / 3));
        }
        assertEquals(0, s.lost());
        assertEquals(99, s.received(), "the first packet is on probation");
        assertTrue(s.jitterMs() < 0.05, "no jitter on a steady stream: " + s.jitterMs());
    }

    @Test
    void constantDelayVariationConvergesToTheRfcValue() {
        RtpReceiverStats s = stats();
        // alternate arrivals 10 ms early and late: |D| = 20 ms every packet; J converges to 20 ms
        for (int i = 0; i < 500; i++) {
            long arrival = i * 100_000_000L + (i % 2 == 0 ? 0 : 20_000_000L);
            s.onPacket(1, i, i * 9000L, 96, arrival);
        }
        assertEquals(20.0, s.jitterMs(), 0.2);
    }

    @Test
    void wrapAndLoss() {
        RtpReceiverStats s = stats();
        int seq = 65530;
        for (int i = 0; i < 20; i++) {
            if (i != 10) {
                s.onPacket(5, (seq + i) & 0xffff, i * 160L, 0, i * 20_000_000L);
            }
        }
        assertEquals(65536, s.cycles());
        assertEquals(1, s.lost());
        assertEquals(8000, s.clockRate());
    }
}
