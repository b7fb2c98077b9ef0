package io.msm.testkit;

import java.util.function.BooleanSupplier;

/**
 * Test time limits, stretched where the machine is slow: under TCG (the VM runner) a JVM starts
 * several times slower. -Dmsm.test.timeScale=N multiplies every limit that goes through here
 * (default 1).
 */
public final class Timeouts {
    private static final double SCALE =
            Double.parseDouble(System.getProperty("msm.test.timeScale", "1"));

    private Timeouts() {}

    public static long ms(long ms) {
        return (long) (ms * SCALE);
    }

    /**
     * Poll cond every 20 ms until it holds; fail after ms (scaled) naming what was awaited. Returns
     * how long it took, in ms.
     */
    public static long waitFor(BooleanSupplier cond, long ms, String what)
            throws InterruptedException {
        long t0 = System.nanoTime();
        long end = t0 + ms(ms) * 1_000_000;
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out after " + ms(ms) + " ms waiting for " + what);
            }
            Thread.sleep(20);
        }
        return (System.nanoTime() - t0) / 1_000_000;
    }
}
