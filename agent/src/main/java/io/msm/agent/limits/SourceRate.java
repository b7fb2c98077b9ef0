package io.msm.agent.limits;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * A token bucket per source ({@code perSecond}, bursts of {@code burst}). At most {@code capacity}
 * sources are tracked; the least recently seen goes first, which at worst hands an evicted source a
 * full bucket again — bounded memory is the point.
 */
public final class SourceRate {
    private static final class Bucket {
        double tokens;
        long last;
    }

    private final double perSecond;
    private final double burst;
    private final int capacity;
    private final LongSupplier nanos;

    @GuardedBy("this")
    private final LinkedHashMap<SourceKey, Bucket> buckets = new LinkedHashMap<>(16, 0.75f, true);

    public SourceRate(double perSecond, double burst, int capacity, LongSupplier nanos) {
        if (perSecond <= 0 || burst < 1 || capacity < 1) {
            throw new IllegalArgumentException(
                    "rate > 0, burst >= 1 and capacity >= 1 are required");
        }
        this.perSecond = perSecond;
        this.burst = burst;
        this.capacity = capacity;
        this.nanos = nanos;
    }

    /** Takes one token for the source; false when its bucket is empty. */
    public synchronized boolean tryAcquire(SourceKey source) {
        long now = nanos.getAsLong();
        Bucket b = buckets.get(source);
        if (b == null) {
            if (buckets.size() >= capacity) {
                Iterator<Map.Entry<SourceKey, Bucket>> it = buckets.entrySet().iterator();
                it.next();
                it.remove();
            }
            b = new Bucket();
            b.tokens = burst;
            b.last = now;
            buckets.put(source, b);
        }
        b.tokens = Math.min(burst, b.tokens + (now - b.last) / 1e9 * perSecond);
        b.last = now;
        if (b.tokens >= 1) {
            b.tokens -= 1;
            return true;
        }
        return false;
    }

    public synchronized int tracked() {
        return buckets.size();
    }
}
