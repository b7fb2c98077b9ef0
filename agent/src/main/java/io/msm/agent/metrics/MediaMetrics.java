package io.msm.agent.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.msm.agent.media.Relay;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

/**
 * Per-stream metrics, one series per relay label (a path/track or static stream name, never an
 * address; relays sharing a label are summed), synced with the open relays before each scrape:
 *
 * <pre>
 * msm_stream_viewers{stream}                  subscribers of the stream
 * msm_stream_upstream_packets_total{stream}   packets received from the source
 * msm_stream_copies_total{stream}             copies sent to viewers
 * msm_stream_copy_errors_total{stream}        copies that could not be sent
 * msm_stream_source_switches_total{stream}    new sources continued as one stream (rewrite)
 * msm_stream_rtp_lost_packets{stream}         RFC 3550 cumulative loss of the upstream
 * msm_stream_rtp_jitter_seconds{stream}       RFC 3550 interarrival jitter of the upstream
 * msm_stream_identity_refused_total{stream,reason}  packets refused by the stream's identity
 *                                             check (reason: unknown, denied)
 * msm_fanout_groups / msm_fanout_subscribers  totals over all streams
 * </pre>
 */
public final class MediaMetrics {
    private final MeterRegistry registry;
    private final Supplier<List<Relay>> relays;
    private final Map<String, List<Meter>> meters = new HashMap<>();

    public MediaMetrics(MeterRegistry registry, Supplier<List<Relay>> relays) {
        this.registry = registry;
        this.relays = relays;
        Gauge.builder("msm.fanout.groups", () -> relays.get().size())
                .description("open relays (fan-out groups)")
                .register(registry);
        Gauge.builder(
                        "msm.fanout.subscribers",
                        () -> relays.get().stream().mapToInt(r -> r.subscribers().size()).sum())
                .description("subscribers over all relays")
                .register(registry);
    }

    /**
     * Relays by label as of the last sync: several relays may share one (e.g. every SIP call's
     * "sip/caller/rtp").
     */
    private volatile Map<String, List<Relay>> byLabel = Map.of();

    private long sum(String label, ToLongFunction<Relay> f) {
        long n = 0;
        for (Relay r : byLabel.getOrDefault(label, List.of())) {
            n += f.applyAsLong(r);
        }
        return n;
    }

    /**
     * Register meters for new streams, remove those of closed ones. A label shared by several
     * relays is one series: counts are summed over them, jitter is the largest.
     */
    public synchronized void sync() {
        Map<String, List<Relay>> now = new HashMap<>();
        for (Relay r : relays.get()) {
            now.computeIfAbsent(r.options().label(), k -> new ArrayList<>()).add(r);
        }
        byLabel = now;
        Set<String> gone = new HashSet<>(meters.keySet());
        gone.removeAll(now.keySet());
        for (String label : gone) {
            meters.remove(label).forEach(registry::remove);
        }
        for (String label : now.keySet()) {
            if (meters.containsKey(label)) {
                continue;
            }
            List<Meter> m = new ArrayList<>();
            m.add(
                    Gauge.builder(
                                    "msm.stream.viewers",
                                    this,
                                    x -> x.sum(label, r -> r.subscribers().size()))
                            .tag("stream", label)
                            .description("subscribers of the stream")
                            .register(registry));
            m.add(
                    Gauge.builder(
                                    "msm.stream.viewers.userspace",
                                    this,
                                    x ->
                                            x.sum(
                                                    label,
                                                    r ->
                                                            r.subscribers().stream()
                                                                    .filter(
                                                                            v ->
                                                                                    !"kernel"
                                                                                            .equals(
                                                                                                    v
                                                                                                            .servedBy()))
                                                                    .count()))
                            .tag("stream", label)
                            .description(
                                    "subscribers of the stream not served by the kernel now: the userspace plane, next hop"
                                            + " still resolving or not servable, or a source that bypasses msm's TC program")
                            .register(registry));
            m.add(
                    FunctionCounter.builder(
                                    "msm.stream.upstream.packets",
                                    this,
                                    x -> x.sum(label, r -> r.stats().upstreamPackets()))
                            .tag("stream", label)
                            .description("packets received from the stream's source")
                            .register(registry));
            m.add(
                    FunctionCounter.builder(
                                    "msm.stream.copies",
                                    this,
                                    x -> x.sum(label, r -> r.stats().copies()))
                            .tag("stream", label)
                            .description("copies sent to the stream's viewers")
                            .register(registry));
            m.add(
                    FunctionCounter.builder(
                                    "msm.stream.source.switches",
                                    this,
                                    x ->
                                            x.sum(
                                                    label,
                                                    r ->
                                                            r.continuityState()
                                                                    .map(c -> c.switches())
                                                                    .orElse(0L)))
                            .tag("stream", label)
                            .description(
                                    "sources after the first that the stream continued under one"
                                            + " SSRC, sequence and timeline (a returning publisher,"
                                            + " a hot standby taking over)")
                            .register(registry));
            m.add(
                    FunctionCounter.builder(
                                    "msm.stream.copy.errors",
                                    this,
                                    x -> x.sum(label, r -> r.stats().errors()))
                            .tag("stream", label)
                            .description("copies that could not be sent")
                            .register(registry));
            m.add(
                    FunctionCounter.builder(
                                    "msm.stream.identity.refused",
                                    this,
                                    x -> x.sum(label, r -> r.stats().identityUnknown()))
                            .tag("stream", label)
                            .tag("reason", "unknown")
                            .description(
                                    "packets refused by the stream's identity check: the sender"
                                            + " has no workload identity (unknown) or one not"
                                            + " admitted (denied)")
                            .register(registry));
            m.add(
                    FunctionCounter.builder(
                                    "msm.stream.identity.refused",
                                    this,
                                    x -> x.sum(label, r -> r.stats().identityDenied()))
                            .tag("stream", label)
                            .tag("reason", "denied")
                            .description(
                                    "packets refused by the stream's identity check: the sender"
                                            + " has no workload identity (unknown) or one not"
                                            + " admitted (denied)")
                            .register(registry));
            m.add(
                    Gauge.builder(
                                    "msm.stream.rtp.lost",
                                    this,
                                    x ->
                                            x.sum(
                                                    label,
                                                    r ->
                                                            r.rtpStats()
                                                                    .map(s -> s.lost())
                                                                    .orElse(0L)))
                            .baseUnit("packets")
                            .tag("stream", label)
                            .description("RFC 3550 cumulative packets lost of the upstream")
                            .register(registry));
            m.add(
                    Gauge.builder(
                                    "msm.stream.rtp.jitter",
                                    this,
                                    x ->
                                            x.byLabel.getOrDefault(label, List.of()).stream()
                                                    .mapToDouble(
                                                            r ->
                                                                    r.rtpStats()
                                                                            .map(
                                                                                    s ->
                                                                                            s
                                                                                                            .jitterMs()
                                                                                                    / 1000)
                                                                            .orElse(0.0))
                                                    .max()
                                                    .orElse(0.0))
                            .baseUnit("seconds")
                            .tag("stream", label)
                            .description("RFC 3550 interarrival jitter of the upstream")
                            .register(registry));
            meters.put(label, m);
        }
    }
}
