package io.msm.agent.rtsp;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.netty.channel.Channel;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The proxy's meters. Per-path series carry a {@code path} label: the configured paths and the ones
 * publishers created, which exist only while published and are at most {@code rtsp.max-paths} — a
 * bounded set; they are removed with their path.
 *
 * <pre>
 * msm_rtsp_path_viewers{path}                  viewer sessions
 * msm_rtsp_path_tcp_viewers{path}              of which take RTP interleaved on RTSP (served from userspace)
 * msm_rtsp_path_publishing{path}               1 while a publisher records to it
 * msm_rtsp_path_upstream_state{path}           pulled paths: 0 idle, 1 connecting, 2 playing
 * msm_rtsp_path_upstream_sessions_total{path}  upstream sessions opened
 * msm_rtsp_path_upstream_failures_total{path}  upstream sessions lost or failed to open
 * msm_rtsp_path_publications_total{path}       RECORDs accepted
 * msm_rtsp_path_receiver_reports_total{path}   RTCP receiver reports from viewers
 * msm_rtsp_path_viewer_loss_ratio{path}        worst fraction lost a viewer reported last
 * msm_rtsp_sessions{kind}                      open sessions (viewer, publisher)
 * msm_rtsp_connections                         open RTSP connections
 * msm_rtsp_responses_total{method,status}      responses sent
 * msm_rtsp_bad_requests_total                  malformed input (400/413/505 before parsing finished)
 * msm_rtsp_session_timeouts_total              sessions ended by rtsp.session-timeout
 * msm_rtsp_publisher_grace_expiries_total      streams ended: no publisher returned within the grace
 * msm_rtsp_publisher_resumptions_total         publishers that returned within the grace
 * msm_rtsp_publisher_standby_takeovers_total   publishers that left while a hot standby published
 * msm_rtsp_interleaved_in_total                RTP/RTCP frames publishers sent on their RTSP connection
 * msm_rtsp_interleaved_ignored_total           interleaved frames on no session's channel
 * msm_rtsp_upstream_tls_failures_total{reason}  rtsps:// upstream handshakes that failed: untrusted,
 *                                              name-mismatch, expired, timeout, handshake
 * </pre>
 */
final class RtspMetrics {
    private static final Set<String> METHODS =
            Set.of(
                    "OPTIONS",
                    "DESCRIBE",
                    "ANNOUNCE",
                    "SETUP",
                    "PLAY",
                    "PAUSE",
                    "RECORD",
                    "TEARDOWN",
                    "GET_PARAMETER",
                    "SET_PARAMETER",
                    "malformed");

    private final MeterRegistry registry;
    private final Map<StreamPath, List<Meter>> perPath = new ConcurrentHashMap<>();
    private final List<Meter> global = new ArrayList<>();
    final Counter badRequests;
    final Counter timeouts;
    final Counter graceExpiries;
    final Counter resumptions;
    final Counter standbyTakeovers;
    final Counter silences;
    final Counter interleavedIn;
    final Counter interleavedIgnored;

    RtspMetrics(MeterRegistry registry) {
        this.registry = registry;
        badRequests = counter("msm.rtsp.bad.requests", "malformed RTSP input");
        timeouts = counter("msm.rtsp.session.timeouts", "sessions ended by rtsp.session-timeout");
        graceExpiries =
                counter(
                        "msm.rtsp.publisher.grace.expiries",
                        "streams whose viewers waited the publisher-grace in vain");
        standbyTakeovers =
                counter(
                        "msm.rtsp.publisher.standby.takeovers",
                        "publishers that left while a hot standby published (it took over)");
        silences =
                counter(
                        "msm.rtsp.publisher.silences",
                        "publishers whose RTP stopped for publisher-silence while their session"
                                + " lived (the stream entered the grace)");
        resumptions =
                counter(
                        "msm.rtsp.publisher.resumptions",
                        "publishers that returned within the grace (media resumed into the same"
                                + " relays)");
        interleavedIn =
                counter(
                        "msm.rtsp.interleaved.in",
                        "RTP/RTCP frames publishers interleaved on RTSP");
        interleavedIgnored =
                counter(
                        "msm.rtsp.interleaved.ignored",
                        "interleaved frames on no session's channel");
    }

    private volatile MultiGauge edges;

    /**
     * msm_rtsp_tree_edges{direction="takes"|"serves", peer}: the relay tree edges of this node, by
     * the peer node's name. Bounded: one agent per node, so at most the cluster's node count of
     * peers (names a peer claims beyond {@link PathRegistry#MAX_EDGE_PEERS} count as "other").
     */
    void treeEdges(List<PathRegistry.TreeEdge> all) {
        MultiGauge g = edges;
        if (g == null) {
            g =
                    MultiGauge.builder("msm.rtsp.tree.edges")
                            .description(
                                    "relay tree edges: paths this node takes from another node's agent, sessions it serves to them")
                            .register(registry);
            edges = g;
        }
        Map<List<String>, Integer> n = new TreeMap<>(Comparator.comparing(Object::toString));
        Set<String> peers = new HashSet<>();
        for (PathRegistry.TreeEdge e : all) {
            String peer = e.peer();
            if (!peers.contains(peer) && peers.size() >= PathRegistry.MAX_EDGE_PEERS) {
                peer = "other";
            }
            peers.add(peer);
            n.merge(List.of(e.direction(), peer), 1, Integer::sum);
        }
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        for (Map.Entry<List<String>, Integer> e : n.entrySet()) {
            rows.add(
                    MultiGauge.Row.of(
                            Tags.of("direction", e.getKey().get(0), "peer", e.getKey().get(1)),
                            e.getValue()));
        }
        g.register(rows, true);
    }

