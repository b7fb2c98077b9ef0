package io.msm.bench.fanout;

import java.util.List;

/**
 * How much to measure. Every duration is bounded; {@link #timeLimitSeconds} caps the whole fan-out
 * part (what does not fit is reported as skipped).
 *
 * @param ns group sizes
 * @param views where copies are counted
 * @param warmSeconds traffic before the search (JIT, caches)
 * @param trialSeconds one step of the loss-free search
 * @param measureSeconds the recorded runs at the loss-free rate and at half of it
 * @param searchSteps trials of the loss-free search at most
 * @param drainMs wait after the sender stops before reading counters
 * @param profile also profile each system once at saturation (perf, bpf_stats)
 */
record Plan(
        String mode,
        List<Integer> ns,
        List<View> views,
        double warmSeconds,
        double trialSeconds,
        double measureSeconds,
        int searchSteps,
        long drainMs,
        long timeLimitSeconds,
        boolean profile) {

    static Plan full() {
        return new Plan(
                "full",
                List.of(1, 8, 64, 256, 1024),
                List.of(View.RX, View.TX),
                1.0,
                1.0,
                2.0,
                8,
                150,
                16 * 60,
                true);
    }

    static Plan quick() {
        return new Plan(
                "quick",
                List.of(8, 64),
                List.of(View.RX, View.TX),
                0.5,
                0.4,
                0.6,
                5,
                100,
                100,
                false);
    }

    /**
     * The harness works (for make test): one N, one view, one step; checks plumbing, not numbers.
     */
    static Plan smoke() {
        return new Plan("smoke", List.of(8), List.of(View.RX), 0.3, 0.3, 0.3, 2, 100, 45, false);
    }

    static Plan named(String mode) {
        return switch (mode) {
            case "full" -> full();
            case "quick" -> quick();
            case "smoke" -> smoke();
            default ->
                    throw new IllegalArgumentException(
                            "unknown mode '" + mode + "' (full, quick, smoke)");
        };
    }

    Plan withNs(List<Integer> n) {
        return new Plan(
                mode,
                n,
                views,
                warmSeconds,
                trialSeconds,
                measureSeconds,
                searchSteps,
                drainMs,
                timeLimitSeconds,
                profile);
    }

    Plan withProfile(boolean on) {
        return new Plan(
                mode,
                ns,
                views,
                warmSeconds,
                trialSeconds,
                measureSeconds,
                searchSteps,
                drainMs,
                timeLimitSeconds,
                on);
    }

    /** The N profiled: 64 if measured, else the largest below it, else the smallest. */
    int profileN() {
        return ns.stream()
                .filter(x -> x <= 64)
                .mapToInt(Integer::intValue)
                .max()
                .orElse(ns.stream().mapToInt(Integer::intValue).min().orElse(64));
    }

    Plan withTimeLimit(long seconds) {
        return new Plan(
                mode,
                ns,
                views,
                warmSeconds,
                trialSeconds,
                measureSeconds,
                searchSteps,
                drainMs,
                seconds,
                profile);
    }

    int maxN() {
        return ns.stream().mapToInt(Integer::intValue).max().orElse(1);
    }

    /**
     * A rough cost of one system at one N (start, warm-up, search and measurements in every view).
     */
    double secondsPerSystemAndN() {
        double perView =
                searchSteps * (trialSeconds + drainMs / 1e3 + 0.1)
                        + 2 * (measureSeconds + drainMs / 1e3 + 0.1);
        return 4 + warmSeconds + views.size() * perView;
    }
}
