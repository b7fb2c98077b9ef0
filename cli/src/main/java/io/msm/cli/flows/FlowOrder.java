package io.msm.cli.flows;

import java.util.Comparator;

/** How {@code msm flows --sort} orders flows: the biggest, lossiest, most jittery or oldest first. */
public enum FlowOrder {
    PACKETS(Comparator.comparingLong((FlowRow r) -> r.flow().packets()).reversed()),
    BYTES(Comparator.comparingLong((FlowRow r) -> r.flow().bytes()).reversed()),
    LOSS(Comparator.comparingLong(FlowRow::lost).reversed()
            .thenComparing(Comparator.comparingLong((FlowRow r) -> r.flow().packets()).reversed())),
    JITTER(Comparator.comparingDouble(FlowRow::jitterMs).reversed()
            .thenComparing(Comparator.comparingLong((FlowRow r) -> r.flow().packets()).reversed())),
    /** Oldest first: the smallest first-seen timestamp. */
    AGE(Comparator.comparingLong((FlowRow r) -> r.flow().firstNs()));

    private final Comparator<FlowRow> comparator;

    FlowOrder(Comparator<FlowRow> comparator) {
        this.comparator = comparator;
    }

    public Comparator<FlowRow> comparator() {
        return comparator;
    }

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
