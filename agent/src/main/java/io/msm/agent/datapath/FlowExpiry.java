package io.msm.agent.datapath;

import io.msm.bpf.Datapath;
import io.msm.bpf.maps.Addr;
import io.msm.bpf.maps.Flow;
import io.msm.bpf.maps.FlowKey;
import io.msm.bpf.maps.TrafficClass;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes flows idle longer than the configured time — the LRU is the last resort, not the
 * mechanism — and, on the same pass, counts active flows per class and finds the busiest RTP flow
 * per destination (for stream statistics).
 */
public final class FlowExpiry implements Runnable {
    private static final Logger log = LoggerFactory.getLogger(FlowExpiry.class);

    /** What one pass saw. */
    public record Snapshot(
            Map<TrafficClass, Long> activeByClass, long total, long expired, long scanNanos) {
        public static final Snapshot EMPTY = new Snapshot(Map.of(), 0, 0, 0);
    }

    private final Datapath dp;
    private final long idleNs;
    private final Consumer<Map<InetSocketAddress, Flow>> rtpFlowsByDst;
    private volatile Snapshot last = Snapshot.EMPTY;
    private long expiredTotal;

    public FlowExpiry(
            Datapath dp, Duration idle, Consumer<Map<InetSocketAddress, Flow>> rtpFlowsByDst) {
        this.dp = dp;
        this.idleNs = idle.toNanos();
        this.rtpFlowsByDst = rtpFlowsByDst;
    }

    public Snapshot last() {
        return last;
    }

    public synchronized long expiredTotal() {
        return expiredTotal;
    }

    @Override
    public void run() {
        try {
            scan();
        } catch (RuntimeException e) {
            log.warn("flow expiry pass failed: {}", e.getMessage());
        }
    }

    synchronized Snapshot scan() {
        long t0 = System.nanoTime();
        List<FlowKey> idle = new ArrayList<>();
        Map<TrafficClass, Long> byClass = new EnumMap<>(TrafficClass.class);
        Map<InetSocketAddress, Flow> rtp = new HashMap<>();
        long[] total = {0};
        var flows = dp.flows();
        flows.forEach(
                (k, f) -> {
                    if (t0 - f.lastNs() > idleNs) {
                        idle.add(k);
                        return;
                    }
                    total[0]++;
                    byClass.merge(f.trafficClass(), 1L, Long::sum);
                    if (f.trafficClass() == TrafficClass.RTP && k.family() == 4) {
                        InetSocketAddress dst = new InetSocketAddress(k.dst(), k.dport());
                        rtp.merge(dst, f, (a, b) -> a.packets() >= b.packets() ? a : b);
                    }
                });
        for (FlowKey k : idle) {
            flows.delete(k);
        }
        expiredTotal += idle.size();
        if (rtpFlowsByDst != null) {
            rtpFlowsByDst.accept(rtp);
        }
        Snapshot s = new Snapshot(byClass, total[0], idle.size(), System.nanoTime() - t0);
        last = s;
        if (!idle.isEmpty()) {
            log.debug("expired {} idle flow(s), {} active", idle.size(), total[0]);
        }
        return s;
    }

    /** For logs: "udp 10.0.0.1:5004 -> ..." */
    static String describe(FlowKey k) {
        return k.protoName()
                + " "
                + Addr.hostPort(k.src(), k.sport())
                + " -> "
                + Addr.hostPort(k.dst(), k.dport());
    }
}
