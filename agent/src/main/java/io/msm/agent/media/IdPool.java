package io.msm.agent.media;

import java.util.BitSet;

/** Allocates small integer ids (fan-out group and subscriber counter slots). */
final class IdPool {
    private final BitSet used;
    private final int size;
    private int next;

    IdPool(int size) {
        this.size = size;
        this.used = new BitSet(size);
    }

    synchronized int allocate() {
        int i = used.nextClearBit(next);
        if (i >= size) {
            i = used.nextClearBit(0);
        }
        if (i >= size) {
            return -1;
        }
        used.set(i);
        next = i + 1;
        return i;
    }

    synchronized void claim(int id) {
        if (id >= 0 && id < size) {
            used.set(id);
        }
    }

    synchronized void release(int id) {
        if (id >= 0 && id < size) {
            used.clear(id);
        }
    }

    synchronized int inUse() {
        return used.cardinality();
    }

    int size() {
        return size;
    }
}
