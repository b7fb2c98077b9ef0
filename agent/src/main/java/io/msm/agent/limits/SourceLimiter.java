package io.msm.agent.limits;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.HashMap;
import java.util.Map;

/**
 * Concurrent holdings (connections, sessions, calls) per source and in total. A holding is a {@link
 * Lease}, given back exactly once by {@link Lease#close()}. The table holds at most {@code total}
 * sources, so it is bounded by the limit itself.
 */
public final class SourceLimiter {
    /** What a refused acquire ran into. */
    public enum Limit {
        PER_SOURCE,
        TOTAL
    }

    /** A holding; closing it twice gives back once. */
    public final class Lease implements AutoCloseable {
        private final SourceKey source;
        private boolean closed;

        private Lease(SourceKey source) {
            this.source = source;
        }

        public SourceKey source() {
            return source;
        }

        @Override
        public void close() {
            synchronized (SourceLimiter.this) {
                if (closed) {
                    return;
                }
                closed = true;
                total--;
                int n = held.merge(source, -1, Integer::sum);
                if (n <= 0) {
                    held.remove(source);
                }
            }
        }
    }

    /** A lease, or the limit that refused it. */
    public record Admission(Lease lease, Limit refusedBy) {
        public boolean admitted() {
            return lease != null;
        }
    }

    private final int perSource;
    private final int max;

    @GuardedBy("this")
    private final Map<SourceKey, Integer> held = new HashMap<>();

    @GuardedBy("this")
    private int total;

    public SourceLimiter(int perSource, int total) {
        if (perSource < 1 || total < 1) {
            throw new IllegalArgumentException("limits must be at least 1");
        }
        this.perSource = perSource;
        this.max = total;
    }

    public synchronized Admission acquire(SourceKey source) {
        if (total >= max) {
            return new Admission(null, Limit.TOTAL);
        }
        int n = held.getOrDefault(source, 0);
        if (n >= perSource) {
            return new Admission(null, Limit.PER_SOURCE);
        }
        held.put(source, n + 1);
        total++;
        return new Admission(new Lease(source), null);
    }

    public synchronized int held(SourceKey source) {
        return held.getOrDefault(source, 0);
    }

    public synchronized int total() {
        return total;
    }

    public int perSourceLimit() {
        return perSource;
    }

    public int totalLimit() {
        return max;
    }
}
