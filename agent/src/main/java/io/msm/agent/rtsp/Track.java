package io.msm.agent.rtsp;

import io.msm.agent.media.MediaPlane;
import io.msm.agent.media.Relay;
import io.msm.agent.media.RelayOptions;
import io.msm.agent.media.RelayPair;
import io.msm.agent.media.RtpContinuity;
import io.msm.agent.rtsp.sdp.MediaDescription;
import io.msm.agent.rtsp.wire.InterleavedFrame;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One media track of a stream and its RTP/RTCP relay pair on the node. UDP viewers are subscribers
 * of the relays (the kernel makes their copies); viewers that take RTP over their RTSP connection
 * are served from the relays' taps, which then also hand every upstream packet to userspace — only
 * while such viewers exist.
 */
final class Track {
    /**
     * Viewer feedback (RTCP receiver reports, NAT probes) reaching a relay from a non-upstream
     * source.
     */
    interface Feedback {
        void onFeedback(InetSocketAddress from, ByteBuf data, boolean rtcp);
    }

    /** A viewer served over its RTSP connection, on two interleaved channels. */
    record TcpViewer(
            Track track, RtspSession session, Channel channel, int rtpChannel, int rtcpChannel) {}

    final int index;
    final MediaDescription media;

    /** "rtsp/&lt;path&gt;/track&lt;i&gt;": names the relays (fan-out groups, stream metrics) */
    private final String label;

    private final Feedback feedback;
    private volatile RelayPair relays;

    /**
     * the address the track's media comes from (publisher or upstream), and the identities its
     * relays admit (null: no policy covers the path)
     */
    volatile InetAddress source;

    /** The hot standby the relays admit (null: none), for a seamless upgrade's hand-over. */
    volatile InetSocketAddress standbyRtp;

    volatile InetSocketAddress standbyRtcp;
    volatile Duration standbySilence;

    private volatile Set<Integer> allowedIdentities;

    /** the current publisher set this track up (a returning publisher sets it up again) */
    boolean fed;

    private final List<TcpViewer> tcpViewers = new CopyOnWriteArrayList<>();
    final AtomicLong tcpDrops = new AtomicLong();
    final AtomicLong tcpFrames = new AtomicLong();

    /** where the stream comes from ('msm fanout' shows it on the groups), or null */
    private final String upstream;

    Track(String path, int index, MediaDescription media, Feedback feedback) {
        this(path, index, media, feedback, null);
    }

    Track(String path, int index, MediaDescription media, Feedback feedback, String upstream) {
        this.index = index;
        this.media = media;
        this.label = "rtsp/" + path + "/track" + index;
        this.feedback = feedback;
        this.upstream = upstream;
    }

    /**
     * A relay pair for this track on {@code at}, the node address its source reaches (the kernel
     * keys the fan-out group by it), taking upstream packets only from {@code srcRtp}/{@code
     * srcRtcp}; others (viewers' feedback) are delivered locally. Not attached yet: see {@link
     * #attach}.
     */
    RelayPair openRelays(
            MediaPlane plane,
            InetAddress at,
            InetSocketAddress srcRtp,
            InetSocketAddress srcRtcp,
            Set<Integer> identities)
            throws IOException {
        RelayPair pair =
                plane.openPair(
                        at,
                        RelayOptions.of(label + "/rtp")
                                .withExpectedSource(srcRtp)
                                .withOthers(RelayOptions.Others.DELIVER_LOCAL)
                                .withAllowedIdentities(identities)
                                .withUpstream(upstream),
                        RelayOptions.of(label + "/rtcp")
                                .withExpectedSource(srcRtcp)
                                .withOthers(RelayOptions.Others.DELIVER_LOCAL)
                                .withAllowedIdentities(identities)
                                .withUpstream(upstream));
        source = srcRtp.getAddress();
        allowedIdentities = identities;
        return pair;
    }

    /**
     * A returning publisher feeds the relays this track kept through the grace: they take upstream
     * packets from its ports now, and its identity.
     */
    synchronized void refeed(
            InetSocketAddress srcRtp, InetSocketAddress srcRtcp, Set<Integer> ids) {
        RelayPair r = relays;
        r.rtp().expectSource(srcRtp);
        r.rtcp().expectSource(srcRtcp);
        // the returning publisher may reuse its SSRC: its first packet re-bases all the same
        r.rtp().resync();
        source = srcRtp.getAddress();
        if (!Objects.equals(ids, allowedIdentities)) {
            r.rtp().allowIdentities(ids);
            r.rtcp().allowIdentities(ids);
            allowedIdentities = ids;
        }
    }

    /** The relays admit upstream packets only from these identities now (null: no check). */
    synchronized void allowIdentities(Set<Integer> identities) {
        RelayPair r = relays;
        if (r == null || Objects.equals(identities, allowedIdentities)) {
            return;
        }
        r.rtp().allowIdentities(identities);
        r.rtcp().allowIdentities(identities);
        allowedIdentities = identities;
    }

