package io.msm.bench.fanout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LossFreeSearchTest {
    /** A trial against a node that forwards at most capacity copies/s and drops the rest. */
    static Trial trial(int n, double target, double senderMax, double capacity, double seconds) {
        double offered = target <= 0 ? senderMax : Math.min(target, senderMax);
        long sent = Math.round(offered * seconds);
        long copies = Math.round(Math.min(offered * n, capacity) * seconds);
        return new Trial(
                "fake",
                View.TX,
                n,
                target,
                new Sender.Result(sent, 0, (long) (seconds * 1e9), 0, 0, 1),
                copies,
                copies,
                (long) (seconds * 1e9),
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                Histogram.empty(),
                Histogram.empty(),
                0,
                0,
                0,
                null);
    }

    @Test
    void findsTheNodesCapacityWithinAFewPercent() {
        double capacity = 1_000_000;
        for (int n : new int[] {8, 64, 256}) {
            double truth = capacity / n;
            LossFreeSearch.Result r =
                    LossFreeSearch.search(
                            (pps, s) -> trial(n, pps, 500_000, capacity, s),
                            truth * 0.3,
                            500_000,
                            1.0,
                            10);
            assertTrue(
                    r.rate() <= truth,
                    "N=" + n + ": " + r.rate() + " is above the capacity " + truth);
            assertTrue(
                    r.rate() >= 0.95 * truth,
                    "N=" + n + ": " + r.rate() + " is far below the capacity " + truth);
            assertFalse(r.senderBound());
            assertTrue(r.best().lossFree());
        }
    }

    @Test
    void aNodeFasterThanTheSenderIsReportedSenderBound() {
        LossFreeSearch.Result r =
                LossFreeSearch.search(
                        (pps, s) -> trial(1, pps, 300_000, 5_000_000, s), 100_000, 300_000, 1.0, 6);
        assertTrue(r.senderBound());
        assertEquals(300_000, r.rate(), 1);
    }

    @Test
    void anEstimateFarTooHighComesDownAndNeverOverloadsByMuchAfterwards() {
        double truth = 200_000 / 64.0;
        List<Double> tried = new ArrayList<>();
        LossFreeSearch.Result r =
                LossFreeSearch.search(
                        (pps, s) -> {
                            tried.add(pps);
                            return trial(64, pps, 500_000, 200_000, s);
                        },
                        truth * 4,
                        500_000,
                        1.0,
                        10);
        assertTrue(r.rate() >= 0.95 * truth && r.rate() <= truth, "got " + r.rate());
        for (double x : tried.subList(1, tried.size())) {
            assertTrue(
                    x <= truth * LossFreeSearch.STEP * 4 / LossFreeSearch.STEP,
                    "overloaded at " + x);
        }
    }

    @Test
    void aNodeThatAlwaysLosesHasNoLossFreeRate() {
        LossFreeSearch.Result r =
                LossFreeSearch.search(
                        (pps, s) -> {
                            Trial t = trial(8, pps, 500_000, 1e12, s);
                            return new Trial(
                                    "fake",
                                    View.TX,
                                    8,
                                    pps,
                                    t.sender(),
                                    t.delivered() / 2,
                                    t.delivered() / 2,
                                    t.windowNs(),
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    0,
                                    Histogram.empty(),
                                    Histogram.empty(),
                                    0,
                                    0,
                                    0,
                                    null);
                        },
                        10_000,
                        500_000,
                        1.0,
                        4);
        assertEquals(0, r.rate());
        assertEquals(4, r.steps().size());
    }
}
