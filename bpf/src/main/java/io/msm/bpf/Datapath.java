package io.msm.bpf;

import io.msm.bpf.libbpf.Errno;
import io.msm.bpf.libbpf.Native;
import io.msm.bpf.maps.AllowKey;
import io.msm.bpf.maps.Attachment;
import io.msm.bpf.maps.BpfMap;
import io.msm.bpf.maps.Codec;
import io.msm.bpf.maps.Counters;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.DenyKey;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.Flow;
import io.msm.bpf.maps.FlowKey;
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
import io.msm.bpf.maps.GroupInfo;
import io.msm.bpf.maps.GroupStats;
import io.msm.bpf.maps.IdentityKey;
import io.msm.bpf.maps.IdentityName;
import io.msm.bpf.maps.MapInfo;
import io.msm.bpf.maps.Meta;
import io.msm.bpf.maps.PortTable;
import io.msm.bpf.maps.RateLimitKey;
import io.msm.bpf.maps.RateLimitState;
import io.msm.bpf.maps.RewriteState;
import io.msm.bpf.maps.SourceIdentity;
import io.msm.bpf.maps.SubStats;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The msm datapath object (msm.bpf.o): its programs and maps, either freshly loaded through libbpf
 * or re-opened from the pins a previous agent left.
 *
 * <pre>
 *   Datapath dp = Datapath.load(DatapathSpec.DEFAULT);   // verify + load
 *   dp.pin(Path.of("/sys/fs/bpf/msm"));                  // survive the process
 *   ...
 *   Datapath again = Datapath.openPinned(Path.of("/sys/fs/bpf/msm"));  // adopt
 * </pre>
 *
 * Typed views of every map are available from either.
 */
public final class Datapath implements AutoCloseable {
    public static final String OBJECT_RESOURCE = "/io/msm/bpf/msm.bpf.o";

    public static final String PROG_TC = "msm_tc_ingress";
    public static final String PROG_XDP = "msm_xdp";

    public static final String MAP_FLOWS = "msm_flows";
    public static final String MAP_COUNTERS = "msm_counters";
    public static final String MAP_CONFIG = "msm_config";
    public static final String MAP_PORTS = "msm_ports";
    public static final String MAP_META = "msm_meta";
    public static final String MAP_FANOUT = "msm_fanout_groups";
    public static final String MAP_GROUP_STATS = "msm_group_stats";
    public static final String MAP_GROUP_INFO = "msm_group_info";
    public static final String MAP_REWRITES = "msm_rewrites";
    public static final String MAP_SUB_STATS = "msm_sub_stats";
    public static final String MAP_FANOUT_SCRATCH = "msm_fanout_scratch";
    public static final String MAP_DENY = "msm_deny";
    public static final String MAP_RATELIMIT = "msm_ratelimit";
    public static final String MAP_ATTACHMENTS = "msm_attachments";
    public static final String MAP_IDENTITIES = "msm_identities";
    public static final String MAP_IDENTITY_NAMES = "msm_identity_names";
    public static final String MAP_GROUP_ALLOW = "msm_group_allow";
    public static final String MAP_GAME_SERVICES = "msm_game_services";
    public static final String MAP_GAME_MAGLEV = "msm_game_maglev";
    public static final String MAP_GAME_BACKENDS = "msm_game_backends";
    public static final String MAP_GAME_SESSIONS = "msm_game_sessions";
    public static final String MAP_GAME_REV = "msm_game_rev";
    public static final String MAP_GAME_TOKENS = "msm_game_tokens";
    public static final String MAP_GAME_BE_STATS = "msm_game_be_stats";
    public static final String MAP_GAME_SVC_STATS = "msm_game_svc_stats";

