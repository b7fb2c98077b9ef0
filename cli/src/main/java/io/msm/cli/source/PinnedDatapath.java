package io.msm.cli.source;

import io.msm.bpf.BpfException;
import io.msm.bpf.Datapath;
import io.msm.bpf.ProgInfo;
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
import io.msm.bpf.maps.GroupInfo;
import io.msm.bpf.maps.GroupStats;
import io.msm.bpf.maps.IdentityKey;
import io.msm.bpf.maps.IdentityName;
import io.msm.bpf.maps.MapInfo;
import io.msm.bpf.maps.Meta;
import io.msm.bpf.maps.RateLimitKey;
import io.msm.bpf.maps.RateLimitState;
import io.msm.bpf.maps.RewriteState;
import io.msm.bpf.maps.SourceIdentity;
import io.msm.bpf.maps.SubStats;
import io.msm.cli.CliFailure;
import io.msm.cli.ExitCode;
import io.msm.cli.Failures;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.BiConsumer;

/**
 * The datapath as the agent pinned it, read straight from the BPF maps. The layout is checked when
 * it is opened, so a CLI from another release fails with one clear message instead of misreading
 * bytes.
 */
public final class PinnedDatapath implements DatapathView {
    /** Key and value sizes this release's structs have, per pinned map. */
    static final Map<String, int[]> EXPECTED_SIZES = expectedSizes();

    private final Datapath dp;
    private final Path dir;
    private final BpfMap<FlowKey, Flow> flows;
    private final BpfMap<FanoutKey, FanoutGroup> fanout;
    private final BpfMap<Integer, GroupStats> groupStats;
    private final BpfMap<Integer, SubStats> subStats;

    private PinnedDatapath(Datapath dp, Path dir) {
        this.dp = dp;
        this.dir = dir;
        this.flows = dp.flows();
        this.fanout = dp.fanoutGroups();
        this.groupStats = dp.groupStats();
        this.subStats = dp.subStats();
    }

    private static Map<String, int[]> expectedSizes() {
        Map<String, int[]> m = new LinkedHashMap<>();
        m.put(Datapath.MAP_FLOWS, sizes(FlowKey.CODEC, Flow.CODEC));
        m.put(Datapath.MAP_COUNTERS, sizes(Codec.U32, Counters.CODEC));
        m.put(Datapath.MAP_CONFIG, sizes(Codec.U32, DatapathConfig.CODEC));
        m.put(Datapath.MAP_PORTS, sizes(Codec.U32, Codec.U8));
        m.put(Datapath.MAP_META, sizes(Codec.U32, Meta.CODEC));
        m.put(Datapath.MAP_FANOUT, sizes(FanoutKey.CODEC, FanoutGroup.CODEC));
        m.put(Datapath.MAP_GROUP_STATS, sizes(Codec.U32, GroupStats.CODEC));
        m.put(Datapath.MAP_SUB_STATS, sizes(Codec.U32, SubStats.CODEC));
        m.put(Datapath.MAP_DENY, sizes(DenyKey.CODEC, Codec.U64));
        m.put(Datapath.MAP_RATELIMIT, sizes(RateLimitKey.CODEC, RateLimitState.CODEC));
        m.put(Datapath.MAP_ATTACHMENTS, sizes(Codec.U32, Attachment.CODEC));
        m.put(Datapath.MAP_IDENTITIES, sizes(IdentityKey.CODEC, SourceIdentity.CODEC));
        m.put(Datapath.MAP_IDENTITY_NAMES, sizes(Codec.U32, IdentityName.CODEC));
        m.put(Datapath.MAP_GROUP_ALLOW, sizes(AllowKey.CODEC, Codec.U32));
        return m;
    }

    private static int[] sizes(Codec<?> k, Codec<?> v) {
        return new int[] {k.size(), v.size()};
    }

