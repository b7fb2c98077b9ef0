package io.msm.bench.fanout;

import io.msm.testkit.Sh;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs rtpsend (bench/src/main/c/rtpsend.c, built by bench/run.sh) in the sender namespace, pinned
 * to the sender's CPU, and keeps the RTP sequence number going from one trial to the next.
 */
public final class Sender {
    private final Path binary;
    private final Topology topo;
    private int seq;

    /**
     * @param sent packets offered (each consumed a sequence number)
     * @param errors packets the sender's device refused (the node's input backlog was full)
     * @param elapsedNs how long it sent
     * @param userNs sender CPU, user (tick-sampled)
     * @param sysNs sender CPU, system
     * @param batch packets per sendmmsg at most
     */
    public record Result(
            long sent, long errors, long elapsedNs, long userNs, long sysNs, int batch) {
        public double offeredPps() {
            return elapsedNs == 0 ? 0 : sent * 1e9 / elapsedNs;
        }
    }

    public Sender(Path binary, Topology topo) {
        this.binary = binary;
        this.topo = topo;
    }

    /**
     * Batch size for a rate: one packet per call up to 100 kpps, so the send time stamped in each
     * packet is the time it leaves (latency runs at half rate stay unbatched); larger batches
     * above, to reach the rate.
     */
    static int batchFor(double pps) {
        if (pps <= 0) {
            return 32;
        }
        return (int) Math.max(1, Math.min(32, pps / 100_000));
    }

    /** Send at pps (0: as fast as possible) for seconds; blocks until done. */
    Result send(double pps, double seconds) {
        return send(
                pps, seconds, Topology.NODE_ADDR + ":" + Topology.STREAM_PORT, 40000, 1, 1200, 1);
    }

    /**
     * Send at pps (0: as fast as possible) for seconds to dst ("IP:PORT"), from the sender's
     * address and ports srcPort .. srcPort + sessions - 1 in turn, size bytes of UDP payload, in
     * bursts of burst packets (1: each when due).
     */
    public Result send(
            double pps,
            double seconds,
            String dst,
            int srcPort,
            int sessions,
            int size,
            int burst) {
        int batch = Math.max(batchFor(pps), burst);
        List<String> cmd =
                List.of(
                        "taskset",
                        "-c",
                        Integer.toString(Topology.SENDER_CPU),
                        "ip",
                        "netns",
                        "exec",
                        topo.sender.name(),
                        binary.toString(),
                        "--ifname",
                        Topology.SENDER_IF,
                        "--src-mac",
                        Topology.SENDER_MAC,
                        "--dst-mac",
                        Topology.NODE_IN_MAC,
                        "--src",
                        Topology.SENDER_ADDR + ":" + srcPort,
                        "--dst",
                        dst,
                        "--rate",
                        Long.toString(Math.round(pps)),
                        "--duration",
                        String.format("%.3f", seconds),
                        "--seq",
                        Integer.toString(seq),
                        "--batch",
                        Integer.toString(batch),
                        "--burst",
                        Integer.toString(burst),
                        "--sessions",
                        Integer.toString(sessions),
                        "--size",
                        Integer.toString(size));
        Sh.Result r = Sh.exec((int) Math.ceil(seconds) + 30, cmd.toArray(new String[0]));
        if (r.exit() != 0) {
            throw new IllegalStateException(
                    "rtpsend failed (exit " + r.exit() + "): " + r.err().trim());
        }
        Map<String, String> kv = new HashMap<>();
        for (String f : r.out().trim().split("\\s+")) {
            int eq = f.indexOf('=');
            if (eq > 0) {
                kv.put(f.substring(0, eq), f.substring(eq + 1));
            }
        }
        try {
            seq = Integer.parseInt(kv.get("next_seq"));
            return new Result(
                    Long.parseLong(kv.get("sent")),
                    Long.parseLong(kv.get("errors")),
                    Long.parseLong(kv.get("elapsed_ns")),
                    Long.parseLong(kv.get("user_ns")),
                    Long.parseLong(kv.get("sys_ns")),
                    batch);
        } catch (RuntimeException e) {
            throw new IllegalStateException(
                    "cannot parse rtpsend's report '" + r.out().trim() + "'", e);
        }
    }
}