    /** Maps pinned (the scratch map is per-packet working memory, not state). */
    public static final List<String> PINNED_MAPS =
            List.of(
                    MAP_FLOWS,
                    MAP_COUNTERS,
                    MAP_CONFIG,
                    MAP_PORTS,
                    MAP_META,
                    MAP_FANOUT,
                    MAP_GROUP_STATS,
                    MAP_GROUP_INFO,
                    MAP_REWRITES,
                    MAP_SUB_STATS,
                    MAP_DENY,
                    MAP_RATELIMIT,
                    MAP_ATTACHMENTS,
                    MAP_IDENTITIES,
                    MAP_IDENTITY_NAMES,
                    MAP_GROUP_ALLOW,
                    MAP_GAME_SERVICES,
                    MAP_GAME_MAGLEV,
                    MAP_GAME_BACKENDS,
                    MAP_GAME_SESSIONS,
                    MAP_GAME_REV,
                    MAP_GAME_TOKENS,
                    MAP_GAME_BE_STATS,
                    MAP_GAME_SVC_STATS);

    public static final List<String> PROGRAMS = List.of(PROG_TC, PROG_XDP);

    /** Pin file name of a program: "prog_" + name. */
    public static String progPin(String prog) {
        return "prog_" + prog;
    }

    private final Native n;
    private final BpfObject object; // null when opened from pins
    private final Map<String, Integer> mapFds;
    private final Map<String, Integer> progFds;
    private final boolean ownsFds;
    private final byte[] sha256;
    private volatile Path pinnedAt;

    private Datapath(
            Native n,
            BpfObject object,
            Map<String, Integer> mapFds,
            Map<String, Integer> progFds,
            boolean ownsFds,
            byte[] sha256,
            Path pinnedAt) {
        this.n = n;
        this.object = object;
        this.mapFds = mapFds;
        this.progFds = progFds;
        this.ownsFds = ownsFds;
        this.sha256 = sha256;
        this.pinnedAt = pinnedAt;
    }

    // ---------------------------------------------------------------- loading

    /** The compiled object shipped on the classpath. */
    public static byte[] objectBytes() {
        return BpfObject.resource(OBJECT_RESOURCE);
    }

    public static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Verify and load the shipped object with fresh maps. */
    public static Datapath load(DatapathSpec spec) {
        return load(objectBytes(), spec, Map.of());
    }

    /**
     * Verify and load {@code elf}. Maps named in {@code reuse} (name -> fd) are not created: the
     * new programs use those maps (hot upgrade of the code with the state kept). A verifier
     * rejection throws a {@link BpfException} carrying the verifier log.
     */
    public static Datapath load(byte[] elf, DatapathSpec spec, Map<String, Integer> reuse) {
        Map<String, Integer> sizes = new LinkedHashMap<>();
        sizes.put(MAP_FLOWS, spec.flows());
        sizes.put(MAP_FANOUT, spec.groups());
        sizes.put(MAP_GROUP_STATS, spec.groups());
        sizes.put(MAP_GROUP_INFO, spec.groups());
        sizes.put(MAP_REWRITES, spec.groups());
        sizes.put(MAP_SUB_STATS, spec.subIds());
        sizes.put(MAP_DENY, spec.deny());
        sizes.put(MAP_RATELIMIT, spec.rateLimit());
        sizes.put(MAP_IDENTITIES, spec.identities());
        sizes.put(MAP_IDENTITY_NAMES, spec.identityNames());
        sizes.put(MAP_GROUP_ALLOW, spec.groupAllow());
        gameSizes(spec.gameServices(), sizes);
        BpfObject obj = BpfObject.load("msm", elf, new BpfObject.Settings(sizes, reuse));
        try {
            Map<String, Integer> progs = new LinkedHashMap<>();
            for (String p : PROGRAMS) {
                progs.put(p, obj.progFd(p));
            }
            return new Datapath(
                    Native.get(),
                    obj,
                    new LinkedHashMap<>(obj.maps()),
                    progs,
                    false,
                    sha256(elf),
                    null);
        } catch (RuntimeException e) {
            obj.close();
            throw e;
        }
    }

