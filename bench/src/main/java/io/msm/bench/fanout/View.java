package io.msm.bench.fanout;

import java.util.Locale;

/** Where copies are counted (BENCH-NOTES: report both). */
enum View {
    /**
     * Delivered to receivers: msm_bench_sink on each receiver veth counts the copy, checks its
     * sequence number and times it; the receivers' work runs on the node's CPU, as for pods on the
     * same node.
     */
    RX("receivers"),
    /**
     * Node only: the receivers' ends are down, so each copy is a TX drop on the node's veth the
     * moment the node transmits it — the node's own cost with nothing downstream (no latency:
     * nothing receives).
     */
    TX("node-only");

    final String label;

    View(String label) {
        this.label = label;
    }

    String key() {
        return name().toLowerCase(Locale.ROOT);
    }
}
