package io.msm.bench.fanout;

import java.util.ArrayList;
import java.util.List;

/**
 * The highest loss-free input rate, found by a short search:
 * <ol>
 * <li>a saturation probe well above what any system forwards (the sender's
 *     maximum, or {@link #COPY_CEILING} copies per second): the copies it
 *     delivers per second, divided by N, estimate the node's capacity;</li>
 * <li>bisection around that estimate, each step one bounded trial: a step
 *     passes when less than 0.1 % of the copies are missing.</li>
 * </ol>
 * If the probe is loss-free the ceiling is raised (up to the sender's
 * maximum); if even that is loss-free the sender, not the node, is the
 * limit: the result is that rate, marked sender-bound.
 */
final class LossFreeSearch {
    /** Copies per second no system here comes near (the naive kernel loop does ~1.3 M). */
    static final double COPY_CEILING = 3_000_000;

    interface Runner {
        Trial run(double targetPps, double seconds);
    }

    /**
     * @param rate        the highest loss-free input rate found (packets/s into the node)
     * @param senderBound the sender could not offer more without loss at the node
     * @param best        the passing trial at that rate (null if none passed)
     * @param steps       every trial, in order
     */
    record Result(double rate, boolean senderBound, Trial best, List<Trial> steps) {
    }

    static double probeRate(int n, double senderMaxPps) {
        double ceiling = COPY_CEILING / n;
        return ceiling >= senderMaxPps ? 0 : ceiling; // 0: as fast as the sender goes
    }

    static Result search(Runner runner, int n, double senderMaxPps, double seconds, int steps) {
        List<Trial> all = new ArrayList<>();
        double rate = probeRate(n, senderMaxPps);
        Trial probe = runner.run(rate, seconds);
        all.add(probe);
        // the node kept up with the ceiling: raise it (twice at most) up to what the sender can do
        for (int k = 0; k < 2 && probe.lossFree() && rate > 0; k++) {
            rate = rate * 3 >= senderMaxPps ? 0 : rate * 3;
            probe = runner.run(rate, seconds);
            all.add(probe);
        }
        if (probe.lossFree()) {
            return new Result(probe.offeredPps(), rate == 0, probe, all);
        }
        double estimate = probe.deliveredPps() / n;
        double hi = probe.offeredPps();
        double lo = 0;
        Trial best = null;
        double x = Math.max(1, Math.min(hi, estimate) * 0.95);
        for (int i = 0; i < steps; i++) {
            Trial t = runner.run(x, seconds);
            all.add(t);
            if (t.lossFree() && !t.senderLimited()) {
                lo = x;
                best = t;
            } else if (t.lossFree()) {
                // the sender fell short of x: nothing is known above what it offered
                lo = t.offeredPps();
                best = t;
                hi = Math.min(hi, x);
            } else {
                hi = x;
            }
            if (lo > 0 && (hi - lo) / lo < 0.03) {
                break;
            }
            x = lo > 0 ? (lo + hi) / 2 : x * 0.6;
        }
        return new Result(lo, false, best, all);
    }
}