    /**
     * The game maps for n services: the Maglev array n × MAGLEV_SIZE, the per-service maps n; 0
     * makes every game map one entry (no game service can be programmed).
     */
    static void gameSizes(int n, Map<String, Integer> sizes) {
        if (n >= DatapathSpec.MAX_GAME_SERVICES) {
            return; // the object's defaults
        }
        sizes.put(MAP_GAME_MAGLEV, Math.max(1, n * GameService.MAGLEV_SIZE));
        sizes.put(MAP_GAME_SVC_STATS, Math.max(1, n));
        sizes.put(MAP_GAME_SERVICES, Math.max(1, n));
        if (n == 0) {
            sizes.put(MAP_GAME_BACKENDS, 1);
            sizes.put(MAP_GAME_BE_STATS, 1);
            sizes.put(MAP_GAME_SESSIONS, 1);
            sizes.put(MAP_GAME_REV, 1);
            sizes.put(MAP_GAME_TOKENS, 1);
        }
    }

    /**
     * Game services the maps can hold (the Maglev array's rows): DatapathSpec.gameServices of the
     * load, also for a pinned datapath.
     */
    public int gameServiceCapacity() {
        try (BpfMap<Integer, Integer> m = gameMaglev()) {
            return m.info().maxEntries() / GameService.MAGLEV_SIZE;
        }
    }

    // ---------------------------------------------------------------- pinning

    /** Pin every state map and both programs under dir (created if needed). */
    public Datapath pin(Path dir) {
        Path d = Bpffs.ensure(dir.toString());
        for (String m : PINNED_MAPS) {
            pinFd(mapFd(m), d.resolve(m));
        }
        for (String p : PROGRAMS) {
            pinFd(progFd(p), d.resolve(progPin(p)));
        }
        pinnedAt = d;
        return this;
    }

    private void pinFd(int fd, Path path) {
        int rc = n.bpf.bpf_obj_pin(fd, path.toString());
        if (rc < 0) {
            throw new BpfException("cannot pin " + path + ": " + n.describe(rc), rc);
        }
    }

