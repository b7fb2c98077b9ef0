package io.msm.agent.auth;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.net.InetAddress;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Failed logins per source address: after {@code maxFailures} within {@code window} a source is
 * locked out for {@code lockout} (its requests are refused before any check, so guessing passwords
 * costs the guesser time and msm nothing). A success clears the source's count. At most {@code
 * capacity} sources are tracked; beyond that the oldest entry goes, so a spray from many addresses
 * cannot grow the table.
 */
public final class SourceFailures {
    private static final class Entry {
        int failures;
        long windowStart;
        long lockedUntil;
    }

    private final int maxFailures;
    private final long windowNanos;
    private final long lockoutNanos;
    private final int capacity;
    private final LongSupplier nanos;

    @GuardedBy("this")
    private final LinkedHashMap<InetAddress, Entry> sources = new LinkedHashMap<>(16, 0.75f, true);

    public SourceFailures(
            int maxFailures, Duration window, Duration lockout, int capacity, LongSupplier nanos) {
        this.maxFailures = maxFailures;
        this.windowNanos = window.toNanos();
        this.lockoutNanos = lockout.toNanos();
        this.capacity = capacity;
        this.nanos = nanos;
    }

    /** Whether the source is locked out now. */
    public synchronized boolean locked(InetAddress source) {
        Entry e = sources.get(source);
        return e != null && e.lockedUntil - nanos.getAsLong() > 0;
    }

    /** Counts a failure; true when this failure locked the source out. */
    public synchronized boolean failed(InetAddress source) {
        long now = nanos.getAsLong();
        Entry e = sources.get(source);
        if (e == null) {
            if (sources.size() >= capacity) {
                Iterator<Map.Entry<InetAddress, Entry>> it = sources.entrySet().iterator();
                it.next();
                it.remove();
            }
            e = new Entry();
            e.windowStart = now;
            sources.put(source, e);
        }
        if (now - e.windowStart > windowNanos) {
            e.windowStart = now;
            e.failures = 0;
        }
        e.failures++;
        if (e.failures >= maxFailures && e.lockedUntil - now <= 0) {
            e.lockedUntil = now + lockoutNanos;
            e.failures = 0;
            e.windowStart = now;
            return true;
        }
        return false;
    }

    public synchronized void succeeded(InetAddress source) {
        Entry e = sources.get(source);
        if (e != null && e.lockedUntil - nanos.getAsLong() <= 0) {
            sources.remove(source);
        }
    }

    public synchronized int tracked() {
        return sources.size();
    }
}