    /** The relay pair a handed-over track had, on the same ports (their sockets are adopted). */
    RelayPair reopenRelays(
            MediaPlane plane,
            InetSocketAddress rtp,
            InetSocketAddress rtcp,
            InetSocketAddress srcRtp,
            InetSocketAddress srcRtcp,
            InetAddress publisher)
            throws IOException {
        // the source the policy recheck judges (PathRegistry.recheck): until the new agent's
        // directory has listed the pods and the recheck ran, these relays check no identity
        source = srcRtp != null ? srcRtp.getAddress() : publisher;
        allowedIdentities = null;
        Relay a =
                plane.open(
                        rtp,
                        RelayOptions.of(label + "/rtp")
                                .withExpectedSource(srcRtp)
                                .withOthers(RelayOptions.Others.DELIVER_LOCAL));
        try {
            return new RelayPair(
                    a,
                    plane.open(
                            rtcp,
                            RelayOptions.of(label + "/rtcp")
                                    .withExpectedSource(srcRtcp)
                                    .withOthers(RelayOptions.Others.DELIVER_LOCAL)));
        } catch (IOException | RuntimeException e) {
            a.close();
            throw e;
        }
    }

    /**
     * Its relays send one continuous stream whoever publishes (kernel: MSM_GROUP_F_REWRITE): a
     * publisher returning within the grace continues the sequence numbers and timestamps the
     * viewers saw, under the same SSRC; the RTCP relay's sender reports follow.
     */
    void continuous() {
        RelayPair r = relays;
        RtpContinuity.Config c = RtpContinuity.Config.rtp(clockRate());
        r.rtp().continuity(c);
        r.rtcp().continuity(c.rtcpOf(r.rtp().local(), null));
    }

    /**
     * Hot standby: the relays also take the standby publisher's ports; the kernel relays the active
     * one of the two and switches when it has been silent for {@code silence} (one continuous
     * stream either way).
     */
    synchronized void standby(
            InetSocketAddress rtp, InetSocketAddress rtcp, Duration silence, Set<Integer> ids) {
        standbyRtp = rtp;
        standbyRtcp = rtcp;
        standbySilence = silence;
        RelayPair r = relays;
        RtpContinuity.Config c = RtpContinuity.Config.rtp(clockRate()).withStandby(rtp, silence);
        r.rtp().continuity(c);
        r.rtcp().continuity(c.rtcpOf(r.rtp().local(), rtcp));
        Set<Integer> was = allowedIdentities;
        if (ids != null && was != null && !was.containsAll(ids)) {
            Set<Integer> both = new HashSet<>(was);
            both.addAll(ids);
            r.rtp().allowIdentities(both);
            r.rtcp().allowIdentities(both);
            allowedIdentities = Set.copyOf(both);
        }
    }

    /** The clock rate of the track's first payload type (a=rtpmap), 0 when not given. */
    int clockRate() {
        if (media.formats().isEmpty()) {
            return 0;
        }
        String prefix = "a=rtpmap:" + media.formats().get(0) + " ";
        for (String l : media.lines()) {
            if (l.startsWith(prefix)) {
                String[] enc = l.substring(prefix.length()).strip().split("/");
                try {
                    return enc.length > 1 ? Integer.parseInt(enc[1].strip()) : 0;
                } catch (NumberFormatException e) {
                    return 0;
                }
            }
        }
        return 0;
    }

    RelayPair relays() {
        return relays;
    }

    void attach(RelayPair pair) {
        relays = pair;
        pair.rtp().tap(this::onRtp, false);
        pair.rtcp().tap(this::onRtcp, false);
    }

    private void onRtp(InetSocketAddress from, ByteBuf data, boolean upstream) {
        if (upstream) {
            deliver(data, false);
        } else {
            feedback.onFeedback(from, data, false);
        }
    }

    private void onRtcp(InetSocketAddress from, ByteBuf data, boolean upstream) {
        if (upstream) {
            deliver(data, true);
        } else {
            feedback.onFeedback(from, data, true);
        }
    }

    private void deliver(ByteBuf data, boolean rtcp) {
        for (TcpViewer v : tcpViewers) {
            // real time: a viewer that cannot keep up loses packets rather than queueing them
            if (!v.channel().isActive() || !v.channel().isWritable()) {
                tcpDrops.incrementAndGet();
                continue;
            }
            v.channel()
                    .writeAndFlush(
                            new InterleavedFrame(
                                    rtcp ? v.rtcpChannel() : v.rtpChannel(),
                                    data.retainedDuplicate()),
                            v.channel().voidPromise());
            tcpFrames.incrementAndGet();
        }
    }

    void addTcpViewer(TcpViewer v) {
        tcpViewers.add(v);
        updateTaps();
    }

    void removeTcpViewer(TcpViewer v) {
        if (tcpViewers.remove(v)) {
            updateTaps();
        }
    }

    int tcpViewers() {
        return tcpViewers.size();
    }

    private void updateTaps() {
        RelayPair r = relays;
        if (r != null) {
            boolean upstream = !tcpViewers.isEmpty();
            r.rtp().tap(this::onRtp, upstream);
            r.rtcp().tap(this::onRtcp, upstream);
        }
    }

    /** Upstream packets seen by the relays (kernel: counted by TC), for publisher liveness. */
    long upstreamPackets() {
        RelayPair r = relays;
        return r == null
                ? 0
                : r.rtp().stats().upstreamPackets() + r.rtcp().stats().upstreamPackets();
    }

    void close() {
        tcpViewers.clear();
        RelayPair r = relays;
        relays = null;
        if (r != null) {
            r.close();
        }
    }

    /** The relay a datagram subscriber of this track gets. */
    Relay rtp() {
        return relays.rtp();
    }

    Relay rtcp() {
        return relays.rtcp();
    }
}
