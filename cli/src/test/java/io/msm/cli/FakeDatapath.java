package io.msm.cli;

import io.msm.bpf.ProgInfo;
import io.msm.bpf.maps.Attachment;
import io.msm.bpf.maps.Counters;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.Flow;
import io.msm.bpf.maps.FlowKey;
import io.msm.bpf.maps.GroupStats;
import io.msm.bpf.maps.Meta;
import io.msm.bpf.maps.RtpStats;
import io.msm.bpf.maps.SubStats;
import io.msm.bpf.maps.TrafficClass;
import io.msm.cli.source.DatapathView;
import io.msm.cli.source.FanoutKeys;
import io.msm.cli.source.MapFill;
import io.msm.cli.source.PinnedProgram;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.function.BiConsumer;

/** A datapath in memory, for commands under test without a kernel. */
public final class FakeDatapath implements DatapathView {
    public Path dir = Path.of("/sys/fs/bpf/fake");
    public final Map<FlowKey, Flow> flows = new LinkedHashMap<>();
    public final SortedMap<FanoutKey, FanoutGroup> groups = new TreeMap<>(FanoutKeys.ORDER);
    public final Map<Integer, GroupStats> groupStats = new HashMap<>();
    public final Map<Integer, SubStats> subStats = new HashMap<>();
    public final Map<Integer, Attachment> attachments = new TreeMap<>();
    public final List<PinnedProgram> programs = new ArrayList<>();
    public final List<MapFill> fills = new ArrayList<>();
    public Counters totals = Counters.zero();
    public Meta meta = new Meta(Meta.MAGIC, Meta.LAYOUT_VERSION, 0, new byte[32]);
    public int flowReads;

    /** Runs before each flow read: lets a test change the flows between --watch refreshes. */
    public Runnable beforeFlowRead = () -> {};

    public boolean closed;

    public static InetAddress ip(String literal) {
        try {
            return InetAddress.getByName(literal); // literals only: no DNS
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /**
     * An RTP flow with receiver stats: highest seq = cycles + maxSeq, lost = expected - received.
     */
    public static Flow rtpFlow(
            long packets,
            long bytes,
            long firstNs,
            long lastNs,
            long ssrc,
            int maxSeq,
            long cycles,
            long baseSeq,
            long received,
            long jitterScaled,
            long clockRate) {
        RtpStats s =
                new RtpStats(
                        ssrc,
                        96,
                        0,
                        maxSeq,
                        cycles,
                        baseSeq,
                        0,
                        received,
                        0,
                        0,
                        jitterScaled,
                        clockRate,
                        RtpStats.F_INIT);
        return new Flow(
                TrafficClass.RTP.id(),
                0,
                1 << TrafficClass.RTP.id(),
                packets,
                bytes,
                firstNs,
                lastNs,
                s);
    }

    public static Flow flow(TrafficClass c, long packets, long bytes, long firstNs, long lastNs) {
        return new Flow(c.id(), 0, 1 << c.id(), packets, bytes, firstNs, lastNs, RtpStats.EMPTY);
    }

    public static ProgInfo prog(int id, String name, int verified) {
        return new ProgInfo(3, id, name, 4096, verified, 0, 0);
    }

    @Override
    public Path dir() {
        return dir;
    }

    @Override
    public Optional<Meta> meta() {
        return Optional.ofNullable(meta);
    }

    @Override
    public void forEachFlow(BiConsumer<FlowKey, Flow> visitor) {
        flowReads++;
        beforeFlowRead.run();
        new ArrayList<>(flows.entrySet()).forEach(e -> visitor.accept(e.getKey(), e.getValue()));
    }

    @Override
    public SortedMap<FanoutKey, FanoutGroup> fanoutGroups() {
        return new TreeMap<>(groups);
    }

    @Override
    public String groupLabel(int groupId) {
        return labels.getOrDefault(groupId, "");
    }

    public final Map<Integer, String> labels = new HashMap<>();

    @Override
    public GroupStats groupStats(int groupId) {
        return groupStats.getOrDefault(groupId, GroupStats.ZERO);
    }

    @Override
    public SubStats subStats(int subId) {
        return subStats.getOrDefault(subId, SubStats.ZERO);
    }

    public final Map<Integer, SortedSet<Integer>> allowed = new TreeMap<>();
    public final Map<InetAddress, Integer> identities = new HashMap<>();
    public final Map<Integer, String> identityNames = new TreeMap<>();
    public final List<GameSessionView> games = new ArrayList<>();

    @Override
    public List<GameSessionView> gameSessions() {
        return games;
    }

    @Override
    public Map<Integer, SortedSet<Integer>> allowedIdentities() {
        return allowed;
    }

    @Override
    public Map<InetAddress, Integer> identities() {
        return identities;
    }

    @Override
    public Map<Integer, String> identityNames() {
        return identityNames;
    }

    @Override
    public Counters totals() {
        return totals;
    }

    @Override
    public Map<Integer, Attachment> attachments() {
        return attachments;
    }

    @Override
    public List<PinnedProgram> programs() {
        return programs;
    }

    @Override
    public List<MapFill> fills() {
        return fills;
    }

    @Override
    public void close() {
        closed = true;
    }
}
