package io.msm.bench.fanout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HistogramTest {
    @Test
    void everyValueFallsInTheBucketWhoseBoundsHoldIt() {
        long[] samples = {
            0,
            1,
            15,
            16,
            17,
            31,
            32,
            33,
            100,
            999,
            1000,
            1023,
            1024,
            65_535,
            1_000_000,
            123_456_789,
            10_000_000_000L
        };
        for (long v : samples) {
            int b = Histogram.bucket(v);
            assertTrue(Histogram.lowerBound(b) <= v, v + " below its bucket " + b);
            assertTrue(v < Histogram.lowerBound(b + 1), v + " above its bucket " + b);
        }
    }

    @Test
    void bucketsAreContiguousAndWithinSixPercent() {
        for (int i = 1; i < 600; i++) {
            long lo = Histogram.lowerBound(i);
            assertTrue(lo > Histogram.lowerBound(i - 1), "bucket " + i + " does not grow");
            assertEquals(i, Histogram.bucket(lo));
            assertEquals(i - 1, Histogram.bucket(lo - 1));
            if (i >= Histogram.SUB) {
                double width = Histogram.lowerBound(i + 1) - lo;
                assertTrue(
                        width / lo <= 1.0 / Histogram.SUB + 1e-9,
                        "bucket " + i + " is " + width / lo + " wide");
            }
        }
    }

    @Test
    void quantilesOfAKnownDistribution() {
        long[] c = new long[Histogram.BUCKETS];
        // 990 samples at 10 µs, 9 at 100 µs, 1 at 5 ms
        c[Histogram.bucket(10_000)] = 990;
        c[Histogram.bucket(100_000)] = 9;
        c[Histogram.bucket(5_000_000)] = 1;
        Histogram h = new Histogram(c);
        assertEquals(1000, h.count());
        assertEquals(10_000, h.quantile(0.5), 10_000 * 0.07);
        assertEquals(10_000, h.quantile(0.99), 10_000 * 0.07);
        assertEquals(100_000, h.quantile(0.995), 100_000 * 0.07);
        assertEquals(5_000_000, h.quantile(0.9999), 5_000_000 * 0.07);
        assertEquals(5_000_000, h.max(), 5_000_000 * 0.07);
        assertTrue(Double.isNaN(Histogram.empty().quantile(0.5)));
        assertEquals(0, h.minus(h).count());
    }
}
