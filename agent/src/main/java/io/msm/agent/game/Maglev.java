package io.msm.agent.game;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016, section 3.4) with weights as Katran does
 * them: each backend has a permutation of the table's slots from two hashes of its name (offset,
 * skip; the table size is prime so every skip walks all slots), and the backends take turns
 * claiming their next free slot; a backend's turn comes in proportion to its weight (a backend with
 * half the largest weight claims every other round). The result is near-perfect balance (each
 * backend within a few slots of its share when the size is at least 100 times the number of
 * backends) and minimal disruption: removing one of N backends moves about 1/N of the slots plus a
 * few percent.
 */
public final class Maglev {
    private Maglev() {}

    /** A backend: a stable name (e.g. "10.0.0.5:7777") and a weight (0: takes no slots). */
    public record Entry(String name, int weight) {}

    /**
     * The table: slot -> index into entries, or -1 when no entry has a positive weight. size must
     * be prime.
     */
    public static int[] build(List<Entry> entries, int size) {
        int[] table = new int[size];
        Arrays.fill(table, -1);
        int n = entries.size();
        int maxWeight = 0;
        for (Entry e : entries) {
            maxWeight = Math.max(maxWeight, e.weight());
        }
        if (n == 0 || maxWeight <= 0) {
            return table;
        }
        long[] offset = new long[n];
        long[] skip = new long[n];
        long[] next = new long[n];
        long[] credit = new long[n];
        for (int i = 0; i < n; i++) {
            byte[] name = entries.get(i).name().getBytes(StandardCharsets.UTF_8);
            offset[i] = Long.remainderUnsigned(hash(name, 0x6d61676c65763031L), size);
            skip[i] = Long.remainderUnsigned(hash(name, 0x6d61676c65763032L), size - 1) + 1;
        }
        int filled = 0;
        while (true) {
            for (int i = 0; i < n; i++) {
                credit[i] += entries.get(i).weight();
                if (credit[i] < maxWeight) {
                    continue;
                }
                credit[i] -= maxWeight;
                int c = (int) ((offset[i] + next[i] * skip[i]) % size);
                while (table[c] >= 0) {
                    next[i]++;
                    c = (int) ((offset[i] + next[i] * skip[i]) % size);
                }
                table[c] = i;
                next[i]++;
                if (++filled == size) {
                    return table;
                }
            }
        }
    }

    /** 64-bit hash of bytes (murmur3's finaliser over an FNV-1a walk): stable across JVMs. */
    static long hash(byte[] b, long seed) {
        long h = 0xcbf29ce484222325L ^ seed;
        for (byte x : b) {
            h ^= x & 0xff;
            h *= 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }
}
