package io.msm.bench.fanout;

/**
 * The log-linear nanosecond histogram msm_bench_sink keeps (msm_bench.h): exact below 16 ns, then
 * 16 buckets per power of two, so a percentile is known to within 6 %. Bucket arithmetic here must
 * match msm_bucket() in msm_testkit.bpf.c.
 */
public final class Histogram {
    public static final int SUB_BITS = 4;
    public static final int SUB = 1 << SUB_BITS;
    public static final int BUCKETS = 1024;

    private final long[] counts;

    public Histogram(long[] counts) {
        if (counts.length != BUCKETS) {
            throw new IllegalArgumentException(
                    "expected " + BUCKETS + " buckets, got " + counts.length);
        }
        this.counts = counts;
    }

    public static Histogram empty() {
        return new Histogram(new long[BUCKETS]);
    }

    /** The bucket the sink puts ns into. */
    public static int bucket(long ns) {
        if (ns < SUB) {
            return (int) Math.max(0, ns);
        }
        int msb = 63 - Long.numberOfLeadingZeros(ns);
        int sub = (int) ((ns >>> (msb - SUB_BITS)) & (SUB - 1));
        int idx = (msb - SUB_BITS + 1) * SUB + sub;
        return Math.min(idx, BUCKETS - 1);
    }

    /** Smallest ns value that falls into bucket idx. */
    public static long lowerBound(int idx) {
        if (idx < SUB) {
            return idx;
        }
        int msb = idx / SUB + SUB_BITS - 1;
        int sub = idx % SUB;
        return (long) (SUB + sub) << (msb - SUB_BITS);
    }

    public long count() {
        long n = 0;
        for (long c : counts) {
            n += c;
        }
        return n;
    }

    /** this - earlier, bucket by bucket (counters only grow). */
    public Histogram minus(Histogram earlier) {
        long[] d = new long[BUCKETS];
        for (int i = 0; i < BUCKETS; i++) {
            d[i] = counts[i] - earlier.counts[i];
        }
        return new Histogram(d);
    }

    public Histogram plus(Histogram other) {
        long[] d = new long[BUCKETS];
        for (int i = 0; i < BUCKETS; i++) {
            d[i] = counts[i] + other.counts[i];
        }
        return new Histogram(d);
    }

    /** The q-quantile (0..1) in ns: the middle of the bucket holding it; NaN when empty. */
    public double quantile(double q) {
        long total = count();
        if (total == 0) {
            return Double.NaN;
        }
        long rank = (long) Math.ceil(q * total);
        rank = Math.max(1, Math.min(total, rank));
        long seen = 0;
        for (int i = 0; i < BUCKETS; i++) {
            seen += counts[i];
            if (seen >= rank) {
                long lo = lowerBound(i);
                long hi = i + 1 < BUCKETS ? lowerBound(i + 1) : lo;
                return i < SUB ? lo : (lo + hi) / 2.0;
            }
        }
        return Double.NaN;
    }

    /** The largest value seen (middle of the highest non-empty bucket); NaN when empty. */
    public double max() {
        for (int i = BUCKETS - 1; i >= 0; i--) {
            if (counts[i] != 0) {
                return quantile(1.0);
            }
        }
        return Double.NaN;
    }
}
