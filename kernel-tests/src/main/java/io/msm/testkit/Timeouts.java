package io.msm.testkit;

import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Test time limits, stretched where the machine is slow: under TCG (the VM runner,
 * kernel-tests/vm/run.sh) a JVM starts several times slower and real-time media tools fall behind.
 * -Dmsm.test.timeScale=N (or the environment's MSM_TIME_SCALE) multiplies every limit that goes
 * through here (default 1: the host's limits are the ones written in the tests). Only how long a
 * test waits is scaled, never what it asserts.
 */
public final class Timeouts {
    private static final double SCALE =
            Double.parseDouble(
                    System.getProperty(
                            "msm.test.timeScale",
                            System.getenv().getOrDefault("MSM_TIME_SCALE", "1")));

    private Timeouts() {}

    /** The factor (1 on the host). */
    public static double scale() {
        return SCALE;
    }

    public static long ms(long ms) {
        return (long) (ms * SCALE);
    }

    /** ms, scaled, as a duration for an agent's configuration ("12000ms"). */
    public static String config(long ms) {
        return ms(ms) + "ms";
    }

    /**
     * Sleep ms, scaled (for a pause that waits for something to happen, not one that measures a
     * rate).
     */
    public static void sleep(long ms) throws InterruptedException {
        Thread.sleep(ms(ms));
    }

    /**
     * A line for the test output saying what was stretched, when anything was (empty on the host).
     */
    public static String note(String what) {
        return SCALE == 1
                ? ""
                : "time scale "
                        + SCALE
                        + " (MSM_TIME_SCALE): "
                        + what
                        + " stretched "
                        + SCALE
                        + "x";
    }

    /**
     * Poll cond every 20 ms until it holds; fail after ms (scaled) naming what was awaited. Returns
     * how long it took, in ms.
     */
    public static long waitFor(BooleanSupplier cond, long ms, String what)
            throws InterruptedException {
        return waitFor(cond, ms, what, 20, () -> "");
    }

    /**
     * Poll cond every pollMs until it holds; fail after ms (scaled) naming what was awaited,
     * followed by what {@code diagnostics} says then (logs, counters). Returns how long it took, in
     * ms.
     */
    public static long waitFor(
            BooleanSupplier cond, long ms, String what, long pollMs, Supplier<String> diagnostics)
            throws InterruptedException {
        long t0 = System.nanoTime();
        long end = t0 + ms(ms) * 1_000_000;
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError(
                        "timed out after "
                                + ms(ms)
                                + " ms waiting for "
                                + what
                                + diagnostics.get());
            }
            Thread.sleep(pollMs);
        }
        return (System.nanoTime() - t0) / 1_000_000;
    }
}
