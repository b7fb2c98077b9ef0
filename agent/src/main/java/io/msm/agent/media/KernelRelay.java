package io.msm.agent.media;

import io.msm.agent.net.NextHop;
import io.msm.agent.net.NextHops;
import io.msm.bpf.Datapath;
import io.msm.bpf.maps.AllowKey;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.FanoutSub;
import io.msm.bpf.maps.Flow;
import io.msm.bpf.maps.GroupInfo;
import io.msm.bpf.maps.GroupStats;
import io.msm.bpf.maps.RewriteState;
import io.msm.bpf.maps.SubStats;
import io.msm.bpf.testrun.ProgTestRun;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DatagramPacket;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One relay of the kernel plane: a fan-out group plus its socket.
 *
 * <p>Allowed identities ({@link RelayOptions#allowedIdentities()}): the group gets {@link
 * FanoutGroup#F_IDENTITY} and one msm_group_allow entry per identity, so TC refuses other senders
 * before any copy; a changed set first removes the entries no longer allowed (a sender is refused
 * for a moment too long rather than admitted), then adds the new ones; closing removes them all.
 * Packets the socket sees (the group hands originals up, or the upstream bypasses TC) are judged by
 * the same rule against the plane's copy of the identity map.
 */
final class KernelRelay extends AbstractRelay {
    private static final Logger log = LoggerFactory.getLogger(KernelRelay.class);

    private final KernelMediaPlane plane;
    private FanoutKey key;
    private int groupId = -1;
    private final List<KSub> subs = new CopyOnWriteArrayList<>();

    /** subscribers found in an adopted group, not yet re-added by anyone (control thread only) */
    private final List<FanoutSub> adopted = new ArrayList<>();

    private volatile boolean closed;

    /**
     * packets are injected (interleaved publisher): the group clones to every subscriber, see
     * {@link #inject}
     */
    private volatile boolean injecting;

    private final AtomicLong injectErrors = new AtomicLong();
    private final AtomicLong userCopies = new AtomicLong();
    private final AtomicLong userErrors = new AtomicLong();
    private final AtomicLong userUpstream = new AtomicLong();
    private final AtomicLong userIdentityUnknown = new AtomicLong();
    private final AtomicLong userIdentityDenied = new AtomicLong();

    /** identities listed for this group in msm_group_allow (control thread) */
    private Set<Integer> allowWritten = Set.of();

    private boolean allowFullLogged; // control thread

    /**
     * How often a relay checks that its upstream passes msm's TC program, and on how many packets
     * it decides.
     */
    static final long BYPASS_CHECK_MS = 1000;

    static final long BYPASS_MIN_PACKETS = 3;

    /**
     * The upstream reaches the socket without passing msm's TC program (it arrives over loopback,
     * or over an interface the agent is not attached to), so the kernel makes no copies: userspace
     * serves every subscriber.
     */
    private volatile boolean bypass;

    private long checkedUser; // control thread
    private long checkedKernel; // control thread
    private volatile ScheduledFuture<?> bypassCheck;
    private volatile RtpContinuity.Config continuity;
    private boolean continuityWritten; // control thread

    /**
     * Reclaimed a group that rewrote (a restart or a seamless upgrade): F_REWRITE stays on it, and
     * the first {@link #continuity} keeps the pinned state (its deltas), so a stream that already
     * switched sources shows no jump at the upgrade (control thread).
     */
    private boolean adoptedRewrite;

    KernelRelay(KernelMediaPlane plane, RelayOptions options) {
        super(options);
        this.plane = plane;
    }

    @Override
    void bind(EventLoopGroup group, InetSocketAddress addr) throws IOException {
        super.bind(group, addr);
        key = new FanoutKey((Inet4Address) socket.local().getAddress(), socket.local().getPort());
    }

    @Override
    protected void changed() {
        plane.control.execute(this::writeGroup);
    }

    /** Claim an orphaned group with this key, or allocate one; write it. */
    void start() {
        call(
                () -> {
                    FanoutGroup orphan = plane.orphans.remove(key);
                    if (orphan != null) {
                        groupId = orphan.groupId();
                        adopted.addAll(orphan.subs());
                        adoptedRewrite =
                                (orphan.flags() & FanoutGroup.F_REWRITE) != 0
                                        && plane.dp.rewrites().lookup(groupId).isPresent();
                        Set<Integer> allow = plane.orphanAllow.remove(groupId);
                        allowWritten = allow == null ? Set.of() : Set.copyOf(allow);
                        log.info(
                                "{}: reclaimed fan-out group {} with {} subscriber(s) from before the restart",
                                options.label(),
                                key,
                                orphan.subs().size());
                        plane.control.schedule(
                                this::dropUnclaimed,
                                plane.orphanGrace().toMillis(),
                                TimeUnit.MILLISECONDS);
                    } else {
                        groupId = plane.groupIds.allocate();
                        if (groupId < 0) {
                            throw new IllegalStateException(
                                    "no free fan-out group (datapath.max-groups = "
                                            + plane.groupIds.size()
                                            + " in use)");
                        }
                        plane.dp.groupStats().update(groupId, GroupStats.ZERO);
                    }
                    plane.dp.groupInfo().update(groupId, new GroupInfo(options.groupLabel()));
                    writeGroup();
                    bypassCheck =
                            plane.control.scheduleWithFixedDelay(
                                    this::checkBypass,
                                    BYPASS_CHECK_MS,
                                    BYPASS_CHECK_MS,
                                    TimeUnit.MILLISECONDS);
                    return null;
                });
    }

    /**
     * Control thread, every second: upstream packets that reached the socket while the group
     * counted none passed no TC program (a group that fans out counts every original, whether it
     * then hands it up or not).
     */
    private void checkBypass() {
        if (closed || groupId < 0) {
            return;
        }
        // one per-CPU lookup a second per relay (a microsecond or two), so both baselines stay
        // current
        long u = userUpstream.get();
        long k =
                plane.dp
                        .groupStats()
                        .lookupPerCpu(groupId)
                        .map(GroupStats::sum)
                        .orElse(GroupStats.ZERO)
                        .packets();
        long du = u - checkedUser;
        long dk = k - checkedKernel;
        checkedUser = u;
        checkedKernel = k;
        if (!bypass && dk == 0 && du >= BYPASS_MIN_PACKETS) {
            bypass = true;
            log.warn(
                    "{}: the upstream to {} reaches the node without passing msm's TC program (over loopback, or an"
                            + " interface the agent is not attached to): its subscribers are served from userspace until it"
                            + " does",
                    options.label(),
                    key);
        } else if (bypass && dk > 0) {
            bypass = false;
            log.info(
                    "{}: the upstream passes msm's TC program again: the kernel serves its subscribers",
                    options.label());
        }
    }

    private void dropUnclaimed() {
        if (plane.quiet() && !plane.detached()) {
            // a handover is being offered: decide when it is over
            plane.control.schedule(this::dropUnclaimed, 1, TimeUnit.SECONDS);
            return;
        }
        if (!adopted.isEmpty() && !closed && !plane.detached()) {
            log.info(
                    "{}: {} adopted subscriber(s) were not re-added; removing them",
                    options.label(),
                    adopted.size());
            adopted.forEach(s -> plane.subIds.release(s.subId()));
            adopted.clear();
            writeGroup();
        }
    }

    /** Run on the control thread and wait (group writes are serialised there). */
    private <T> T call(Callable<T> task) {
        try {
            return plane.control.submit(task).get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("fan-out control thread did not answer in 10 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Write the group again, as it must be now (a handover that failed). */
    void rewrite() {
        plane.control.execute(this::writeGroup);
    }

    /** The group as it must be now (control thread). */
    private void writeGroup() {
        if (closed || plane.quiet()) {
            return;
        }
        List<FanoutSub> entries = new ArrayList<>(adopted);
        boolean fallback = false;
        for (KSub s : subs) {
            if (s.entry != null) {
                entries.add(s.entry);
            } else {
                fallback =
                        true; // served from userspace: for good, or until its next hop is resolved
            }
        }
        RelayOptions o = options;
        int flags = 0;
        if ((tap != null && tapUpstream) || fallback || injecting) {
            flags |= FanoutGroup.F_LOCAL;
        }
        Inet4Address src = null;
        int srcPort = 0;
        if (o.expectedSource() != null
                && o.expectedSource().getAddress() instanceof Inet4Address a) {
            flags |= FanoutGroup.F_STRICT;
            if (o.others() == RelayOptions.Others.DELIVER_LOCAL) {
                flags |= FanoutGroup.F_PASS_OTHERS;
            }
            src = a;
            srcPort = o.expectedSource().getPort();
        }
        Set<Integer> allow = o.allowedIdentities();
        if (allow != null) {
            writeAllow(allow); // before the flag: an allowed sender is never refused for lack of it
            flags |= FanoutGroup.F_IDENTITY;
            if (o.others() == RelayOptions.Others.DELIVER_LOCAL) {
                flags |= FanoutGroup.F_PASS_OTHERS;
            }
        }
        if (continuity != null || (adoptedRewrite && !continuityWritten)) {
            // an adopted rewriting group keeps rewriting until its owner says how
            flags |= FanoutGroup.F_REWRITE;
        }
        plane.dp.fanoutGroups().update(key, new FanoutGroup(groupId, flags, src, srcPort, entries));
        if (allow == null && !allowWritten.isEmpty()) {
            // after the flag is gone: nothing refers to them any more
            plane.removeAllow(groupId, allowWritten);
            allowWritten = Set.of();
        }
    }

    /**
     * Make msm_group_allow list exactly {@code want} for this group (control thread): removals
     * first, so that no identity is admitted that is no longer allowed, then additions.
     */
    private void writeAllow(Set<Integer> want) {
        if (want.equals(allowWritten)) {
            return;
        }
        Set<Integer> now = new HashSet<>(allowWritten);
        for (int id : allowWritten) {
            if (!want.contains(id)) {
                plane.dp.groupAllow().delete(new AllowKey(groupId, id));
                now.remove(id);
            }
        }
        for (int id : want) {
            if (now.contains(id)) {
                continue;
            }
            try {
                plane.dp.groupAllow().update(new AllowKey(groupId, id), 1);
                now.add(id);
            } catch (RuntimeException e) {
                // a full map: the identity stays refused (tried again on the next change)
                if (!allowFullLogged) {
                    allowFullLogged = true;
                    log.warn(
                            "{}: cannot admit identity {} in the kernel ({}): its packets are refused"
                                    + " (raise the allow map size)",
                            options.label(),
                            id,
                            e.getMessage());
                }
            }
        }
        allowWritten = Set.copyOf(now);
    }

    @Override
    public Subscriber subscribe(InetSocketAddress viewer, InetSocketAddress source) {
        KSub s = new KSub(viewer, source == null ? local() : source);
        subs.add(s);
        plane.control.execute(() -> resolve(s));
        return s;
    }

    /**
     * Control thread: next hop, ids, group entry — or userspace fallback. While the next hop is
     * being resolved (milliseconds, or up to a second when the neighbour has to be probed) the
     * subscriber is served from userspace, so its first packets are not lost.
     */
    private void resolve(KSub s) {
        if (closed || !subs.contains(s)) {
            s.ready.complete(null);
            return;
        }
        writeGroup(); // the group hands the originals up meanwhile (F_LOCAL)
        try {
            if (!(s.viewer.getAddress() instanceof Inet4Address)
                    || !(s.source.getAddress() instanceof Inet4Address)) {
                throw new NextHops.Unresolved(
                        "IPv6 subscribers are served from userspace (the kernel fan-out is IPv4)");
            }
            long kernelSubs = subs.stream().filter(x -> x.entry != null).count() + adopted.size();
            if (kernelSubs >= FanoutGroup.MAX_SUBS) {
                throw new NextHops.Unresolved(
                        "group full (" + FanoutGroup.MAX_SUBS + " subscribers)");
            }
            NextHop hop =
                    plane.nextHops.resolve(
                            s.viewer.getAddress(), () -> NeighbourProbe.send(s.viewer));
            int dport = s.viewer.getPort();
            int sport = s.source.getPort();
            FanoutSub reuse = null;
            for (FanoutSub a : adopted) {
                if (a.daddr().equals(s.viewer.getAddress())
                        && a.dport() == dport
                        && a.sport() == sport) {
                    reuse = a;
                    break;
                }
            }
            int id;
            if (reuse != null) {
                adopted.remove(reuse);
                id = reuse.subId();
            } else {
                id = plane.subIds.allocate();
                if (id < 0) {
                    throw new NextHops.Unresolved(
                            "no free subscriber slot (datapath.max-subscribers)");
                }
                plane.dp.subStats().update(id, SubStats.ZERO);
            }
            s.entry =
                    new FanoutSub(
                            hop.ifindex(),
                            id,
                            hop.dstMac(),
                            hop.srcMac(),
                            (Inet4Address) s.source.getAddress(),
                            (Inet4Address) s.viewer.getAddress(),
                            sport,
                            dport,
                            0);
            writeGroup();
        } catch (NextHops.Unresolved | RuntimeException e) {
            log.info("{}: {} served from userspace: {}", options.label(), s.viewer, e.getMessage());
            s.fallback = true;
            writeGroup();
        }
        s.ready.complete(null);
    }

    @Override
    public List<Subscriber> subscribers() {
        return List.copyOf(subs);
    }

    @Override
    public void onDatagram(DatagramPacket p) {
        ByteBuf content = p.content();
        InetSocketAddress from = p.sender();
        RelayOptions o = options;
        RtpContinuity.Config cc = continuity;
        boolean standby =
                cc != null && cc.standby() != null && AbstractRelay.matches(cc.standby(), from);
        if (!matches(o.expectedSource(), from) && !standby) {
            PacketListener l = tap;
            if (l != null && o.others() == RelayOptions.Others.DELIVER_LOCAL) {
                l.onPacket(from, content, false);
            }
            return;
        }
        int why =
                identityRefusal(
                        o.allowedIdentities(), plane.identities.identityOf(from.getAddress()));
        if (why != ADMITTED) {
            // TC counted it already unless the upstream bypasses TC
            if (bypass) {
                (why == UNKNOWN ? userIdentityUnknown : userIdentityDenied).incrementAndGet();
            }
            PacketListener l = tap;
            if (l != null && o.others() == RelayOptions.Others.DELIVER_LOCAL) {
                l.onPacket(from, content, false);
            }
            return;
        }
        // an original the group passed up: copies for userspace-served subscribers, and the tap
        upstreamInUserspace(from, content);
    }

    /**
     * The kernel makes the copies of an injected packet too: the TC program runs on it through
     * BPF_PROG_TEST_RUN, as if it had arrived on an interface, and its bpf_clone_redirect() copies
     * leave for real. The group then has F_LOCAL set, so every subscriber gets a clone (a test run
     * drops the original the last subscriber would otherwise take); userspace-served subscribers
     * and the tap are served here, since a test run delivers nothing to the socket. One system call
     * per packet, whatever the number of subscribers.
     */
    @Override
    public void inject(ByteBuf data) {
        if (closed) {
            return;
        }
        if (!injecting) {
            injecting = true;
            call(
                    () -> {
                        writeGroup();
                        return null;
                    });
        }
        InetSocketAddress from = options.expectedSource();
        if (from == null || !(from.getAddress() instanceof Inet4Address)) {
            from = local();
        }
        try {
            // marked: the group's identity check (if any) lets it pass, its sender having been
            // authorised on its connection (the userspace plane does not check injected packets
            // either)
            ProgTestRun.run(
                    plane.dp.progFd(Datapath.PROG_TC),
                    InjectedFrame.udp4(from, local(), data),
                    1,
                    options.allowedIdentities() != null ? FanoutGroup.MARK_INJECTED : 0);
        } catch (RuntimeException e) {
            if (injectErrors.getAndIncrement() == 0) {
                log.warn(
                        "{}: injecting into the fan-out group failed ({}); kernel-served subscribers miss these packets",
                        options.label(),
                        e.getMessage());
            }
            userErrors.incrementAndGet();
        }
        upstreamInUserspace(from, data);
        socket.channel.flush();
    }

    private void upstreamInUserspace(InetSocketAddress from, ByteBuf content) {
        userUpstream.incrementAndGet();
        boolean all = bypass;
        for (KSub s : subs) {
            if (s.entry != null && !all) {
                continue; // the kernel sends its copies
            }
            Channel out = s.source.equals(local()) ? socket.channel : partnerChannel(s.source);
            if (!socket.writeCopy(out, content, s.viewer)) {
                userErrors.incrementAndGet();
                continue;
            }
            s.userPackets.incrementAndGet();
            s.userBytes.addAndGet(content.readableBytes());
            userCopies.incrementAndGet();
        }
        PacketListener l = tap;
        if (l != null && tapUpstream) {
            l.onPacket(from, content, true);
        }
    }

    private Channel partnerChannel(InetSocketAddress src) {
        KernelRelay r = plane.byLocal.get(src);
        return r == null ? null : r.socket.channel;
    }

    @Override
    public void onReadComplete() {
        socket.channel.flush();
    }

    @Override
    public RelayStats stats() {
        GroupStats g =
                groupId < 0
                        ? GroupStats.ZERO
                        : plane.dp
                                .groupStats()
                                .lookupPerCpu(groupId)
                                .map(GroupStats::sum)
                                .orElse(GroupStats.ZERO);
        return new RelayStats(
                g.packets(),
                g.bytes(),
                g.copies() + userCopies.get(),
                g.errors() + userErrors.get(),
                g.strictDrops(),
                g.identityUnknown() + userIdentityUnknown.get(),
                g.identityDenied() + userIdentityDenied.get());
    }

    @Override
    public Optional<RtpStreamStats> rtpStats() {
        Flow f = plane.flowsByDst.get(local());
        if (f == null || !f.rtp().initialised()) {
            return Optional.empty();
        }
        var r = f.rtp();
        return Optional.of(
                new RtpStreamStats(
                        r.ssrc(), r.extendedHighestSeq(), r.lost(), r.jitterMs(), r.received()));
    }

    /**
     * TC rewrites the group's packets into one continuous stream (MSM_GROUP_F_REWRITE): its state
     * in msm_rewrites is written before the flag; an RTCP relay follows its RTP relay's group.
     */
    @Override
    public void continuity(RtpContinuity.Config config) {
        call(
                () -> {
                    if (closed) {
                        return null;
                    }
                    continuity = config;
                    if (config != null) {
                        int rtpGroup = groupId;
                        if (config.rtpRelay() != null) {
                            KernelRelay r = plane.byLocal.get(config.rtpRelay());
                            if (r == null) {
                                throw new IllegalStateException(
                                        "no RTP relay at " + config.rtpRelay() + " to follow");
                            }
                            rtpGroup = r.groupId();
                        }
                        InetSocketAddress alt = config.standby();
                        RewriteState fresh =
                                RewriteState.of(
                                        rtpGroup,
                                        0,
                                        config.clockRate(),
                                        alt == null ? null : (Inet4Address) alt.getAddress(),
                                        alt == null ? 0 : alt.getPort(),
                                        config.silence().toNanos());
                        RewriteState now = plane.dp.rewrites().lookup(groupId).orElse(null);
                        if ((continuityWritten || adoptedRewrite)
                                && now != null
                                && now.rtpGroup() == rtpGroup) {
                            // a standby joins or leaves: the stream the kernel keeps goes on
                            fresh =
                                    new RewriteState(
                                            now.flags(),
                                            rtpGroup,
                                            now.outSsrc(),
                                            now.inSsrc(),
                                            config.clockRate(),
                                            now.seqDelta(),
                                            now.lastSeq(),
                                            now.tsDelta(),
                                            now.lastTs(),
                                            now.lastNs(),
                                            now.switches(),
                                            now.rewritten(),
                                            now.dropped(),
                                            fresh.altAddr(),
                                            fresh.altPort(),
                                            alt != null && now.activeAlt(),
                                            fresh.silenceNs(),
                                            now.activeNs());
                        }
                        plane.dp.rewrites().update(groupId, fresh);
                        continuityWritten = true;
                    }
                    adoptedRewrite = false; // its owner said how
                    writeGroup();
                    return null;
                });
    }

    /** MSM_RW_F_RESYNC on the group's state: the kernel re-bases at the next packet, clears it. */
    @Override
    public void resync() {
        call(
                () -> {
                    if (closed || continuity == null || continuity.rtpRelay() != null) {
                        return null;
                    }
                    plane.dp
                            .rewrites()
                            .lookup(groupId)
                            .ifPresent(s -> plane.dp.rewrites().update(groupId, s.resynced()));
                    return null;
                });
    }

    @Override
    public Optional<RtpContinuity.Snapshot> continuityState() {
        if (continuity == null || closed || groupId < 0) {
            return Optional.empty();
        }
        return plane.dp
                .rewrites()
                .lookup(groupId)
                .map(
                        r ->
                                new RtpContinuity.Snapshot(
                                        r.primed(),
                                        r.outSsrc() & 0xffffffffL,
                                        r.inSsrc() & 0xffffffffL,
                                        r.seqDelta(),
                                        r.tsDelta() & 0xffffffffL,
                                        r.switches(),
                                        r.rewritten(),
                                        r.dropped(),
                                        r.activeAlt()));
    }

    /** The group's id in msm_group_stats (for inspection). */
    int groupId() {
        return groupId;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (plane.detached()) {
            closeSocket(); // the group belongs to the other agent now
            return;
        }
        call(
                () -> {
                    closed = true;
                    if (bypassCheck != null) {
                        bypassCheck.cancel(false);
                    }
                    plane.dp.fanoutGroups().delete(key);
                    plane.removeAllow(groupId, allowWritten); // no stale entries for the next
                    allowWritten = Set.of();
                    plane.dp.groupInfo().update(groupId, GroupInfo.NONE);
                    plane.groupIds.release(groupId);
                    for (KSub s : subs) {
                        if (s.entry != null) {
                            plane.subIds.release(s.entry.subId());
                        }
                    }
                    adopted.forEach(a -> plane.subIds.release(a.subId()));
                    subs.clear();
                    adopted.clear();
                    return null;
                });
        plane.closed(this);
        socket.close();
    }

    /** Stop receiving without touching the group (agent shutdown: the kernel keeps forwarding). */
    void closeSocket() {
        closed = true;
        if (bypassCheck != null) {
            bypassCheck.cancel(false);
        }
        plane.closed(this);
        socket.close();
    }

    private final class KSub implements Subscriber {
        final InetSocketAddress viewer;
        final InetSocketAddress source;
        volatile FanoutSub entry; // set when the kernel serves it
        volatile boolean fallback; // userspace serves it
        final CompletableFuture<Void> ready = new CompletableFuture<>();
        final AtomicLong userPackets = new AtomicLong();
        final AtomicLong userBytes = new AtomicLong();

        KSub(InetSocketAddress viewer, InetSocketAddress source) {
            this.viewer = viewer;
            this.source = source;
        }

        @Override
        public InetSocketAddress viewer() {
            return viewer;
        }

        @Override
        public InetSocketAddress source() {
            return source;
        }

        @Override
        public long packets() {
            FanoutSub e = entry;
            return userPackets.get() + (e == null ? 0 : plane.subStats(e.subId()).packets());
        }

        @Override
        public long bytes() {
            FanoutSub e = entry;
            return userBytes.get() + (e == null ? 0 : plane.subStats(e.subId()).bytes());
        }

        @Override
        public CompletionStage<Void> ready() {
            return ready;
        }

        @Override
        public String servedBy() {
            return entry != null
                    ? (bypass ? "userspace" : "kernel")
                    : fallback ? "userspace" : "pending";
        }

        @Override
        public void close() {
            if (!subs.remove(this)) {
                return;
            }
            plane.control.execute(
                    () -> {
                        writeGroup();
                        FanoutSub e = entry;
                        if (e != null) {
                            plane.subIds.release(e.subId());
                        }
                    });
        }
    }
}
