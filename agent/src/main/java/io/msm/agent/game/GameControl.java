package io.msm.agent.game;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.msm.agent.config.GameSettings;
import io.msm.bpf.Datapath;
import io.msm.bpf.maps.BpfMap;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.GameService;
import io.msm.bpf.maps.GameServiceKey;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's owner of the game tables: merges the services of its sources ("static" from the
 * config, "gateway" from Gateway API UDPRoutes), hands them to {@link GameTables}, keeps the
 * datapath's F_GAME flag set exactly while a service exists, and runs the sweep (removed backends
 * freed once unused) and the silent-backend check on the agent's timer.
 *
 * <p>On shutdown the tables stay in the kernel, as the flow and fan-out tables do: sessions keep
 * forwarding and a restarted agent applies the same services again (same order, same ids). Once
 * every expected source has reported, services left in the kernel by an earlier agent that no
 * source wants any more are removed.
 */
public final class GameControl implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(GameControl.class);

    public static final String STATIC = "static";
    public static final String GATEWAY = "gateway";

    private final Datapath dp;
    private final GameTables tables;
    private final GameSettings settings;
    private final Supplier<List<Inet4Address>> nodeAddrs;

    /** services the kernel's game maps hold (DatapathSpec.gameServices of the load) */
    private final int capacity;

    private final Object lock = new Object();

    @GuardedBy("lock")
    private final Map<String, List<GameTables.Service>> bySource = new LinkedHashMap<>();

    @GuardedBy("lock")
    private final Set<String> expected = new HashSet<>();

    @GuardedBy("lock")
    private boolean purged;

    @GuardedBy("lock")
    private List<GameTables.Service> current = List.of();

    @GuardedBy("lock")
    private List<Inet4Address> lastAddrs = List.of();

    /**
     * @param expectedSources the sources that will report (stale kernel services are removed once
     *     all have)
     * @param nodeAddrs this node's IPv4 addresses (services without an address listen on each)
     */
    public GameControl(
            Datapath dp,
            GameSettings settings,
            Set<String> expectedSources,
            Supplier<List<Inet4Address>> nodeAddrs) {
        this.dp = dp;
        this.tables = new GameTables(dp);
        this.settings = settings;
        this.nodeAddrs = nodeAddrs;
        this.capacity = Math.min(GameService.MAX_SERVICES, dp.gameServiceCapacity());
        synchronized (lock) {
            expected.addAll(expectedSources);
        }
    }

    public Datapath datapath() {
        return dp;
    }

    public GameTables tables() {
        return tables;
    }

    /** The node addresses services listen on now. */
    public List<Inet4Address> nodeAddresses() {
        return nodeAddrs.get();
    }

    /** The services now in the kernel (all sources). */
    public List<GameTables.Service> services() {
        synchronized (lock) {
            return current;
        }
    }

    /** Apply the config's static services (on the node addresses known now). */
    public void applyStatic() {
        List<Inet4Address> addrs = nodeAddrs.get();
        synchronized (lock) {
            lastAddrs = addrs;
        }
        List<GameTables.Service> s = fromConfig(settings, addrs);
        apply(STATIC, s);
        log.info(
                "game: {} service(s) from the config on {}",
                settings.services().size(),
                addrs.isEmpty() ? "no node address yet" : addrs);
    }

    /**
     * The config's services as the kernel's: one per node address unless the service names its own
     * ("name" on one address, "name@addr" on several).
     */
    public static List<GameTables.Service> fromConfig(
            GameSettings settings, List<Inet4Address> nodeAddrs) {
        List<GameTables.Service> out = new ArrayList<>();
        for (GameSettings.Service s : settings.services()) {
            List<Inet4Address> on = s.address().map(List::of).orElse(nodeAddrs);
            int flags =
                    switch (s.sessionKey()) {
                        case CLIENT_ADDRESS -> 0;
                        case KCP -> GameService.F_KCP;
                        case TOKEN -> GameService.F_TOKEN;
                        case RAKNET -> GameService.F_RAKNET;
                    };
            List<GameTables.Backend> bs = new ArrayList<>();
            for (GameSettings.Backend b : s.backends()) {
                bs.add(new GameTables.Backend(b.address(), b.port(), b.weight(), b.token()));
            }
            for (Inet4Address a : on) {
                out.add(
                        new GameTables.Service(
                                on.size() == 1 ? s.name() : s.name() + "@" + a.getHostAddress(),
                                a,
                                s.port(),
                                flags,
                                s.kcpOffset(),
                                s.tokenLength(),
                                s.idleTimeout(),
                                List.copyOf(bs),
                                s.rebind(),
                                s.rebindConfirm()));
            }
        }
        return out;
    }

    /**
     * Replace one source's services. A service whose address and port another source already has is
     * left out (the static config wins over the Gateway API) and logged; so is one past the
     * kernel's limit of services. Returns the names left out.
     */
    public List<String> apply(String source, List<GameTables.Service> services) {
        synchronized (lock) {
            bySource.put(source, List.copyOf(services));
            List<GameTables.Service> merged = new ArrayList<>();
            Set<String> at = new HashSet<>();
            Set<String> names = new HashSet<>();
            List<String> left = new ArrayList<>();
            List<String> order = new ArrayList<>(bySource.keySet());
            order.sort((x, y) -> x.equals(STATIC) ? -1 : y.equals(STATIC) ? 1 : x.compareTo(y));
            for (String src : order) {
                for (GameTables.Service s : bySource.get(src)) {
                    String key = s.addr().getHostAddress() + ":" + s.port();
                    if (!at.add(key) || !names.add(s.name())) {
                        log.warn(
                                "game service {} ({}) left out: {} is already served",
                                s.name(),
                                src,
                                key);
                        left.add(s.name());
                    } else if (merged.size() >= capacity) {
                        log.warn(
                                "game service {} left out: the kernel's game maps hold {} service(s)"
                                        + " (datapath.max-game-services when the datapath was"
                                        + " loaded; pinned maps keep their size until 'msm-agent"
                                        + " cleanup')",
                                s.name(),
                                capacity);
                        left.add(s.name());
                    } else {
                        merged.add(s);
                    }
                }
            }
            // the flag first when services appear (the tables are complete before packets
            // match), last when they go
            if (!merged.isEmpty()) {
                setFlag(true);
            }
            tables.apply(merged);
            if (merged.isEmpty()) {
                setFlag(false);
            }
            current = List.copyOf(merged);
            if (!purged && bySource.keySet().containsAll(expected)) {
                purged = true;
                purgeStale(merged);
            }
            return left;
        }
    }

    /** Services an earlier agent left in the kernel that no source wants now. */
    @GuardedBy("lock")
    private void purgeStale(List<GameTables.Service> merged) {
        Set<GameServiceKey> want = new HashSet<>();
        for (GameTables.Service s : merged) {
            want.add(new GameServiceKey(s.addr(), s.port()));
        }
        int n = 0;
        try (BpfMap<GameServiceKey, GameService> m = dp.gameServices()) {
            for (GameServiceKey k : m.keys()) {
                if (!want.contains(k)) {
                    m.delete(k);
                    n++;
                }
            }
        }
        if (n > 0) {
            log.info("removed {} game service(s) an earlier agent left in the kernel", n);
        }
    }

    private void setFlag(boolean on) {
        try (BpfMap<Integer, DatapathConfig> m = dp.config()) {
            DatapathConfig c = m.lookup(0).orElse(DatapathConfig.defaults());
            int f = on ? c.flags() | DatapathConfig.F_GAME : c.flags() & ~DatapathConfig.F_GAME;
            if (f != c.flags()) {
                m.update(0, c.withFlags(f));
                log.info("game services {} in the datapath", on ? "on" : "off");
            }
        }
    }

    /**
     * Sweep and silent-backend check on the agent's timer; static services follow the node's
     * addresses.
     */
    public void schedule(ScheduledExecutorService timers) {
        long sweep = settings.sweepInterval().toMillis();
        timers.scheduleWithFixedDelay(this::sweepRound, sweep, sweep, TimeUnit.MILLISECONDS);
        long silent = settings.silentInterval().toMillis();
        timers.scheduleWithFixedDelay(this::silentRound, silent, silent, TimeUnit.MILLISECONDS);
    }

    void sweepRound() {
        try {
            List<Inet4Address> addrs = nodeAddrs.get();
            boolean moved;
            synchronized (lock) {
                moved = !addrs.equals(lastAddrs) && settings.any();
            }
            if (moved) {
                log.info("node addresses now {}: static game services follow", addrs);
                applyStatic();
            }
            int freed = tables.sweep();
            if (freed > 0) {
                log.info("freed {} removed game backend(s) no session uses any more", freed);
            }
        } catch (RuntimeException e) {
            log.warn("game sweep failed: {}", e.toString());
        }
    }

    void silentRound() {
        try {
            tables.checkSilent(settings.silentMinPackets());
        } catch (RuntimeException e) {
            log.warn("game silent-backend check failed: {}", e.toString());
        }
    }

    /** IPv4 addresses of these interfaces, loopback and link-local left out. */
    public static List<Inet4Address> interfaceAddresses(List<String> ifnames) {
        List<Inet4Address> out = new ArrayList<>();
        for (String n : ifnames) {
            try {
                NetworkInterface ni = NetworkInterface.getByName(n);
                if (ni == null) {
                    continue;
                }
                for (Enumeration<InetAddress> e = ni.getInetAddresses(); e.hasMoreElements(); ) {
                    InetAddress a = e.nextElement();
                    if (a instanceof Inet4Address v4
                            && !v4.isLoopbackAddress()
                            && !v4.isLinkLocalAddress()
                            && !out.contains(v4)) {
                        out.add(v4);
                    }
                }
            } catch (SocketException e) {
                // gone meanwhile
            }
        }
        out.sort((x, y) -> x.getHostAddress().compareTo(y.getHostAddress()));
        return List.copyOf(out);
    }

    /** The kernel tables stay (sessions keep forwarding); nothing to stop but the timers. */
    @Override
    public void close() {}
}
