package io.msm.agent.game;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.msm.bpf.Datapath;
import io.msm.bpf.maps.BpfMap;
import io.msm.bpf.maps.GameBackend;
import io.msm.bpf.maps.GameBackendStats;
import io.msm.bpf.maps.GameRev;
import io.msm.bpf.maps.GameRevKey;
import io.msm.bpf.maps.GameService;
import io.msm.bpf.maps.GameServiceKey;
import io.msm.bpf.maps.GameServiceStats;
import io.msm.bpf.maps.GameSession;
import io.msm.bpf.maps.GameSessionKey;
import io.msm.bpf.maps.GameTokenKey;
import java.net.Inet4Address;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes the kernel's game-service tables (msm_game.h) from the wanted state: services, their
 * backends with weights and routing tokens. Service and backend ids are stable while a service or
 * backend exists; a backend that leaves (endpoint removed) or stops answering ({@link
 * #checkSilent}) becomes DRAINING: out of the Maglev table, so no new session picks it, while the
 * sessions pinned to it keep it until idle; {@link #sweep} frees a removed backend's id once no
 * session refers to it.
 */
public final class GameTables {
    /** One endpoint: address, port, weight (0: no new sessions), routing token or null. */
    public record Backend(Inet4Address addr, int port, int weight, byte[] token) {
        String id() {
            return addr.getHostAddress() + ":" + port;
        }
    }

    /**
     * Who may move a KCP session's replies to a new client address (the session key is the
     * conversation id, which anyone who learns or guesses it can send from anywhere): compared with
     * the session's first address; a packet against the policy is dropped and counted
     * (GameServiceStats.rebindRefused). See the bpf README, "game services: rebinding".
     */
    public enum Rebind {
        /** Same IP, another port: the NAT rebinding of a home router or CGNAT (default). */
        PORT(GameService.REBIND_PORT),
        /** Any address of the first address's IPv4 /24. */
        PREFIX(GameService.REBIND_PREFIX),
        /** Anywhere (a phone moving from Wi-Fi to mobile data). Unsafe: see the README. */
        ANY(GameService.REBIND_ANY),
        /** Never: only the first address:port. */
        NONE(GameService.REBIND_NONE);

        private final int kernel;

        Rebind(int kernel) {
            this.kernel = kernel;
        }

        /** GameService.REBIND_* */
        public int kernel() {
            return kernel;
        }

        /** "port", "prefix", "any", "none" (as configuration spells it). */
        public static Rebind parse(String s) {
            for (Rebind r : values()) {
                if (r.name().equalsIgnoreCase(s.trim())) {
                    return r;
                }
            }
            throw new IllegalArgumentException(
                    "rebind must be one of port, prefix, any, none; got " + s);
        }
    }

    /**
     * A UDP service (a Gateway listener with its route): flags are GameService.F_*; keyOff the KCP
     * conversation id's offset in the payload; tokenLen the routing tokens' length; rebind who may
     * move a session's replies to a new client address, after rebindConfirm packets in a row from
     * it (0 or 1: the first packet moves them).
     */
    public record Service(
            String name,
            Inet4Address addr,
            int port,
            int flags,
            int keyOff,
            int tokenLen,
            Duration idle,
            List<Backend> backends,
            Rebind rebind,
            int rebindConfirm) {
        public Service {
            if (rebind == null) {
                rebind = Rebind.PORT;
            }
            if (rebindConfirm < 0 || rebindConfirm > 0xffff) {
                throw new IllegalArgumentException("rebindConfirm must be 0..65535");
            }
        }

        /** Rebinding within the first IP ({@link Rebind#PORT}), at the first packet. */
        public Service(
                String name,
                Inet4Address addr,
                int port,
                int flags,
                int keyOff,
                int tokenLen,
                Duration idle,
                List<Backend> backends) {
            this(name, addr, port, flags, keyOff, tokenLen, idle, backends, Rebind.PORT, 0);
        }
    }

    /** What people and metrics see of a backend. */
    public record BackendState(
            String service, int id, Backend backend, boolean live, boolean silent) {}

    private final Object lock = new Object();
    private final Datapath dp;

    @GuardedBy("lock")
    private final Map<String, Integer> svcIds = new HashMap<>();

    @GuardedBy("lock")
    private final Map<String, GameServiceKey> svcKeys = new HashMap<>();

    /** "service|addr:port" -> backend id; removed backends stay until swept */
    @GuardedBy("lock")
    private final Map<String, Integer> backendIds = new LinkedHashMap<>();

    @GuardedBy("lock")
    private final Map<Integer, BackendState> backends = new HashMap<>();

    @GuardedBy("lock")
    private final Map<Integer, int[]> tables = new HashMap<>();

    @GuardedBy("lock")
    private final Set<GameTokenKey> tokens = new HashSet<>();

    @GuardedBy("lock")
    private final Set<Integer> silent = new HashSet<>();

    @GuardedBy("lock")
    private final Map<Integer, GameBackendStats> lastStats = new HashMap<>();

    @GuardedBy("lock")
    private List<Service> wanted = List.of();

    @GuardedBy("lock")
    private int capacity = -1;

    public GameTables(Datapath dp) {
        this.dp = dp;
    }

    /** Program the kernel for exactly these services. */
    public void apply(List<Service> services) {
        synchronized (lock) {
            wanted = List.copyOf(services);
            program();
        }
    }

    @GuardedBy("lock")
    private void program() {
        Set<String> liveSvcs = new HashSet<>();
        Set<String> liveBackends = new HashSet<>();
        Set<GameTokenKey> wantTokens = new HashSet<>();
        if (!wanted.isEmpty() && serviceCapacity() == 0) {
            throw new IllegalStateException(
                    "no game maps: the datapath was loaded with DatapathSpec.gameServices = 0");
        }
        try (BpfMap<GameServiceKey, GameService> svcMap = dp.gameServices();
                BpfMap<Integer, GameBackend> beMap = dp.gameBackends();
                BpfMap<Integer, Integer> maglev = dp.gameMaglev();
                BpfMap<GameTokenKey, Integer> tokMap = dp.gameTokens();
                BpfMap<Integer, GameServiceStats> svcStats = dp.gameServiceStats();
                BpfMap<Integer, GameBackendStats> beStats = dp.gameBackendStats()) {
            // an address:port a wanted service has is never deleted, also when it passes from a
            // removed (or moved) service to another of another name
            Set<GameServiceKey> wantKeys = new HashSet<>();
            for (Service s : wanted) {
                wantKeys.add(new GameServiceKey(s.addr(), s.port()));
            }
            for (Service s : wanted) {
                boolean newSvc = !svcIds.containsKey(s.name());
                int svcId =
                        svcIds.computeIfAbsent(
                                s.name(), n -> freeId(svcIds.values(), serviceCapacity()));
                if (newSvc) {
                    // a reused id: its counters start again (metrics, and nothing inherited)
                    svcStats.update(svcId, GameServiceStats.ZERO);
                }
                liveSvcs.add(s.name());
                List<Maglev.Entry> entries = new ArrayList<>();
                List<Integer> ids = new ArrayList<>();
                for (Backend b : s.backends()) {
                    String key = s.name() + "|" + b.id();
                    boolean newBackend = !backendIds.containsKey(key);
                    int id =
                            backendIds.computeIfAbsent(
                                    key,
                                    k -> freeId(backendIds.values(), GameService.MAX_BACKENDS));
                    if (newBackend) {
                        // a reused id's old counters would make checkSilent see the packets
                        // its previous backend received and never answered
                        beStats.update(id, GameBackendStats.ZERO);
                        lastStats.remove(id);
                    }
                    liveBackends.add(key);
                    boolean isSilent = silent.contains(id);
                    boolean live = b.weight() > 0 && !isSilent;
                    beMap.update(
                            id,
                            new GameBackend(
                                    b.addr(),
                                    b.port(),
                                    live ? GameBackend.F_LIVE : GameBackend.F_DRAINING,
                                    svcId));
                    backends.put(id, new BackendState(s.name(), id, b, live, isSilent));
                    if (live) {
                        entries.add(new Maglev.Entry(b.id(), b.weight()));
                        ids.add(id);
                    }
                    if (b.token() != null && (s.flags() & GameService.F_TOKEN) != 0) {
                        GameTokenKey tk = new GameTokenKey(svcId, b.token());
                        wantTokens.add(tk);
                        tokMap.update(tk, id);
                    }
                }
                int[] slots = Maglev.build(entries, GameService.MAGLEV_SIZE);
                int[] row = new int[slots.length];
                for (int i = 0; i < slots.length; i++) {
                    row[i] = slots[i] < 0 ? GameService.NO_BACKEND : ids.get(slots[i]);
                }
                int[] old = tables.get(svcId);
                int base = svcId * GameService.MAGLEV_SIZE;
                for (int i = 0; i < row.length; i++) {
                    if (old == null || old[i] != row[i]) {
                        maglev.update(base + i, row[i]);
                    }
                }
                tables.put(svcId, row);
                GameServiceKey sk = new GameServiceKey(s.addr(), s.port());
                GameServiceKey prev = svcKeys.put(s.name(), sk);
                if (prev != null && !prev.equals(sk) && !wantKeys.contains(prev)) {
                    svcMap.delete(prev);
                }
                long idle = s.idle() == null ? 0 : s.idle().toNanos();
                svcMap.update(
                        sk,
                        new GameService(
                                svcId,
                                s.flags(),
                                s.keyOff(),
                                s.tokenLen(),
                                s.rebind().kernel(),
                                s.rebindConfirm(),
                                idle));
            }
            for (var it = svcIds.entrySet().iterator(); it.hasNext(); ) {
                var e = it.next();
                if (!liveSvcs.contains(e.getKey())) {
                    GameServiceKey sk = svcKeys.remove(e.getKey());
                    if (sk != null && !wantKeys.contains(sk)) {
                        svcMap.delete(sk);
                    }
                    tables.remove(e.getValue());
                    it.remove();
                }
            }
            for (var e : backendIds.entrySet()) {
                if (!liveBackends.contains(e.getKey())) {
                    BackendState st = backends.get(e.getValue());
                    if (st != null && st.live()) {
                        beMap.update(
                                e.getValue(),
                                new GameBackend(
                                        st.backend().addr(),
                                        st.backend().port(),
                                        GameBackend.F_DRAINING,
                                        svcIdOf(st.service())));
                        backends.put(
                                e.getValue(),
                                new BackendState(
                                        st.service(), st.id(), st.backend(), false, st.silent()));
                    }
                }
            }
            for (GameTokenKey t : tokens) {
                if (!wantTokens.contains(t)) {
                    tokMap.delete(t);
                }
            }
            tokens.clear();
            tokens.addAll(wantTokens);
        }
    }

    /** Service ids the kernel's maps hold (DatapathSpec.gameServices), read once. */
    @GuardedBy("lock")
    private int serviceCapacity() {
        if (capacity < 0) {
            capacity = Math.min(GameService.MAX_SERVICES, dp.gameServiceCapacity());
        }
        return capacity;
    }

    @GuardedBy("lock")
    private int svcIdOf(String service) {
        Integer id = svcIds.get(service);
        return id == null ? -1 : id;
    }

    private static int freeId(Collection<Integer> used, int max) {
        Set<Integer> u = new HashSet<>(used);
        for (int i = 0; i < max; i++) {
            if (!u.contains(i)) {
                return i;
            }
        }
        throw new IllegalStateException("no free id below " + max);
    }

    /**
     * Backends that received at least minPackets since the last check and sent nothing back are
     * taken out of new choices; a silent backend that answers again is put back. Returns the ids
     * now silent.
     */
    public Set<Integer> checkSilent(long minPackets) {
        synchronized (lock) {
            boolean changed = false;
            try (BpfMap<Integer, GameBackendStats> m = dp.gameBackendStats()) {
                for (int id : new ArrayList<>(backends.keySet())) {
                    GameBackendStats now =
                            m.lookupPerCpu(id)
                                    .map(GameBackendStats::sum)
                                    .orElse(GameBackendStats.ZERO);
                    GameBackendStats was = lastStats.getOrDefault(id, GameBackendStats.ZERO);
                    lastStats.put(id, now);
                    long to = now.toPackets() - was.toPackets();
                    long from = now.fromPackets() - was.fromPackets();
                    if (from > 0 && silent.remove(id)) {
                        changed = true;
                    } else if (to >= minPackets && from == 0 && silent.add(id)) {
                        changed = true;
                    }
                }
            }
            if (changed) {
                program();
            }
            return Set.copyOf(silent);
        }
    }

    /**
     * Free removed backends no session refers to any more; returns how many were freed. Also tidies
     * the reply index (msm_game_rev): entries whose session is gone (LRU-evicted, idle, re-chosen)
     * or no longer matches are removed, and a session without its entry gets it back (two sessions
     * from one client address:port to one backend share one entry; when the one that wrote it ends,
     * the kernel removes it and the other's comes back here).
     */
    public int sweep() {
        synchronized (lock) {
            Set<Integer> referenced = new HashSet<>();
            Map<GameSessionKey, GameSession> sessions = new HashMap<>();
            try (BpfMap<GameSessionKey, GameSession> s = dp.gameSessions()) {
                s.forEach(
                        (k, v) -> {
                            referenced.add(v.backend());
                            sessions.put(k, v);
                        });
            }
            sweepReplies(sessions);
            Set<String> wantedKeys = new HashSet<>();
            for (Service s : wanted) {
                for (Backend b : s.backends()) {
                    wantedKeys.add(s.name() + "|" + b.id());
                }
            }
            int freed = 0;
            try (BpfMap<Integer, GameBackend> beMap = dp.gameBackends()) {
                for (var it = backendIds.entrySet().iterator(); it.hasNext(); ) {
                    var e = it.next();
                    if (!wantedKeys.contains(e.getKey()) && !referenced.contains(e.getValue())) {
                        beMap.update(e.getValue(), new GameBackend(ANY, 0, 0, -1));
                        backends.remove(e.getValue());
                        silent.remove(e.getValue());
                        lastStats.remove(e.getValue());
                        it.remove();
                        freed++;
                    }
                }
            }
            return freed;
        }
    }

    @GuardedBy("lock")
    private void sweepReplies(Map<GameSessionKey, GameSession> sessions) {
        Map<Integer, GameServiceKey> svcById = new HashMap<>();
        for (var e : svcIds.entrySet()) {
            GameServiceKey k = svcKeys.get(e.getKey());
            if (k != null) {
                svcById.put(e.getValue(), k);
            }
        }
        try (BpfMap<GameRevKey, GameRev> rev = dp.gameRev();
                BpfMap<Integer, GameBackend> beMap = dp.gameBackends()) {
            Map<GameRevKey, GameRev> entries = new HashMap<>();
            rev.forEach(entries::put);
            Map<Integer, GameBackend> bes = new HashMap<>();
            Set<GameRevKey> stale = new HashSet<>();
            for (var e : entries.entrySet()) {
                GameSession s = sessions.get(e.getValue().session());
                GameRevKey want = s == null ? null : revKey(s, bes, beMap);
                if (!e.getKey().equals(want)) {
                    stale.add(e.getKey());
                }
            }
            for (GameRevKey k : stale) {
                rev.delete(k);
                entries.remove(k);
            }
            for (var e : sessions.entrySet()) {
                if (e.getKey().kind() == GameSessionKey.KIND_RAKNET) {
                    continue; // a RakNet GUID only picks the backend: replies go by address
                }
                GameRevKey k = revKey(e.getValue(), bes, beMap);
                GameServiceKey svc = svcById.get(e.getKey().svcId());
                if (k != null && svc != null && !entries.containsKey(k)) {
                    GameRev v = new GameRev(e.getKey(), svc.addr(), svc.port());
                    rev.update(k, v);
                    entries.put(k, v);
                }
            }
        }
    }

    /** The reply-index key of a session: (its backend, its first client address), or null. */
    private static GameRevKey revKey(
            GameSession s, Map<Integer, GameBackend> cache, BpfMap<Integer, GameBackend> beMap) {
        GameBackend b = cache.computeIfAbsent(s.backend(), id -> beMap.lookup(id).orElse(null));
        if (b == null || b.flags() == 0) {
            return null;
        }
        return new GameRevKey(b.addr(), s.origAddr(), b.port(), s.origPort());
    }

    /** The backends known now (live, draining, silent), for people and metrics. */
    public List<BackendState> backends() {
        synchronized (lock) {
            return List.copyOf(backends.values());
        }
    }

    /** Backend id of service's addr:port, or -1. */
    public int backendId(String service, Inet4Address addr, int port) {
        synchronized (lock) {
            Integer id = backendIds.get(service + "|" + addr.getHostAddress() + ":" + port);
            return id == null ? -1 : id;
        }
    }

    /** Service id of a service, or -1. */
    public int serviceId(String service) {
        synchronized (lock) {
            return svcIdOf(service);
        }
    }

    private static final Inet4Address ANY;

    static {
        try {
            ANY = (Inet4Address) Inet4Address.getByAddress(new byte[4]);
        } catch (UnknownHostException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
