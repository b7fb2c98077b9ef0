package io.msm.cli.source;

import io.msm.bpf.maps.Attachment;
import io.msm.bpf.maps.Counters;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.Flow;
import io.msm.bpf.maps.FlowKey;
import io.msm.bpf.maps.GameSession;
import io.msm.bpf.maps.GameSessionKey;
import io.msm.bpf.maps.GroupStats;
import io.msm.bpf.maps.Meta;
import io.msm.bpf.maps.RewriteState;
import io.msm.bpf.maps.SubStats;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.function.BiConsumer;

/**
 * What the commands read from a pinned datapath. {@link PinnedDatapath} reads the BPF maps; unit
 * tests feed the commands a fake.
 */
public interface DatapathView extends AutoCloseable {
    /** The bpffs directory the pins live in. */
    Path dir();

    /** msm_meta, empty when the agent never stamped it. */
    Optional<Meta> meta();

    /** Every flow, in map order; streamed so 100k flows need no list. */
    void forEachFlow(BiConsumer<FlowKey, Flow> visitor);

    /** Fan-out groups by upstream key, ordered by address and port. */
    SortedMap<FanoutKey, FanoutGroup> fanoutGroups();

    /** Counters of one group, summed over CPUs (zero when never counted). */
    GroupStats groupStats(int groupId);

    /** Counters of one subscriber, summed over CPUs. */
    SubStats subStats(int subId);

    /**
     * msm_rewrites: the continuity state of a group with the rewrite flag (empty when none, or the
     * pins predate the map).
     */
    default Optional<RewriteState> rewrite(int groupId) {
        return Optional.empty();
    }

    /** What the agent says the group is for ("" when it did not say). */
    String groupLabel(int groupId);

    /**
     * msm_group_allow: the workload identities each group admits (groups with the identity flag),
     * by group id.
     */
    Map<Integer, SortedSet<Integer>> allowedIdentities();

    /** msm_identities: the workload identity of each source address the agent knows. */
    Map<InetAddress, Integer> identities();

    /** msm_identity_names: the SPIFFE ID of each identity. */
    Map<Integer, String> identityNames();

    /** Global counters summed over CPUs. */
    Counters totals();

    /** msm_attachments: what the agent recorded as attached, by ifindex. */
    Map<Integer, Attachment> attachments();

    /** The pinned programs. */
    List<PinnedProgram> programs();

    /** Fill levels of the maps that can run full. */
    List<MapFill> fills();

    /** A game session (msm_game.h) with its service and backend resolved. */
    record GameSessionView(
            String service, GameSessionKey key, GameSession session, String backend) {}

    /** msm_game_sessions, each with its service addr:port and backend addr:port. */
    default List<GameSessionView> gameSessions() {
        return List.of();
    }

    @Override
    void close();
}
