package io.msm.bench.fanout;

import io.msm.bpf.ProgInfo;
import java.util.List;
import java.util.Optional;

/**
 * One of the fan-out implementations compared on the same topology: it takes the stream the sender
 * sends to the node's 10.79.0.1:5004 and delivers a copy to receivers 0..n-1 at port 6000. It runs
 * in the node namespace, its work pinned to the node's CPU.
 */
interface SystemUnderTest extends AutoCloseable {
    /** Short name for files and CSV: kernel, userspace, gstreamer. */
    String name();

    /** What it is, for tables. */
    String label();

    /** Start serving receivers 0..n-1; returns once copies flow to all of them. */
    void start(Topology topo, int n) throws Exception;

    /** Processes whose CPU time is this system's (empty for none). */
    List<Long> pids();

    /**
     * The BPF program doing its per-packet work, when it has one (for kernel.bpf_stats_enabled).
     */
    default Optional<ProgInfo> program() {
        return Optional.empty();
    }

    /**
     * The system's own count of upstream packets received, copies sent and copies it gave up on
     * (e.g. a full socket buffer), so far; empty when it keeps none. Read outside the measurement
     * window.
     */
    default Optional<long[]> ownCounters() {
        return Optional.empty();
    }

    /** Stop and remove whatever start() created. Safe to call twice or after a failed start. */
    void stop();

    @Override
    default void close() {
        stop();
    }
}
