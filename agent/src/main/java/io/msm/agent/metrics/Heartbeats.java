package io.msm.agent.metrics;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Whether the threads that answer clients still run: every {@link #PERIOD_MILLIS} a tiny task is
 * handed to each watched executor (a proxy's event loops, the SIP media thread); one that has not
 * run its task for longer than the stall timeout is stalled, and {@code /readyz} says so instead of
 * answering 200 for an agent that no longer serves.
 */
public final class Heartbeats implements AutoCloseable {
    static final long PERIOD_MILLIS = 250;

    private static final class Watched {
        final String name;
        final Executor executor;
        volatile long lastBeat;
        volatile boolean pending;

        Watched(String name, Executor executor, long now) {
            this.name = name;
            this.executor = executor;
            this.lastBeat = now;
        }
    }

    private final long stallNanos;
    private final LongSupplier nanos;
    private final List<Watched> watched = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService ticker =
            Executors.newSingleThreadScheduledExecutor(
                    r -> {
                        Thread t = new Thread(r, "msm-heartbeats");
                        t.setDaemon(true);
                        return t;
                    });

    public Heartbeats(Duration stallTimeout) {
        this(stallTimeout, System::nanoTime);
    }

    Heartbeats(Duration stallTimeout, LongSupplier nanos) {
        this.stallNanos = stallTimeout.toNanos();
        this.nanos = nanos;
        ticker.scheduleWithFixedDelay(
                this::beat, PERIOD_MILLIS, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Watches one executor (an event loop of a group: add each, see {@code Service.loops()}). */
    public void watch(String name, Executor executor) {
        watched.add(new Watched(name, executor, nanos.getAsLong()));
    }

    private void beat() {
        for (Watched w : watched) {
            if (w.pending) {
                continue;
            }
            w.pending = true;
            try {
                w.executor.execute(
                        () -> {
                            w.lastBeat = nanos.getAsLong();
                            w.pending = false;
                        });
            } catch (RejectedExecutionException e) {
                watched.remove(w); // shut down: nothing left to watch
            }
        }
    }

    /** The stalled executors with how long, e.g. "msm-rtsp-1 (7.2 s)"; empty when all run. */
    public List<String> stalled() {
        long now = nanos.getAsLong();
        List<String> out = new ArrayList<>();
        for (Watched w : watched) {
            long since = now - w.lastBeat;
            if (w.pending && since > stallNanos) {
                out.add(w.name + " (" + String.format(Locale.ROOT, "%.1f s", since / 1e9) + ")");
            }
        }
        return out;
    }

    @Override
    public void close() {
        ticker.shutdownNow();
    }
}
