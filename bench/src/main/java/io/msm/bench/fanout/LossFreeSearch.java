package io.msm.bench.fanout;

import java.util.ArrayList;
import java.util.List;

/**
 * The highest loss-free input rate, found by a short search that never overloads the node by much:
 * an overloaded system queues what it cannot forward (100000 packets of input backlog per CPU,
 * megabytes of socket buffer, each packet worth N copies), and a deep queue takes longer to drain
 * than the trial took to fill it.
 *
 * <ol>
 *   <li>start at an estimate of the capacity (from the warm-up: copies per second of node CPU);
 *   <li>while steps pass, go up by half; once one fails, go down by a third until one passes;
 *   <li>then bisect between the highest pass and the lowest failure until they are within 3 %.
 * </ol>
 *
 * A step passes when less than 0.1 % of the copies are missing or late ({@link Trial#lossFree()}).
 * If the sender's maximum passes, the sender, not the node, is the limit: the result is that rate,
 * marked sender-bound.
 */
final class LossFreeSearch {
    /** Up or down by this factor before the first pass and failure are known. */
    static final double STEP = 1.5;

    interface Runner {
        Trial run(double targetPps, double seconds);
    }

    /**
     * @param rate the highest loss-free input rate found (packets/s into the node), 0 if none
     * @param senderBound the sender could not offer more, and the node kept up with all it offered
     * @param best the passing trial at that rate (null if none passed)
     * @param steps every trial, in order
     */
    record Result(double rate, boolean senderBound, Trial best, List<Trial> steps) {}

    /**
     * @param estimate first input rate to try (pkt/s)
     * @param steps trials at most
     */
    static Result search(
            Runner runner, double estimate, double senderMaxPps, double seconds, int steps) {
        List<Trial> all = new ArrayList<>();
        double lo = 0;
        double hi = Double.POSITIVE_INFINITY;
        Trial best = null;
        double x = Math.max(1, Math.min(estimate, senderMaxPps));
        for (int i = 0; i < steps; i++) {
            boolean atSenderMax = x >= senderMaxPps;
            Trial t = runner.run(atSenderMax ? 0 : x, seconds);
            all.add(t);
            if (t.lossFree()) {
                best = t;
                if (atSenderMax || (t.senderLimited() && x >= 0.9 * senderMaxPps)) {
                    // the sender offered all it could and the node kept up
                    return new Result(t.offeredPps(), true, t, all);
                }
                // short of the target far below its maximum, the sender was held up (its CPU was
                // busy): the
                // node kept up with what it got, which is all this step says
                lo = Math.max(lo, t.senderLimited() ? t.offeredPps() : x);
            } else {
                hi = Math.min(hi, x);
            }
            if (lo > 0 && hi < Double.POSITIVE_INFINITY && (hi - lo) / lo < 0.03) {
                break;
            }
            if (hi == Double.POSITIVE_INFINITY) {
                x = Math.min(x * STEP, senderMaxPps);
            } else if (lo == 0) {
                x = x / STEP;
            } else {
                x = (lo + hi) / 2;
            }
        }
        return new Result(lo, false, best, all);
    }
}
