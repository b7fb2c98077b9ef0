package io.msm.agent.game;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class MaglevTest {
    static final int M = 16381;

    static List<Maglev.Entry> backends(int n, int weight) {
        List<Maglev.Entry> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            l.add(new Maglev.Entry("10.0." + (i / 250) + "." + (i % 250 + 1) + ":7777", weight));
        }
        return l;
    }

    static int[] counts(int[] table, int n) {
        int[] c = new int[n];
        for (int b : table) {
            c[b]++;
        }
        return c;
    }

    @Test
    void everySlotFilledAndEqualWeightsBalanced() {
        for (int n : new int[] {1, 2, 3, 10, 100}) {
            int[] t = Maglev.build(backends(n, 1), M);
            int[] c = counts(t, n);
            double share = (double) M / n;
            for (int x : c) {
                // Maglev's turn-taking gives each backend floor or ceil of its share
                assertTrue(Math.abs(x - share) <= 1, n + " backends: " + x + " vs " + share);
            }
        }
    }

    @Test
    void weightsNinetyTen() {
        List<Maglev.Entry> l = List.of(new Maglev.Entry("a:1", 90), new Maglev.Entry("b:1", 10));
        int[] c = counts(Maglev.build(l, M), 2);
        assertEquals(0.9, c[0] / (double) M, 0.005);
        assertEquals(0.1, c[1] / (double) M, 0.005);
    }

    @Test
    void zeroWeightTakesNothingAndEmptyIsEmpty() {
        List<Maglev.Entry> l = List.of(new Maglev.Entry("a:1", 1), new Maglev.Entry("b:1", 0));
        int[] c = counts(Maglev.build(l, M), 2);
        assertEquals(M, c[0]);
        assertEquals(0, c[1]);
        for (int x : Maglev.build(List.of(), M)) {
            assertEquals(-1, x);
        }
    }

    @Test
    void removingOneOfTenMovesLittleMoreThanItsShare() {
        List<Maglev.Entry> all = backends(10, 1);
        int[] before = Maglev.build(all, M);
        List<Maglev.Entry> less = new ArrayList<>(all);
        less.remove(3);
        int[] after = Maglev.build(less, M);
        int moved = 0;
        for (int s = 0; s < M; s++) {
            String b = all.get(before[s]).name();
            String a = less.get(after[s]).name();
            if (!a.equals(b)) {
                moved++;
            }
        }
        double frac = moved / (double) M;
        // the removed backend's 10% must move; Maglev moves a few percent more (paper, fig. 12)
        assertTrue(frac >= 0.099 && frac < 0.16, "moved " + frac);
    }

    @Test
    void addingOneMovesAboutItsShare() {
        List<Maglev.Entry> all = backends(20, 1);
        int[] before = Maglev.build(all, M);
        List<Maglev.Entry> more = new ArrayList<>(all);
        more.add(new Maglev.Entry("10.9.9.9:7777", 1));
        int[] after = Maglev.build(more, M);
        int moved = 0;
        for (int s = 0; s < M; s++) {
            if (!all.get(before[s]).name().equals(more.get(after[s]).name())) {
                moved++;
            }
        }
        double frac = moved / (double) M;
        assertTrue(frac >= 1.0 / 21 - 0.005 && frac < 1.0 / 21 + 0.05, "moved " + frac);
    }

    @Test
    void deterministic() {
        assertEquals(
                Arrays.toString(Maglev.build(backends(7, 3), 251)),
                Arrays.toString(Maglev.build(backends(7, 3), 251)));
    }
}