    /** True when dir holds a complete set of msm pins. */
    public static boolean pinsPresent(Path dir) {
        for (String m : PINNED_MAPS) {
            if (!Files.exists(dir.resolve(m))) {
                return false;
            }
        }
        for (String p : PROGRAMS) {
            if (!Files.exists(dir.resolve(progPin(p)))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Re-open a pinned datapath (programs and maps). Throws with a message that says what to do
     * when the pins are missing or unreadable.
     */
    public static Datapath openPinned(Path dir) {
        Native n = Native.get();
        if (!Files.isDirectory(dir)) {
            throw new BpfException(
                    "no msm datapath pinned at "
                            + dir
                            + " (is msm-agent running? see 'msm status')",
                    2);
        }
        Map<String, Integer> maps = new LinkedHashMap<>();
        Map<String, Integer> progs = new LinkedHashMap<>();
        try {
            for (String m : PINNED_MAPS) {
                maps.put(m, objGet(n, dir.resolve(m)));
            }
            for (String p : PROGRAMS) {
                progs.put(p, objGet(n, dir.resolve(progPin(p))));
            }
        } catch (RuntimeException e) {
            maps.values().forEach(n.libc::close);
            progs.values().forEach(n.libc::close);
            throw e;
        }
        return new Datapath(n, null, maps, progs, true, null, dir);
    }

    private static int objGet(Native n, Path path) {
        int fd = n.bpf.bpf_obj_get(path.toString());
        if (fd < 0) {
            int e = n.lastErrno();
            if (e == Errno.ENOENT) {
                throw new BpfException(
                        path + " is not pinned (is msm-agent running? see 'msm status')", e);
            }
            String hint = BpfException.hintFor(e);
            throw new BpfException(
                    "cannot open "
                            + path
                            + ": "
                            + n.describe(e)
                            + (hint != null ? " — " + hint : ""),
                    e);
        }
        return fd;
    }

    /** The layout identity stored in pinned maps, without opening the rest. */
    public static Optional<Meta> readPinnedMeta(Path dir) {
        Path p = dir.resolve(MAP_META);
        if (!Files.exists(p)) {
            return Optional.empty();
        }
        Native n = Native.get();
        int fd = objGet(n, p);
        try {
            MapInfo info = BpfMap.info(n, fd);
            if (info.valueSize() != Meta.LAYOUT.size()) {
                return Optional.of(new Meta(0, -1, 0, new byte[32]));
            }
            try (BpfMap<Integer, Meta> m = new BpfMap<>(fd, false, Codec.U32, Meta.CODEC)) {
                return m.lookup(0);
            }
        } finally {
            n.libc.close(fd);
        }
    }

    // ---------------------------------------------------------------- access

    public int mapFd(String name) {
        Integer fd = mapFds.get(name);
        if (fd == null) {
            throw new BpfException("map " + name + " is not part of this datapath");
        }
        return fd;
    }

    public int progFd(String name) {
        Integer fd = progFds.get(name);
        if (fd == null) {
            throw new BpfException("program " + name + " is not part of this datapath");
        }
        return fd;
    }

    public Map<String, Integer> mapFds() {
        return Map.copyOf(mapFds);
    }

    /** Where this datapath is pinned, if it is. */
    public Optional<Path> pinnedAt() {
        return Optional.ofNullable(pinnedAt);
    }

    /** SHA-256 of the object this process loaded (null when adopted from pins). */
    public byte[] objectSha256() {
        return sha256 == null ? null : sha256.clone();
    }

    public ProgInfo progInfo(String prog) {
        return ProgInfo.of(progFd(prog));
    }

    private <K, V> BpfMap<K, V> view(String name, Codec<K> k, Codec<V> v) {
        return new BpfMap<>(mapFd(name), false, k, v);
    }

    public BpfMap<FlowKey, Flow> flows() {
        return view(MAP_FLOWS, FlowKey.CODEC, Flow.CODEC);
    }

    public BpfMap<Integer, Counters> counters() {
        return view(MAP_COUNTERS, Codec.U32, Counters.CODEC);
    }

    /** Counters summed over CPUs. */
    public Counters totals() {
        return Counters.sum(counters().lookupPerCpu(0).orElse(List.of()));
    }

    public BpfMap<Integer, DatapathConfig> config() {
        return view(MAP_CONFIG, Codec.U32, DatapathConfig.CODEC);
    }

    public BpfMap<Integer, Byte> ports() {
        return view(MAP_PORTS, Codec.U32, Codec.U8);
    }

    public BpfMap<Integer, Meta> meta() {
        return view(MAP_META, Codec.U32, Meta.CODEC);
    }

    public BpfMap<FanoutKey, FanoutGroup> fanoutGroups() {
        return view(MAP_FANOUT, FanoutKey.CODEC, FanoutGroup.CODEC);
    }

    public BpfMap<Integer, GroupStats> groupStats() {
        return view(MAP_GROUP_STATS, Codec.U32, GroupStats.CODEC);
    }

    public BpfMap<Integer, RewriteState> rewrites() {
        return view(MAP_REWRITES, Codec.U32, RewriteState.CODEC);
    }

    public BpfMap<Integer, GroupInfo> groupInfo() {
        return view(MAP_GROUP_INFO, Codec.U32, GroupInfo.CODEC);
    }

    public BpfMap<Integer, SubStats> subStats() {
        return view(MAP_SUB_STATS, Codec.U32, SubStats.CODEC);
    }

    public BpfMap<DenyKey, Long> denyList() {
        return view(MAP_DENY, DenyKey.CODEC, Codec.U64);
    }

    public BpfMap<RateLimitKey, RateLimitState> rateLimits() {
        return view(MAP_RATELIMIT, RateLimitKey.CODEC, RateLimitState.CODEC);
    }

    public BpfMap<Integer, Attachment> attachments() {
        return view(MAP_ATTACHMENTS, Codec.U32, Attachment.CODEC);
    }

    /** Source address to workload identity (absent: {@link SourceIdentity#WORLD}). */
    public BpfMap<IdentityKey, SourceIdentity> identities() {
        return view(MAP_IDENTITIES, IdentityKey.CODEC, SourceIdentity.CODEC);
    }

    /** Workload identity to its SPIFFE ID (for people). */
    public BpfMap<Integer, IdentityName> identityNames() {
        return view(MAP_IDENTITY_NAMES, Codec.U32, IdentityName.CODEC);
    }

    /** {group, identity} entries: who may feed groups with FanoutGroup.F_IDENTITY (value 1). */
    public BpfMap<AllowKey, Integer> groupAllow() {
        return view(MAP_GROUP_ALLOW, AllowKey.CODEC, Codec.U32);
    }

    /** Game service address:port to service (msm_game.h). */
    public BpfMap<GameServiceKey, GameService> gameServices() {
        return view(MAP_GAME_SERVICES, GameServiceKey.CODEC, GameService.CODEC);
    }

    /** svcId * GameService.MAGLEV_SIZE + slot to backend id. */
    public BpfMap<Integer, Integer> gameMaglev() {
        return view(MAP_GAME_MAGLEV, Codec.U32, Codec.U32);
    }

    public BpfMap<Integer, GameBackend> gameBackends() {
        return view(MAP_GAME_BACKENDS, Codec.U32, GameBackend.CODEC);
    }

    public BpfMap<GameSessionKey, GameSession> gameSessions() {
        return view(MAP_GAME_SESSIONS, GameSessionKey.CODEC, GameSession.CODEC);
    }

    public BpfMap<GameTokenKey, Integer> gameTokens() {
        return view(MAP_GAME_TOKENS, GameTokenKey.CODEC, Codec.U32);
    }

    /** Replies: (backend, the session's first client address) to session. */
    public BpfMap<GameRevKey, GameRev> gameRev() {
        return view(MAP_GAME_REV, GameRevKey.CODEC, GameRev.CODEC);
    }

    public BpfMap<Integer, GameBackendStats> gameBackendStats() {
        return view(MAP_GAME_BE_STATS, Codec.U32, GameBackendStats.CODEC);
    }

    public BpfMap<Integer, GameServiceStats> gameServiceStats() {
        return view(MAP_GAME_SVC_STATS, Codec.U32, GameServiceStats.CODEC);
    }

    /** Write the classifier config and the port table in one go. */
    public void configure(DatapathConfig cfg, int[] portFlags) {
        if ((cfg.flags() & DatapathConfig.F_GAME) != 0 && gameServiceCapacity() == 0) {
            throw new IllegalStateException(
                    "game services (DatapathConfig.F_GAME) need game maps, but this datapath was"
                            + " loaded with DatapathSpec.gameServices = 0; load it with"
                            + " withGameServices(n), n >= 1");
        }
        config().update(0, cfg);
        writePorts(portFlags);
    }

    /**
     * Write the 65536-entry port table: portFlags[port] = PortTable.F_*; only entries that differ
     * from the map are written.
     */
    public void writePorts(int[] portFlags) {
        if (portFlags.length != PortTable.SIZE) {
            throw new IllegalArgumentException("port table needs 65536 entries");
        }
        BpfMap<Integer, Byte> ports = ports();
        for (int p = 0; p < portFlags.length; p++) {
            byte want = (byte) portFlags[p];
            if (want != 0 || ports.lookup(p).orElse((byte) 0) != 0) {
                ports.update(p, want);
            }
        }
    }

    /** Stamp msm_meta with this object's identity (after a fresh load). */
    public void writeMeta(long createdNs) {
        if (sha256 == null) {
            throw new IllegalStateException("only a freshly loaded datapath knows its object hash");
        }
        meta().update(0, new Meta(Meta.MAGIC, Meta.LAYOUT_VERSION, createdNs, sha256));
    }

    @Override
    public void close() {
        if (object != null) {
            object.close();
        }
        if (ownsFds) {
            mapFds.values().forEach(n.libc::close);
            progFds.values().forEach(n.libc::close);
        }
    }
}
