package io.msm.cli.flows;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * How {@code msm flows --sort} orders flows: the biggest, lossiest or most jittery first, or the
 * oldest first. Ties go to the flow with more packets.
 */
public enum FlowOrder {
    PACKETS {
        @Override
        double key(FlowRow r) {
            return -r.flow().packets();
        }
    },
    BYTES {
        @Override
        double key(FlowRow r) {
            return -r.flow().bytes();
        }
    },
    LOSS {
        @Override
        double key(FlowRow r) {
            return -r.lost();
        }
    },
    JITTER {
        @Override
        double key(FlowRow r) {
            return -r.jitterMs();
        }
    },
    /** Oldest first: the smallest first-seen timestamp. */
    AGE {
        @Override
        double key(FlowRow r) {
            return r.flow().firstNs();
        }
    };

    /** Ascending sort key. */
    abstract double key(FlowRow r);

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** A row with its keys computed once (100k rows are compared ~1.7M times). */
    private record Keyed(double key, long packets, FlowRow row) {}

    /** The rows in this order, the first {@code limit} of them (0: all). */
    public List<FlowRow> sort(Collection<FlowRow> rows, int limit) {
        List<Keyed> keyed = new ArrayList<>(rows.size());
        for (FlowRow r : rows) {
            keyed.add(new Keyed(key(r), r.flow().packets(), r));
        }
        keyed.sort(
                (a, b) -> {
                    int c = Double.compare(a.key, b.key);
                    return c != 0 ? c : Long.compare(b.packets, a.packets);
                });
        int n = limit > 0 ? Math.min(limit, keyed.size()) : keyed.size();
        List<FlowRow> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(keyed.get(i).row);
        }
        return out;
    }
}
