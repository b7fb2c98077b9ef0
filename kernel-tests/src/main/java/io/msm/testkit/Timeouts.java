package io.msm.testkit;

/**
 * Test time limits, stretched where the machine is slow: under TCG (the VM
 * runner) a JVM starts several times slower. -Dmsm.test.timeScale=N
 * multiplies every limit that goes through here (default 1).
 */
public final class Timeouts {
    private static final double SCALE = Double.parseDouble(System.getProperty("msm.test.timeScale", "1"));

    private Timeouts() {
    }

    public static long ms(long ms) {
        return (long) (ms * SCALE);
    }
}
