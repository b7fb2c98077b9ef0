package io.msm.cli.flows;

import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.FlowKey;
import io.msm.bpf.maps.TrafficClass;
import io.msm.cli.render.Endpoints;
import io.msm.cli.source.DatapathView;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Reads flows from a datapath with the class filter applied and each flow's fan-out subscriber
 * count and source identity attached.
 */
public final class FlowReader {
    private final DatapathView view;
    private final Set<TrafficClass> classes;
    private Map<FanoutKey, Integer> subscribers;
    private Map<InetAddress, String> identities;
    private Map<String, String> gameBackends;

    /**
     * @param classes classes to keep; empty keeps all
     */
    public FlowReader(DatapathView view, Set<TrafficClass> classes) {
        this.view = view;
        this.classes =
                classes.isEmpty() ? EnumSet.allOf(TrafficClass.class) : EnumSet.copyOf(classes);
    }

    /** Visit matching flows in map order (nothing is kept). */
    public void stream(Consumer<FlowRow> visitor) {
        Map<FanoutKey, Integer> subs = subscribers();
        Map<InetAddress, String> ids = identities();
        Map<String, String> games = gameBackends();
        view.forEachFlow(
                (k, f) -> {
                    if (classes.contains(f.trafficClass())) {
                        FlowRow r =
                                new FlowRow(
                                        k,
                                        f,
                                        fanout(subs, k),
                                        ids.getOrDefault(k.src(), FlowRow.WORLD));
                        String backend =
                                games.isEmpty() || k.proto() != FlowKey.IPPROTO_UDP
                                        ? null
                                        : games.get(gameKey(r.src(), r.dst()));
                        visitor.accept(backend == null ? r : r.withBackend(backend));
                    }
                });
    }

    /** All matching flows. */
    public List<FlowRow> all() {
        List<FlowRow> out = new ArrayList<>();
        stream(out::add);
        return out;
    }

    /** Fresh subscriber counts and identities (they change while watching). */
    public void refreshGroups() {
        subscribers = null;
        identities = null;
        gameBackends = null;
    }

    /** True when a flow is a client's session of a game service (a BACKEND column). */
    public boolean anyGameSession() {
        return !gameBackends().isEmpty();
    }

    /**
     * A game session's client flow (its current address to the service) to its backend, read once
     * per refresh.
     */
    private Map<String, String> gameBackends() {
        if (gameBackends == null) {
            Map<String, String> m = new HashMap<>();
            for (DatapathView.GameSessionView g : view.gameSessions()) {
                m.put(
                        gameKey(
                                Endpoints.hostPort(g.session().curAddr(), g.session().curPort()),
                                g.service()),
                        g.backend());
            }
            gameBackends = m;
        }
        return gameBackends;
    }

    private static String gameKey(String client, String service) {
        return client + ">" + service;
    }

    /** True when the agent knows any source's workload identity (Kubernetes). */
    public boolean anyIdentity() {
        return !identities().isEmpty();
    }

    /** Source address to the name of its identity, read once per refresh. */
    private Map<InetAddress, String> identities() {
        if (identities == null) {
            Map<Integer, String> names = view.identityNames();
            Map<InetAddress, String> m = new HashMap<>();
            view.identities()
                    .forEach((a, id) -> m.put(a, names.getOrDefault(id, "identity " + id)));
            identities = m;
        }
        return identities;
    }

    private Map<FanoutKey, Integer> subscribers() {
        if (subscribers == null) {
            Map<FanoutKey, Integer> m = new HashMap<>();
            for (Map.Entry<FanoutKey, FanoutGroup> e : view.fanoutGroups().entrySet()) {
                m.put(e.getKey(), e.getValue().subs().size());
            }
            subscribers = m;
        }
        return subscribers;
    }

    /** Groups are keyed by the upstream flow's destination: UDP over IPv4 only. */
    static int fanout(Map<FanoutKey, Integer> subs, FlowKey k) {
        if (subs.isEmpty()
                || k.proto() != FlowKey.IPPROTO_UDP
                || !(k.dst() instanceof Inet4Address a)
                || k.dport() < 1) {
            return 0;
        }
        return subs.getOrDefault(new FanoutKey(a, k.dport()), 0);
    }
}
