package io.msm.agent.game;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.msm.bpf.maps.GameBackendStats;
import io.msm.bpf.maps.GameServiceStats;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GameMetricsTest {
    final List<GameTables.BackendState> backends = new ArrayList<>();
    final Map<String, Integer> services = new LinkedHashMap<>();
    final Map<Integer, GameBackendStats> beStats = new HashMap<>();
    final Map<Integer, GameServiceStats> svcStats = new HashMap<>();
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final GameMetrics metrics =
            new GameMetrics(
                    registry,
                    new GameMetrics.Source() {
                        @Override
                        public List<GameTables.BackendState> backends() {
                            return backends;
                        }

                        @Override
                        public Map<String, Integer> services() {
                            return services;
                        }

                        @Override
                        public GameBackendStats backendStats(int id) {
                            return beStats.getOrDefault(id, GameBackendStats.ZERO);
                        }

                        @Override
                        public GameServiceStats serviceStats(int svcId) {
                            return svcStats.getOrDefault(svcId, GameServiceStats.ZERO);
                        }
                    });

    static Inet4Address ip(int i) throws Exception {
        return (Inet4Address)
                InetAddress.getByAddress(new byte[] {10, 0, (byte) (i >> 8), (byte) i});
    }

    double count(String name, String... tags) {
        return registry.get(name).tags(tags).functionCounter().count();
    }

    @Test
    void countersPerRouteAndBackendBothWaysAndDropsByReason() throws Exception {
        var b = new GameTables.Backend(ip(1), 9000, 1, null);
        backends.add(new GameTables.BackendState("arena@192.0.2.1", 0, b, true, false));
        services.put("arena@192.0.2.1", 0);
        beStats.put(0, new GameBackendStats(10, 1000, 7, 700, 2));
        svcStats.put(0, new GameServiceStats(12, 1200, 2, 1, 3, 4, 0));
        metrics.refresh();
        assertEquals(
                10,
                count(
                        "msm.game.packets",
                        "route",
                        "arena",
                        "backend",
                        "10.0.0.1:9000",
                        "direction",
                        "to_backend"));
        assertEquals(
                700,
                count(
                        "msm.game.bytes",
                        "route",
                        "arena",
                        "backend",
                        "10.0.0.1:9000",
                        "direction",
                        "from_backend"));
        assertEquals(3, count("msm.game.drops", "route", "arena", "reason", "no_backend"));
        assertEquals(4, count("msm.game.drops", "route", "arena", "reason", "token_unknown"));
        assertEquals(2, count("msm.game.sessions", "route", "arena"));
        // grows by what the kernel added; an id reused by another backend starts from there
        beStats.put(0, new GameBackendStats(15, 1500, 7, 700, 2));
        metrics.refresh();
        assertEquals(
                15,
                count(
                        "msm.game.packets",
                        "route",
                        "arena",
                        "backend",
                        "10.0.0.1:9000",
                        "direction",
                        "to_backend"));
        backends.set(
                0,
                new GameTables.BackendState(
                        "arena@192.0.2.1",
                        0,
                        new GameTables.Backend(ip(2), 9000, 1, null),
                        true,
                        false));
        metrics.refresh();
        beStats.put(0, new GameBackendStats(20, 2000, 7, 700, 2));
        metrics.refresh();
        assertEquals(
                5,
                count(
                        "msm.game.packets",
                        "route",
                        "arena",
                        "backend",
                        "10.0.0.2:9000",
                        "direction",
                        "to_backend"));
        assertEquals(1, registry.get("msm.game.backends").tags("state", "live").gauge().value());
    }

    @Test
    void labelsAreBoundedAndTheRestCountsAsOther() throws Exception {
        int n = GameMetrics.MAX_LABELS + 50;
        for (int i = 0; i < n; i++) {
            backends.add(
                    new GameTables.BackendState(
                            "route" + i,
                            i,
                            new GameTables.Backend(ip(i), 9000, 1, null),
                            true,
                            false));
            beStats.put(i, new GameBackendStats(1, 100, 0, 0, 1));
        }
        metrics.refresh();
        assertEquals(GameMetrics.MAX_LABELS, metrics.routeLabels());
        var routes =
                registry.find("msm.game.packets").tag("direction", "to_backend").functionCounters();
        long distinctRoutes =
                routes.stream().map(c -> c.getId().getTag("route")).distinct().count();
        long distinctBackends =
                routes.stream().map(c -> c.getId().getTag("backend")).distinct().count();
        assertEquals(GameMetrics.MAX_LABELS + 1, distinctRoutes); // + "other"
        assertEquals(GameMetrics.MAX_LABELS + 1, distinctBackends);
        assertEquals(
                50,
                count(
                        "msm.game.packets",
                        "route",
                        "other",
                        "backend",
                        "other",
                        "direction",
                        "to_backend"));
        double total = routes.stream().mapToDouble(c -> c.count()).sum();
        assertEquals(n, total);
        // per admitted route+backend five counters (packets, bytes each way; sessions) and a state
        // gauge, and the same for "other"
        assertTrue(
                registry.getMeters().size() <= 6 * (GameMetrics.MAX_LABELS + 1) + 20,
                "meters: " + registry.getMeters().size());
    }
}
