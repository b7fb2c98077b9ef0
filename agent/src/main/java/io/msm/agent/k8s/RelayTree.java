package io.msm.agent.k8s;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.msm.agent.routing.Backend;
import io.msm.agent.routing.Failure;
import io.msm.agent.routing.StreamRoutes;
import java.net.URI;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Relay trees across nodes: a path that enters the cluster on another node — published to that
 * node's agent, or routed to a backend pod running there — is pulled from that node's agent, not
 * from the origin, so the origin serves one session and a stream crosses the network at most once
 * per node.
 *
 * <p>Discovery without an extra server: each agent writes the paths published to it on its own pod,
 * in the annotation {@value #PUBLISHED} (space-separated, with its RTSP port in {@value #PORT});
 * every agent already watches the agents' pods ({@link AgentPeers}), so the lookup is a read of the
 * informer's cache. A routed path's node is its chosen endpoint's {@code nodeName} in the
 * EndpointSlices. The peer agent is reached at its pod's {@code hostIP} (the agents are
 * hostNetwork).
 *
 * <p>No loops: a pull from a peer carries {@link Backend.Via#HEADER}; an agent serves such a
 * request only from its own sources ({@link #choose(String, String, boolean)} with {@code
 * fromPeer}: the route table's backend, never a peer). A peer that fails is left out for {@link
 * #PEER_DOWN_NS}: the next viewer's pull goes to the origin itself.
 */
final class RelayTree implements StreamRoutes {
    static final String PUBLISHED = "msm.io/published-paths";
    static final String PORT = "msm.io/rtsp-port";

    /** At most this many characters of published paths in the annotation (the rest: not found). */
    static final int MAX_ANNOTATION = 32 * 1024;

    static final long PEER_DOWN_NS = 15_000_000_000L;

    private final String node;
    private final Supplier<Collection<Pod>> agentPods;
    private final Supplier<Collection<EndpointSlice>> slices;
    private final StreamRoutes table;
    private final int rtspPort;
    private final BiConsumer<Pod, Map<String, String>> annotate;
    private final LongSupplier clock;
    private final Map<String, Long> downUntil = new ConcurrentHashMap<>();

    /**
     * @param annotate writes these annotations on this agent's pod (the caller runs it off the
     *     caller's thread)
     */
    RelayTree(
            String node,
            Supplier<Collection<Pod>> agentPods,
            Supplier<Collection<EndpointSlice>> slices,
            StreamRoutes table,
            int rtspPort,
            BiConsumer<Pod, Map<String, String>> annotate,
            LongSupplier clock) {
        this.node = node;
        this.agentPods = agentPods;
        this.slices = slices;
        this.table = table;
        this.rtspPort = rtspPort;
        this.annotate = annotate;
        this.clock = clock;
    }

    @Override
    public Optional<Backend> choose(String host, String path) {
        return choose(host, path, false);
    }

    @Override
    public Optional<Backend> choose(String host, String path, boolean fromPeer) {
        Optional<Backend> b = table.choose(host, path);
        if (fromPeer) {
            return b; // served from this node's own sources only: one hop, no loops
        }
        if (b.isPresent()) {
            String where = nodeOf(b.get().endpoint());
            if (where == null || where.equals(node)) {
                return b;
            }
            Optional<Backend> peer = peer(where, host, path, b.get().route());
            return peer.isPresent() ? peer : b;
        }
        // not routed: published to another node's agent?
        for (Map.Entry<String, Pod> e : agents().entrySet()) {
            if (e.getKey().equals(node)) {
                continue;
            }
            if (published(e.getValue()).contains(path.startsWith("/") ? path.substring(1) : path)) {
                Optional<Backend> peer = peer(e.getKey(), host, path, "");
                if (peer.isPresent()) {
                    return peer;
                }
            }
        }
        return Optional.empty();
    }

    @Override
    public void report(Backend backend, Failure failure) {
        if (backend.viaPeer()) {
            downUntil.put(backend.via().node(), clock.getAsLong() + PEER_DOWN_NS);
            return;
        }
        table.report(backend, failure);
    }

    /** The paths last said to be published here (written again until this agent's pod has them). */
    private volatile Set<String> lastPublished = Set.of();

    /** Writes the published paths again if this agent's pod does not have them (periodically). */
    void republish() {
        published(lastPublished);
    }

    @Override
    public void published(Set<String> paths) {
        lastPublished = paths;
        Pod self = agents().get(node);
        if (self == null) {
            return; // not seen yet: the next change (or the informer's) writes it
        }
        StringBuilder v = new StringBuilder();
        for (String p : new TreeSet<>(paths)) {
            if (v.length() + p.length() + 1 > MAX_ANNOTATION) {
                break;
            }
            if (v.length() > 0) {
                v.append(' ');
            }
            v.append(p);
        }
        Map<String, String> want =
                Map.of(PUBLISHED, v.toString(), PORT, Integer.toString(rtspPort));
        Map<String, String> have = self.getMetadata().getAnnotations();
        if (have != null
                && want.get(PUBLISHED).equals(have.get(PUBLISHED))
                && want.get(PORT).equals(have.get(PORT))) {
            return;
        }
        annotate.accept(self, want);
    }

    /** The paths an agent's pod says are published to it. */
    static Set<String> published(Pod p) {
        Map<String, String> a = p.getMetadata().getAnnotations();
        String v = a == null ? null : a.get(PUBLISHED);
        if (v == null || v.isBlank()) {
            return Set.of();
        }
        return Set.of(v.trim().split(" +"));
    }

    /** Ready agents by node name (sorted: every agent picks the same peer for a path). */
    Map<String, Pod> agents() {
        TreeMap<String, Pod> out = new TreeMap<>();
        for (Pod p : agentPods.get()) {
            if (p.getSpec() == null
                    || p.getSpec().getNodeName() == null
                    || p.getMetadata().getDeletionTimestamp() != null
                    || !AgentPeers.ready(p)) {
                continue;
            }
            out.put(p.getSpec().getNodeName(), p);
        }
        return out;
    }

    /** The node an endpoint "ip:port" runs on, from the EndpointSlices (null: unknown). */
    String nodeOf(String endpoint) {
        if (endpoint == null) {
            return null;
        }
        int colon = endpoint.lastIndexOf(':');
        String ip = colon > 0 ? endpoint.substring(0, colon) : endpoint;
        if (ip.startsWith("[") && ip.endsWith("]")) {
            ip = ip.substring(1, ip.length() - 1);
        }
        for (EndpointSlice s : slices.get()) {
            for (Endpoint e : s.getEndpoints() == null ? List.<Endpoint>of() : s.getEndpoints()) {
                if (e.getNodeName() != null
                        && e.getAddresses() != null
                        && e.getAddresses().contains(ip)) {
                    return e.getNodeName();
                }
            }
        }
        return null;
    }

    private Optional<Backend> peer(String peerNode, String host, String path, String route) {
        Long down = downUntil.get(peerNode);
        if (down != null) {
            if (clock.getAsLong() - down < 0) {
                return Optional.empty();
            }
            downUntil.remove(peerNode, down);
        }
        Pod p = agents().get(peerNode);
        if (p == null || p.getStatus() == null) {
            return Optional.empty();
        }
        String ip =
                p.getStatus().getHostIP() != null
                        ? p.getStatus().getHostIP()
                        : p.getStatus().getPodIP();
        if (ip == null) {
            return Optional.empty();
        }
        int port = rtspPort;
        Map<String, String> a = p.getMetadata().getAnnotations();
        if (a != null && a.get(PORT) != null) {
            try {
                port = Integer.parseInt(a.get(PORT));
            } catch (NumberFormatException ignored) {
                // this agent's own port then
            }
        }
        String hostPort = (ip.contains(":") ? "[" + ip + "]" : ip) + ":" + port;
        URI upstream = URI.create("rtsp://" + hostPort + path);
        return Optional.of(
                new Backend(
                        route,
                        "node " + peerNode + "'s agent",
                        hostPort,
                        upstream,
                        new Backend.Via(
                                peerNode, host == null || host.isEmpty() ? null : host, node)));
    }
}
