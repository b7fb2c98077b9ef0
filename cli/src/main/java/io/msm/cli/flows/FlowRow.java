package io.msm.cli.flows;

import io.msm.bpf.maps.Flow;
import io.msm.bpf.maps.FlowKey;
import io.msm.bpf.maps.RtpStats;
import io.msm.bpf.maps.TrafficClass;
import io.msm.cli.render.Endpoints;

/**
 * One flow as the CLI shows it: the kernel's entry, its fan-out subscriber count and, while
 * watching, its rates since the previous refresh.
 *
 * @param fanout subscribers of the group fed by this flow (0 if none)
 * @param pps packets per second since the last refresh (NaN: not measured)
 * @param bytesPerSec bytes per second since the last refresh (NaN: not measured)
 * @param identity the workload identity of the source address: its SPIFFE ID, "identity N" when the
 *     agent gave it no name, or {@link #WORLD} (none)
 * @param backend for a client's flow to a game service: the backend ("addr:port") its session is
 *     pinned to; null otherwise
 */
public record FlowRow(
        FlowKey key,
        Flow flow,
        int fanout,
        double pps,
        double bytesPerSec,
        String identity,
        String backend) {
    /** The identity of a source the agent knows no workload for. */
    public static final String WORLD = "world";

    public FlowRow(FlowKey key, Flow flow, int fanout) {
        this(key, flow, fanout, WORLD);
    }

    public FlowRow(FlowKey key, Flow flow, int fanout, String identity) {
        this(key, flow, fanout, Double.NaN, Double.NaN, identity, null);
    }

    public FlowRow withRates(double packetsPerSecond, double bytesPerSecond) {
        return new FlowRow(key, flow, fanout, packetsPerSecond, bytesPerSecond, identity, backend);
    }

    public FlowRow withBackend(String b) {
        return new FlowRow(key, flow, fanout, pps, bytesPerSec, identity, b);
    }

    public boolean hasRates() {
        return !Double.isNaN(pps);
    }

    /** "addr:port", IPv6 as "[addr]:port" (RFC 5952). */
    public String src() {
        return Endpoints.hostPort(key.src(), key.sport());
    }

    public String dst() {
        return Endpoints.hostPort(key.dst(), key.dport());
    }

    public TrafficClass trafficClass() {
        return flow.trafficClass();
    }

    public boolean isRtp() {
        return flow.trafficClass() == TrafficClass.RTP;
    }

    public RtpStats rtp() {
        return flow.rtp() == null ? RtpStats.EMPTY : flow.rtp();
    }

    /** Cumulative RTP loss; 0 for other classes. */
    public long lost() {
        return isRtp() ? rtp().lost() : 0;
    }

    public double jitterMs() {
        return isRtp() ? rtp().jitterMs() : 0;
    }
}