    /**
     * Open the pins under dir.
     *
     * @throws CliFailure not pinned, permission denied or another layout
     */
    public static PinnedDatapath open(Path dir) {
        try {
            BasicFileAttributes a = Files.readAttributes(dir, BasicFileAttributes.class);
            if (!a.isDirectory()) {
                throw Failures.notPinned(dir);
            }
        } catch (NoSuchFileException e) {
            throw Failures.notPinned(dir);
        } catch (AccessDeniedException e) {
            throw Failures.permission(dir, "cannot look into " + e.getFile());
        } catch (IOException e) {
            throw new CliFailure(ExitCode.FAILURE, "cannot read " + dir + ": " + e, e);
        }
        Datapath dp;
        try {
            dp = Datapath.openPinned(dir);
        } catch (BpfException e) {
            if (e.isNotFound()) {
                throw Failures.notPinned(dir, LiveHost.scan(dir).missing());
            }
            throw Failures.of(e, dir);
        }
        try {
            checkLayout(dp, dir);
            return new PinnedDatapath(dp, dir);
        } catch (RuntimeException e) {
            dp.close();
            throw e;
        }
    }

    /** Sizes of every map, then the version in msm_meta. */
    static void checkLayout(Datapath dp, Path dir) {
        Native n = Native.get();
        List<String> mismatches = new ArrayList<>();
        for (Map.Entry<String, int[]> e : EXPECTED_SIZES.entrySet()) {
            MapInfo info = BpfMap.info(n, dp.mapFd(e.getKey()));
            int[] want = e.getValue();
            if (info.keySize() != want[0] || info.valueSize() != want[1]) {
                mismatches.add(
                        e.getKey()
                                + ": key/value size "
                                + info.keySize()
                                + "/"
                                + info.valueSize()
                                + ", this msm expects "
                                + want[0]
                                + "/"
                                + want[1]);
            }
        }
        boolean metaReadable =
                mismatches.stream().noneMatch(m -> m.startsWith(Datapath.MAP_META + ":"));
        Optional<Meta> meta =
                metaReadable ? dp.meta().lookup(0).filter(Meta::written) : Optional.empty();
        if (meta.isPresent() && meta.get().layoutVersion() != Meta.LAYOUT_VERSION) {
            throw Failures.layoutVersion(dir, meta.get().layoutVersion());
        }
        if (!mismatches.isEmpty()) {
            throw Failures.layoutSizes(dir, mismatches, meta.map(Meta::layoutVersion).orElse(null));
        }
    }

    @Override
    public List<GameSessionView> gameSessions() {
        Map<Integer, String> services = new HashMap<>();
        try (var svcs = dp.gameServices()) {
            svcs.forEach((k, v) -> services.put(v.svcId(), k.toString()));
        }
        List<GameSessionView> out = new ArrayList<>();
        try (var backends = dp.gameBackends();
                var sessions = dp.gameSessions()) {
            sessions.forEach(
                    (k, v) ->
                            out.add(
                                    new GameSessionView(
                                            services.getOrDefault(
                                                    k.svcId(), "service " + k.svcId()),
                                            k,
                                            v,
                                            backends.lookup(v.backend())
                                                    .map(GameBackend::toString)
                                                    .orElse("backend " + v.backend()))));
        }
        return out;
    }

    @Override
    public Path dir() {
        return dir;
    }

    @Override
    public Optional<Meta> meta() {
        return dp.meta().lookup(0).filter(Meta::written);
    }

    @Override
    public void forEachFlow(BiConsumer<FlowKey, Flow> visitor) {
        flows.forEach(visitor);
    }

    @Override
    public SortedMap<FanoutKey, FanoutGroup> fanoutGroups() {
        // keys, then one lookup each: a batch read would allocate 4096 x 36 kB for groups of 1024
        // slots
        SortedMap<FanoutKey, FanoutGroup> out = new TreeMap<>(FanoutKeys.ORDER);
        for (FanoutKey k : fanout.keys()) {
            fanout.lookup(k).ifPresent(g -> out.put(k, g));
        }
        return out;
    }

    @Override
    public Optional<RewriteState> rewrite(int groupId) {
        if (groupId < 0 || groupId >= groupStats.maxEntries()) {
            return Optional.empty();
        }
        try {
            return dp.rewrites().lookup(groupId);
        } catch (RuntimeException e) {
            return Optional.empty(); // pins of a layout without msm_rewrites
        }
    }

