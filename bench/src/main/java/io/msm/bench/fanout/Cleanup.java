package io.msm.bench.fanout;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Undo actions run in reverse order exactly once: at the end of the run, or from the JVM's shutdown
 * hook when the run is stopped (timeout's SIGTERM, Ctrl-C), so namespaces, pinned maps, processes
 * and sysctls never outlive the benchmark.
 */
public final class Cleanup implements AutoCloseable {
    public interface Action {
        void run() throws Exception;
    }

    private final Deque<Runnable> actions = new ArrayDeque<>();
    private final Thread hook = new Thread(this::runAll, "bench-cleanup");

    public Cleanup() {
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Register an undo action; returns a handle that runs it early (and only once). */
    public synchronized Runnable push(String what, Action a) {
        boolean[] done = {false};
        Runnable r =
                () -> {
                    synchronized (done) {
                        if (done[0]) {
                            return;
                        }
                        done[0] = true;
                    }
                    try {
                        a.run();
                    } catch (Exception e) {
                        System.err.println(
                                "bench: cleanup of " + what + " failed: " + e.getMessage());
                    }
                };
        actions.push(r);
        return r;
    }

    private void runAll() {
        while (true) {
            Runnable r;
            synchronized (this) {
                r = actions.poll();
            }
            if (r == null) {
                return;
            }
            r.run();
        }
    }

    @Override
    public void close() {
        runAll();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException ignored) {
            // already shutting down
        }
    }
}
