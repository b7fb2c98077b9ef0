package io.msm.agent.game;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.msm.bpf.Datapath;
import io.msm.bpf.maps.GameBackendStats;
import io.msm.bpf.maps.GameServiceStats;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The kernel's game counters (per backend, per service) as Prometheus metrics, read once per scrape
 * ({@link #refresh}). Labels are bounded: at most {@link #MAX_LABELS} distinct route names and as
 * many backends get their own series, the rest count under {@code other} (as msm_rtsp_tree_edges
 * does). Counters add the kernel's increments, so they stay monotonic when a backend id is freed
 * and reused or a service is renamed.
 *
 * <pre>
 * msm_game_packets_total{route, backend, direction="to_backend"|"from_backend"}
 * msm_game_bytes_total{route, backend, direction}
 * msm_game_backend_sessions_total{route, backend}     sessions that chose the backend
 * msm_game_sessions_total{route}                      new sessions of the service
 * msm_game_rebinds_total{route}                       sessions whose client address changed
 * msm_game_drops_total{route, reason="no_backend"|"token_unknown"|"rebind_refused"|"error"}
 * msm_game_backends{route, state="live"|"draining"|"silent"}
 * </pre>
 *
 * The route label is the service's name ("arena" from the config, "namespace/gateway/listener" from
 * the Gateway API), without the "@address" of a service on several node addresses.
 */
public final class GameMetrics {
    /** Distinct values each of the route and backend labels may take. */
    public static final int MAX_LABELS = 256;

    public static final String OTHER = "other";

    /** Raw per-id counters, as read from the kernel (tests give their own). */
    public interface Source {
        List<GameTables.BackendState> backends();

        /** Service names with their kernel ids. */
        Map<String, Integer> services();

        GameBackendStats backendStats(int id);

        GameServiceStats serviceStats(int svcId);
    }

    private final MeterRegistry registry;
    private final Source source;

    @GuardedBy("this")
    private final Set<String> routes = new HashSet<>();

    @GuardedBy("this")
    private final Set<String> backendLabels = new HashSet<>();

    /** "owner" of an id last time (service|addr:port) and its raw counters */
    @GuardedBy("this")
    private final Map<Integer, String> beOwner = new HashMap<>();

    @GuardedBy("this")
    private final Map<Integer, GameBackendStats> beLast = new HashMap<>();

    @GuardedBy("this")
    private final Map<String, GameServiceStats> svcLast = new HashMap<>();

    /** name + tags -> accumulated value; read by the FunctionCounters */
    private final Map<List<String>, double[]> totals = new ConcurrentHashMap<>();

    private final MultiGauge backendStates;

    public GameMetrics(MeterRegistry registry, Source source) {
        this.registry = registry;
        this.source = source;
        this.backendStates =
                MultiGauge.builder("msm.game.backends")
                        .description(
                                "game backends by state: live, draining (removed, sessions"
                                        + " left), silent (receives but never answers)")
                        .register(registry);
    }

    /** Metrics of the agent's game tables. */
    public static GameMetrics of(MeterRegistry registry, GameControl control) {
        GameTables t = control.tables();
        Supplier<Datapath> dp = control::datapath;
        return new GameMetrics(
                registry,
                new Source() {
                    @Override
                    public List<GameTables.BackendState> backends() {
                        return t.backends();
                    }

                    @Override
                    public Map<String, Integer> services() {
                        Map<String, Integer> m = new TreeMap<>();
                        for (GameTables.Service s : control.services()) {
                            int id = t.serviceId(s.name());
                            if (id >= 0) {
                                m.put(s.name(), id);
                            }
                        }
                        return m;
                    }

                    @Override
                    public GameBackendStats backendStats(int id) {
                        try (var m = dp.get().gameBackendStats()) {
                            return m.lookupPerCpu(id)
                                    .map(GameBackendStats::sum)
                                    .orElse(GameBackendStats.ZERO);
                        }
                    }

                    @Override
                    public GameServiceStats serviceStats(int svcId) {
                        try (var m = dp.get().gameServiceStats()) {
                            return m.lookupPerCpu(svcId)
                                    .map(GameServiceStats::sum)
                                    .orElse(GameServiceStats.ZERO);
                        }
                    }
                });
    }

    /** The route label of a service name: its own, or "other" past the cap. */
    @GuardedBy("this")
    private String route(String service) {
        int at = service.indexOf('@');
        String r = at < 0 ? service : service.substring(0, at);
        return admit(routes, r);
    }

    private static String admit(Set<String> seen, String value) {
        if (seen.contains(value)) {
            return value;
        }
        if (seen.size() >= MAX_LABELS) {
            return OTHER;
        }
        seen.add(value);
        return value;
    }

    /** Read the kernel's counters once and add what grew since the last scrape. */
    public synchronized void refresh() {
        try {
            refreshLocked();
        } catch (RuntimeException e) {
            // a failed read must not fail the scrape: the counters keep their values
        }
    }

    @GuardedBy("this")
    private void refreshLocked() {
        Map<List<String>, Integer> states =
                new TreeMap<>((a, b) -> a.toString().compareTo(b.toString()));
        for (GameTables.BackendState b : source.backends()) {
            String owner = b.service() + "|" + b.backend().id();
            String r = route(b.service());
            String be = admit(backendLabels, b.backend().id());
            GameBackendStats now = source.backendStats(b.id());
            String prev = beOwner.put(b.id(), owner);
            // first sight: everything so far is this backend's; a new owner of a reused id: from
            // here
            GameBackendStats was =
                    prev == null
                            ? GameBackendStats.ZERO
                            : prev.equals(owner)
                                    ? beLast.getOrDefault(b.id(), GameBackendStats.ZERO)
                                    : now;
            beLast.put(b.id(), now);
            add(
                    "msm.game.packets",
                    List.of(r, be, "to_backend"),
                    delta(now.toPackets(), was.toPackets()));
            add(
                    "msm.game.packets",
                    List.of(r, be, "from_backend"),
                    delta(now.fromPackets(), was.fromPackets()));
            add(
                    "msm.game.bytes",
                    List.of(r, be, "to_backend"),
                    delta(now.toBytes(), was.toBytes()));
            add(
                    "msm.game.bytes",
                    List.of(r, be, "from_backend"),
                    delta(now.fromBytes(), was.fromBytes()));
            add("msm.game.backend.sessions", List.of(r, be), delta(now.sessions(), was.sessions()));
            String state = b.silent() ? "silent" : b.live() ? "live" : "draining";
            states.merge(List.of(r, state), 1, Integer::sum);
        }
        for (Map.Entry<String, Integer> s : source.services().entrySet()) {
            String r = route(s.getKey());
            GameServiceStats now = source.serviceStats(s.getValue());
            String k = s.getKey() + "#" + s.getValue();
            GameServiceStats was = svcLast.getOrDefault(k, GameServiceStats.ZERO);
            svcLast.put(k, now);
            add("msm.game.sessions", List.of(r), delta(now.sessions(), was.sessions()));
            add("msm.game.rebinds", List.of(r), delta(now.rebinds(), was.rebinds()));
            add(
                    "msm.game.drops",
                    List.of(r, "no_backend"),
                    delta(now.noBackend(), was.noBackend()));
            add(
                    "msm.game.drops",
                    List.of(r, "token_unknown"),
                    delta(now.tokenUnknown(), was.tokenUnknown()));
            add("msm.game.drops", List.of(r, "error"), delta(now.errors(), was.errors()));
            add(
                    "msm.game.drops",
                    List.of(r, "rebind_refused"),
                    delta(now.rebindRefused(), was.rebindRefused()));
        }
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        for (Map.Entry<List<String>, Integer> e : states.entrySet()) {
            rows.add(
                    MultiGauge.Row.of(
                            Tags.of("route", e.getKey().get(0), "state", e.getKey().get(1)),
                            e.getValue()));
        }
        backendStates.register(rows, true);
    }

    private static long delta(long now, long was) {
        return now >= was ? now - was : now; // the kernel's counter was reset: all of it is new
    }

    private void add(String name, List<String> labels, long n) {
        List<String> key = new ArrayList<>();
        key.add(name);
        key.addAll(labels);
        double[] cell =
                totals.computeIfAbsent(
                        List.copyOf(key),
                        k -> {
                            double[] c = new double[1];
                            register(name, labels, c);
                            return c;
                        });
        synchronized (cell) {
            cell[0] += n;
        }
    }

    private void register(String name, List<String> labels, double[] cell) {
        Tags tags = Tags.of("route", labels.get(0));
        String description;
        switch (name) {
            case "msm.game.packets", "msm.game.bytes" -> {
                tags = tags.and("backend", labels.get(1), "direction", labels.get(2));
                description =
                        (name.endsWith("packets") ? "packets" : "bytes")
                                + " between game clients and a backend, each way";
            }
            case "msm.game.backend.sessions" -> {
                tags = tags.and("backend", labels.get(1));
                description = "game sessions that chose the backend";
            }
            case "msm.game.drops" -> {
                tags = tags.and("reason", labels.get(1));
                description =
                        "game packets dropped: no backend to choose, unknown routing token, error";
            }
            default ->
                    description =
                            name.endsWith("sessions")
                                    ? "new game sessions of the service"
                                    : "game sessions whose client address changed (NAT rebinding)";
        }
        FunctionCounter.builder(
                        name,
                        cell,
                        c -> {
                            synchronized (c) {
                                return c[0];
                            }
                        })
                .description(description)
                .tags(tags)
                .register(registry);
    }

    /** Distinct route labels handed out (tests). */
    synchronized int routeLabels() {
        return routes.size();
    }
}
