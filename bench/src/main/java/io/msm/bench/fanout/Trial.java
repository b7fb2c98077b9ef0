package io.msm.bench.fanout;

/**
 * One bounded run of the sender against a system under test, and what the node and the receivers
 * did meanwhile.
 *
 * @param targetPps rate asked of the sender (0: as fast as it can)
 * @param sender what the sender did
 * @param delivered copies counted (by the sinks, or as TX drops in the node-only view), all of them
 * @param onTime copies counted by {@link #GRACE_MS} after the sender stopped: a node that falls
 *     behind queues packets (up to netdev_max_backlog = 100000 per CPU, and socket buffers) and
 *     delivers them late; only what keeps up counts as forwarded
 * @param windowNs the measurement window (sending plus draining)
 * @param nodeBusyNs busy time of the node's CPU in the window (wall - idle, exact)
 * @param nodeSoftirqNs its softirq share (tick-sampled)
 * @param nodeSystemNs its system share (tick-sampled)
 * @param nodeUserNs its user share (tick-sampled)
 * @param senderBusyNs busy time of the sender's CPU
 * @param processNs CPU time of the system's own processes (exact)
 * @param nodeDrops input backlog drops on the node's CPU (softnet_stat)
 * @param senderCpuDrops backlog drops on the sender's CPU
 * @param late copies that arrived behind a later sequence number (reordered)
 * @param duplicates copies seen twice
 * @param minPerReceiver fewest copies any receiver got (a starved receiver shows here)
 * @param maxPerReceiver most copies any receiver got
 * @param latency one-way latency of every copy (RX view)
 * @param spread first-to-last copy of each packet (RX view)
 * @param progRunNs BPF program run time in the window (kernel, with bpf_stats on; else 0)
 * @param progRuns BPF program runs in the window
 * @param load1 1-minute load average at the end
 * @param own the system's own counters over the trial (upstream in, copies out, copies given up),
 *     or null
 */
record Trial(
        String system,
        View view,
        int n,
        double targetPps,
        Sender.Result sender,
        long delivered,
        long onTime,
        long windowNs,
        long nodeBusyNs,
        long nodeSoftirqNs,
        long nodeSystemNs,
        long nodeUserNs,
        long senderBusyNs,
        long processNs,
        long nodeDrops,
        long senderCpuDrops,
        long late,
        long duplicates,
        long minPerReceiver,
        long maxPerReceiver,
        Histogram latency,
        Histogram spread,
        long progRunNs,
        long progRuns,
        double load1,
        long[] own) {
    /** Loss-free means less than this fraction of the expected copies missing. */
    static final double LOSS_FREE = 0.001;

    /** The sender counts as keeping up when it offered at least this share of the target. */
    static final double SENDER_KEPT_UP = 0.97;

    /** How long after the sender stops a copy still counts as on time. */
    static final long GRACE_MS = 20;

    long expected() {
        return sender.sent() * (long) n;
    }

    double loss() {
        long e = expected();
        return e == 0 ? 0 : Math.max(0, 1.0 - (double) delivered / e);
    }

    /** Copies that never arrived, or arrived only after the node caught up with a queue. */
    double shortfall() {
        long e = expected();
        return e == 0 ? 0 : Math.max(0, 1.0 - (double) onTime / e);
    }

    /**
     * Loss-free: under 0.1 % of the copies missing, and the node kept up (no queue left to drain).
     */
    boolean lossFree() {
        return shortfall() < LOSS_FREE && delivered > 0;
    }

    /**
     * The sender offered less than asked: the result says nothing about the node beyond that rate.
     */
    boolean senderLimited() {
        return targetPps <= 0 || sender.offeredPps() < SENDER_KEPT_UP * targetPps;
    }

    double offeredPps() {
        return sender.offeredPps();
    }

    double seconds() {
        return sender.elapsedNs() / 1e9;
    }

    /** Copies forwarded per second while the sender sent (on-time copies only). */
    double deliveredPps() {
        return seconds() == 0 ? 0 : onTime / seconds();
    }

    /** Node CPU ns per delivered copy. */
    double nodeNsPerCopy() {
        return delivered == 0 ? Double.NaN : (double) nodeBusyNs / delivered;
    }

    /** Node CPU ns per upstream packet (for the slope over N). */
    double nodeNsPerPacket() {
        long in = sender.sent() - sender.errors();
        return in <= 0 ? Double.NaN : (double) nodeBusyNs / in;
    }

    double processNsPerCopy() {
        return delivered == 0 ? Double.NaN : (double) processNs / delivered;
    }

    /**
     * Node CPU busy time over the sending time: the window also holds the drain and the counter
     * reads, when the node has little to do.
     */
    double nodeUtilisation() {
        return sender.elapsedNs() == 0
                ? 0
                : Math.min(1.0, (double) nodeBusyNs / sender.elapsedNs());
    }

    /**
     * ns of BPF program run time per upstream packet (kernel.bpf_stats_enabled on), NaN without.
     */
    double progNsPerPacket() {
        return progRuns == 0 ? Double.NaN : (double) progRunNs / progRuns;
    }

    double progNsPerCopy() {
        return progRuns == 0 || delivered == 0 ? Double.NaN : (double) progRunNs / delivered;
    }

    /** Share of the copies the system itself gave up on (its own counter), NaN if it keeps none. */
    double gaveUp() {
        return own == null || own[1] + own[2] == 0
                ? Double.NaN
                : (double) own[2] / (own[1] + own[2]);
    }

    String summary() {
        String mine =
                own == null
                        ? ""
                        : String.format(
                                "  [own: in %d, out %d, gave up %d]", own[0], own[1], own[2]);
        return String.format(
                        "%-9s %-3s N=%-4d target %9.0f offered %9.0f pps  delivered %10.0f copies/s  loss %6.3f%% late %6.3f%%"
                                + "  node %5.1f%% busy %6.0f ns/copy%s",
                        system,
                        view.key(),
                        n,
                        targetPps,
                        offeredPps(),
                        deliveredPps(),
                        loss() * 100,
                        (shortfall() - loss()) * 100,
                        nodeUtilisation() * 100,
                        nodeNsPerCopy(),
                        view == View.RX && latency.count() > 0
                                ? String.format(
                                        "  lat p50 %.1f p99 %.1f us",
                                        latency.quantile(0.5) / 1e3, latency.quantile(0.99) / 1e3)
                                : "")
                + mine;
    }
}
