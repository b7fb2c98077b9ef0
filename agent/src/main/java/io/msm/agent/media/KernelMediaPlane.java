package io.msm.agent.media;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.msm.agent.identity.IdentityLookup;
import io.msm.agent.identity.IdentitySink;
import io.msm.agent.net.Transport;
import io.msm.agent.upgrade.Handover;
import io.msm.bpf.Datapath;
import io.msm.bpf.maps.AllowKey;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.Flow;
import io.msm.bpf.maps.PortTable;
import io.msm.bpf.maps.SubStats;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The media plane on the kernel datapath: each relay owns a fan-out group keyed by its
 * address:port; subscribers are resolved to an egress interface and MAC addresses (from the
 * kernel's routing and neighbour tables) on a control thread and written into the group, and from
 * then on the TC program sends their copies. The relay's socket only sees what the group hands to
 * the local stack.
 *
 * <p>Subscribers the kernel cannot serve — IPv6, a route through a device without Ethernet
 * addresses, an unresolvable neighbour, a full group — are served from userspace by the same relay
 * (the group then also delivers the original to the socket), so a client never notices.
 *
 * <p>After an agent restart the groups found in the pinned map are orphans: they keep forwarding; a
 * relay opened on the same address:port claims its group and the subscribers it re-adds, without
 * duplicates; whatever nobody claims within {@code orphanGrace} is removed.
 *
 * <p>Workload identities: {@link #identitySink()} writes the kernel's map of source address to
 * identity; a relay whose options allow only some identities lists them for its group in
 * msm_group_allow and sets the group's identity flag, so TC refuses other senders before copying.
 */
public final class KernelMediaPlane implements MediaPlane {
    private static final Logger log = LoggerFactory.getLogger(KernelMediaPlane.class);

    final Datapath dp;
    final IdPool groupIds;
    final IdPool subIds;
    final ScheduledExecutorService control;
    private final EventLoopGroup sockets;
    private final PortPairs pairs;
    private final MediaAdmission admission;
    private final Duration orphanGrace;
    final Map<FanoutKey, FanoutGroup> orphans = new ConcurrentHashMap<>();

    /** msm_group_allow entries of orphaned groups, by group id (claimed with the group) */
    final Map<Integer, Set<Integer>> orphanAllow = new ConcurrentHashMap<>();

    final KernelIdentities identities;
    final Map<InetSocketAddress, KernelRelay> byLocal = new ConcurrentHashMap<>();
    final NextHopCache nextHops = new NextHopCache(Duration.ofSeconds(30));
    volatile Map<InetSocketAddress, Flow> flowsByDst = Map.of();
    private volatile boolean detached;
    private volatile boolean quiet;

    public KernelMediaPlane(
            Datapath dp,
            int maxGroups,
            int maxSubs,
            PortTable.Range portRange,
            Duration orphanGrace,
            int threads) {
        this.dp = dp;
        this.identities = new KernelIdentities(dp);
        this.groupIds = new IdPool(maxGroups);
        this.subIds = new IdPool(maxSubs);
        this.pairs = new PortPairs(portRange);
        this.admission = MediaAdmission.standard(portRange.hi() - portRange.lo() + 1, maxGroups);
        this.orphanGrace = orphanGrace;
        this.sockets = Transport.group(threads, "msm-relay");
        this.control =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "msm-fanout-control");
                            t.setDaemon(true);
                            return t;
                        });
        adoptOrphans();
    }

    private void adoptOrphans() {
        dp.fanoutGroups()
                .forEach(
                        (k, g) -> {
                            groupIds.claim(g.groupId());
                            g.subs().forEach(s -> subIds.claim(s.subId()));
                            orphans.put(k, g);
                        });
        // allow entries: an orphan's stay with it; any other group id's are left-overs
        Set<Integer> orphanIds = new HashSet<>();
        orphans.values().forEach(g -> orphanIds.add(g.groupId()));
        Map<Integer, Set<Integer>> allow = new HashMap<>();
        int stale = 0;
        for (AllowKey k : dp.groupAllow().keys()) {
            if (orphanIds.contains(k.groupId())) {
                allow.computeIfAbsent(k.groupId(), x -> new HashSet<>()).add(k.identity());
            } else {
                dp.groupAllow().delete(k);
                stale++;
            }
        }
        orphanAllow.putAll(allow);
        if (stale > 0) {
            log.info("removed {} identity allow entr(ies) of groups that no longer exist", stale);
        }
        if (!orphans.isEmpty()) {
            log.info(
                    "adopted {} fan-out group(s) from the pinned datapath; they keep forwarding, and are removed "
                            + "unless reclaimed within {}s",
                    orphans.size(),
                    orphanGrace.toSeconds());
            control.schedule(this::expireOrphans, orphanGrace.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /**
     * A handover: the previous agent stopped changing the groups only now, so the groups this plane
     * adopted when it was made may be stale — adopt them again as they are (before any relay is
     * opened).
     */
    public void readoptOrphans() {
        try {
            control.submit(
                            () -> {
                                for (FanoutGroup g : orphans.values()) {
                                    groupIds.release(g.groupId());
                                    g.subs().forEach(s -> subIds.release(s.subId()));
                                }
                                boolean none = orphans.isEmpty();
                                orphans.clear();
                                dp.fanoutGroups()
                                        .forEach(
                                                (k, g) -> {
                                                    groupIds.claim(g.groupId());
                                                    g.subs().forEach(s -> subIds.claim(s.subId()));
                                                    orphans.put(k, g);
                                                });
                                if (none && !orphans.isEmpty()) {
                                    control.schedule(
                                            this::expireOrphans,
                                            orphanGrace.toMillis(),
                                            TimeUnit.MILLISECONDS);
                                }
                            })
                    .get(10, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("re-adopting the fan-out groups: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * The groups now belong to another agent (handed over, or a handover this agent attempted
     * failed): relays close their sockets only, and no group is written or deleted from now on.
     */
    public void detach() {
        detached = true;
    }

    boolean detached() {
        return detached;
    }

    /** Group writes wait: detached, or a handover is being offered. */
    boolean quiet() {
        return detached || quiet;
    }

    /**
     * Its part of a handover: while the new agent takes over, nothing this plane's timers do (an
     * adopted subscriber dropped, a bypass noticed) is written to the groups the new agent is
     * re-reading; if the handover fails the groups are written as they must be now.
     */
    public Handover.Participant handover() {
        return new Handover.Participant() {
            @Override
            public String name() {
                return "media";
            }

            @Override
            public Handover.Offer quiesce() {
                quiet = true;
                return new Handover.Offer(JsonNodeFactory.instance.objectNode(), List.of());
            }

            @Override
            public void resume() {
                quiet = false;
                byLocal.values().forEach(KernelRelay::rewrite);
            }

            @Override
            public void release() {
                detach();
            }
        };
    }

    private void expireOrphans() {
        if (detached) {
            return;
        }
        for (Map.Entry<FanoutKey, FanoutGroup> e : orphans.entrySet()) {
            if (orphans.remove(e.getKey(), e.getValue())) {
                dp.fanoutGroups().delete(e.getKey());
                removeAllow(e.getValue().groupId(), orphanAllow.remove(e.getValue().groupId()));
                groupIds.release(e.getValue().groupId());
                e.getValue().subs().forEach(s -> subIds.release(s.subId()));
                log.info(
                        "removed unclaimed fan-out group {} ({} subscribers)",
                        e.getKey(),
                        e.getValue().subs().size());
            }
        }
    }

    /** Delete a group's allow entries (after its group no longer refers to them). */
    void removeAllow(int groupId, Set<Integer> ids) {
        if (ids == null) {
            return;
        }
        for (int id : ids) {
            dp.groupAllow().delete(new AllowKey(groupId, id));
        }
    }

    /**
     * The kernel's identity map and names; the plane's relays read its in-memory copy on their
     * userspace paths.
     */
    @Override
    public IdentitySink identitySink() {
        return identities;
    }

    /**
     * Ignored: this plane's relays judge senders by what {@link #identitySink()} was told, which is
     * exactly what TC sees.
     */
    @Override
    public void identityLookup(IdentityLookup lookup) {}

    Duration orphanGrace() {
        return orphanGrace;
    }

    @Override
    public String mode() {
        return "kernel";
    }

    @Override
    public MediaAdmission admission() {
        return admission;
    }

    @Override
    public Relay open(InetSocketAddress bind, RelayOptions options) throws IOException {
        if (!(bind.getAddress() instanceof Inet4Address) || bind.getAddress().isAnyLocalAddress()) {
            throw new IllegalArgumentException(
                    "a kernel relay needs a concrete IPv4 address to key its fan-out group, got "
                            + bind);
        }
        KernelRelay r = new KernelRelay(this, options);
        r.bind(sockets, bind);
        try {
            r.start();
        } catch (RuntimeException e) {
            r.closeSocket();
            throw e;
        }
        byLocal.put(r.local(), r);
        return r;
    }

    @Override
    public RelayPair openPair(InetAddress addr, RelayOptions rtp, RelayOptions rtcp)
            throws IOException {
        return pairs.open(this::open, addr, rtp, rtcp);
    }

    public List<Relay> relays() {
        return List.copyOf(byLocal.values());
    }

    /**
     * Called after each flow-table scan: the busiest RTP flow per destination, for relay
     * statistics.
     */
    public void onFlowScan(Map<InetSocketAddress, Flow> rtpFlowsByDst) {
        flowsByDst = Map.copyOf(rtpFlowsByDst);
    }

    void closed(KernelRelay r) {
        byLocal.remove(r.local(), r);
    }

    SubStats subStats(int id) {
        return dp.subStats().lookupPerCpu(id).map(SubStats::sum).orElse(SubStats.ZERO);
    }

    @Override
    public void close() {
        // the agent stops: groups stay in the kernel (forwarding continues; a restart adopts them)
        for (KernelRelay r : List.copyOf(byLocal.values())) {
            r.closeSocket();
        }
        control.shutdown();
        try {
            control.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        sockets.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