    /** The gauges of the registry's sessions and of the server's open connections. */
    void bind(PathRegistry paths, Set<Channel> connections) {
        for (RtspSession.Kind k : RtspSession.Kind.values()) {
            global.add(
                    Gauge.builder("msm.rtsp.sessions", paths, p -> p.sessionCount(k))
                            .tag("kind", k.name().toLowerCase(Locale.ROOT))
                            .description("open RTSP sessions")
                            .register(registry));
        }
        global.add(
                Gauge.builder("msm.rtsp.connections", connections, Set::size)
                        .description("open RTSP connections")
                        .register(registry));
    }

    private Counter counter(String name, String description) {
        Counter c = Counter.builder(name).description(description).register(registry);
        global.add(c);
        return c;
    }

    void response(String method, int status) {
        String m = METHODS.contains(method) ? method : "other";
        Counter.builder("msm.rtsp.responses")
                .tag("method", m)
                .tag("status", Integer.toString(status))
                .description("RTSP responses sent")
                .register(registry)
                .increment();
    }

    /** An rtsps:// upstream's handshake failed (reason: one of {@code TlsFailure}'s five). */
    void upstreamTlsFailure(String reason) {
        Counter.builder("msm.rtsp.upstream.tls.failures")
                .tag("reason", reason)
                .description("rtsps:// upstream TLS handshakes that failed")
                .register(registry)
                .increment();
    }

    void pathAdded(StreamPath p) {
        String n = p.name;
        List<Meter> m = new ArrayList<>();
        m.add(
                Gauge.builder("msm.rtsp.path.viewers", p, x -> x.viewers.size())
                        .tag("path", n)
                        .description("viewer sessions of the path")
                        .register(registry));
        m.add(
                Gauge.builder("msm.rtsp.path.tcp.viewers", p, RtspMetrics::tcpViewers)
                        .tag("path", n)
                        .description("viewers taking RTP interleaved on their RTSP connection")
                        .register(registry));
        m.add(
                Gauge.builder("msm.rtsp.path.publishing", p, x -> x.publishing() ? 1 : 0)
                        .tag("path", n)
                        .description("1 while a publisher records to the path")
                        .register(registry));
        m.add(
                Gauge.builder("msm.rtsp.path.upstream.state", p, RtspMetrics::upstreamState)
                        .tag("path", n)
                        .description("pulled paths: 0 idle, 1 connecting, 2 playing")
                        .register(registry));
        m.add(
                FunctionCounter.builder(
                                "msm.rtsp.path.upstream.sessions", p, x -> x.upstreamSessions.get())
                        .tag("path", n)
                        .description("upstream sessions opened")
                        .register(registry));
        m.add(
                FunctionCounter.builder(
                                "msm.rtsp.path.upstream.failures", p, x -> x.upstreamFailures.get())
                        .tag("path", n)
                        .description("upstream sessions lost or failed to open")
                        .register(registry));
        m.add(
                FunctionCounter.builder("msm.rtsp.path.publications", p, x -> x.publications.get())
                        .tag("path", n)
                        .description("RECORDs accepted")
                        .register(registry));
        m.add(
                FunctionCounter.builder(
                                "msm.rtsp.path.receiver.reports", p, x -> x.receiverReports.get())
                        .tag("path", n)
                        .description("RTCP receiver reports from viewers")
                        .register(registry));
        m.add(
                Gauge.builder("msm.rtsp.path.viewer.loss", p, RtspMetrics::worstLoss)
                        .baseUnit("ratio")
                        .tag("path", n)
                        .description("worst fraction lost in viewers' last receiver reports")
                        .register(registry));
        List<Meter> old = perPath.put(p, m);
        if (old != null) {
            old.forEach(registry::remove);
        }
    }

    void pathRemoved(StreamPath p) {
        List<Meter> m = perPath.remove(p);
        if (m != null) {
            m.forEach(registry::remove);
        }
    }

    private static double tcpViewers(StreamPath p) {
        Stream s = p.stream;
        return s == null ? 0 : s.tracks.stream().mapToInt(Track::tcpViewers).max().orElse(0);
    }

    private static double upstreamState(StreamPath p) {
        Upstream u = p.upstream;
        if (u == null) {
            return 0;
        }
        return switch (u.state()) {
            case CONNECTING -> 1;
            case PLAYING -> 2;
            case CLOSED -> 0;
        };
    }

    private static double worstLoss(StreamPath p) {
        double w = 0;
        for (RtspSession s : p.viewers) {
            RtcpPackets.Report r = s.lastReport;
            if (r != null) {
                w = Math.max(w, r.fractionLost());
            }
        }
        return w;
    }

    void close() {
        MultiGauge g = edges;
        if (g != null) {
            g.register(List.of(), true);
        }
        for (StreamPath p : List.copyOf(perPath.keySet())) {
            pathRemoved(p);
        }
        global.forEach(registry::remove);
        registry.find("msm.rtsp.responses").meters().forEach(registry::remove);
    }
}