    @Override
    public String groupLabel(int groupId) {
        if (groupId < 0 || groupId >= groupStats.maxEntries()) {
            return "";
        }
        return dp.groupInfo().lookup(groupId).map(GroupInfo::label).orElse("");
    }

    @Override
    public GroupStats groupStats(int groupId) {
        if (groupId < 0 || groupId >= groupStats.maxEntries()) {
            return GroupStats.ZERO;
        }
        return groupStats.lookupPerCpu(groupId).map(GroupStats::sum).orElse(GroupStats.ZERO);
    }

    @Override
    public SubStats subStats(int subId) {
        if (subId < 0 || subId >= subStats.maxEntries()) {
            return SubStats.ZERO;
        }
        return subStats.lookupPerCpu(subId).map(SubStats::sum).orElse(SubStats.ZERO);
    }

    @Override
    public Map<Integer, SortedSet<Integer>> allowedIdentities() {
        Map<Integer, SortedSet<Integer>> out = new TreeMap<>();
        dp.groupAllow()
                .forEach(
                        (k, v) ->
                                out.computeIfAbsent(k.groupId(), g -> new TreeSet<>())
                                        .add(k.identity()));
        return out;
    }

    @Override
    public Map<InetAddress, Integer> identities() {
        Map<InetAddress, Integer> out = new HashMap<>();
        dp.identities().forEach((k, v) -> out.put(k.addr(), v.identity()));
        return out;
    }

    @Override
    public Map<Integer, String> identityNames() {
        Map<Integer, String> out = new TreeMap<>();
        dp.identityNames().forEach((k, v) -> out.put(k, v.name()));
        return out;
    }

    @Override
    public Counters totals() {
        return dp.totals();
    }

    @Override
    public Map<Integer, Attachment> attachments() {
        Map<Integer, Attachment> out = new TreeMap<>();
        dp.attachments().forEach(out::put);
        return out;
    }

    @Override
    public List<PinnedProgram> programs() {
        List<PinnedProgram> out = new ArrayList<>();
        for (String p : Datapath.PROGRAMS) {
            out.add(new PinnedProgram(p, ProgInfo.of(dp.progFd(p))));
        }
        return out;
    }

    @Override
    public List<MapFill> fills() {
        List<MapFill> out = new ArrayList<>();
        out.add(new MapFill(Datapath.MAP_FLOWS, count(flows), flows.maxEntries()));
        out.add(new MapFill(Datapath.MAP_FANOUT, fanout.keys().size(), fanout.maxEntries()));
        BpfMap<DenyKey, Long> deny = dp.denyList();
        out.add(new MapFill(Datapath.MAP_DENY, deny.keys().size(), deny.maxEntries()));
        BpfMap<RateLimitKey, RateLimitState> rl = dp.rateLimits();
        out.add(new MapFill(Datapath.MAP_RATELIMIT, count(rl), rl.maxEntries()));
        BpfMap<IdentityKey, SourceIdentity> ids = dp.identities();
        out.add(new MapFill(Datapath.MAP_IDENTITIES, count(ids), ids.maxEntries()));
        BpfMap<AllowKey, Integer> allow = dp.groupAllow();
        out.add(new MapFill(Datapath.MAP_GROUP_ALLOW, count(allow), allow.maxEntries()));
        return out;
    }

    /** Entries of a hash map, read in batches (get_next_key would be one system call each). */
    private static long count(BpfMap<?, ?> m) {
        long[] n = {0};
        m.forEach((k, v) -> n[0]++);
        return n[0];
    }

    /** Pin names this release expects, maps then programs. */
    public static List<String> expectedPins() {
        List<String> out = new ArrayList<>(Datapath.PINNED_MAPS);
        for (String p : Datapath.PROGRAMS) {
            out.add(Datapath.progPin(p));
        }
        return out;
    }

    @Override
    public void close() {
        dp.close();
    }
}
