package io.msm.testkit;

import java.util.concurrent.ThreadLocalRandom;

/** Short unique names for namespaces, links and pin directories, so parallel runs never collide. */
public final class Names {
    private Names() {}

    /** "msm" + 5 random base-36 chars: a run id that fits interface names. */
    public static String runId() {
        String s = Long.toString(ThreadLocalRandom.current().nextLong(36L * 36 * 36 * 36 * 36), 36);
        return "m" + "0".repeat(5 - s.length()) + s;
    }
}
