package io.msm.agent.rtsp;

import io.msm.agent.limits.SourceLimiter;
import io.msm.agent.media.Relay;
import io.msm.agent.rtsp.wire.TransportSpec;
import io.netty.buffer.ByteBuf;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * An RTSP session (RFC 2326 section 3): created by the first SETUP, ended by TEARDOWN, by its
 * connection closing, by its stream ending, or after {@code rtsp.session-timeout} without a
 * request, an RTCP receiver report (viewers) or media (publishers). Mutable fields change under the
 * {@link PathRegistry} lock, except {@link #lastSeen}.
 */
final class RtspSession {
    enum Kind {
        VIEWER,
        PUBLISHER
    }

    enum State {
        READY,
        PLAYING,
        RECORDING
    }

    /**
     * One SETUP: a track and where its packets go (viewer) or come from (publisher).
     *
     * @param rtp viewer's RTP destination (UDP), or null
     * @param rtcp viewer's RTCP destination (UDP), or null
     */
    record Setup(
            Track track,
            TransportSpec transport,
            InetSocketAddress rtp,
            InetSocketAddress rtcp,
            int rtpChannel,
            int rtcpChannel) {}

    final String id;
    final Kind kind;
    final Stream stream;
    final Client connection;
    final Map<Integer, Setup> setups = new TreeMap<>();
    State state = State.READY;
    volatile long lastSeen = System.nanoTime();
    final List<Relay.Subscriber> subscribers = new ArrayList<>();
    final List<Track.TcpViewer> tcpViewers = new ArrayList<>();
    long lastUpstreamPackets = -1;

    /** a publisher: when its stream's upstream packet count last moved (System.nanoTime) */
    long lastMediaNs = System.nanoTime();

    volatile RtcpPackets.Report lastReport;
    boolean ended;

    /** its place under rtsp.max-sessions-per-source, given back when it ends */
    SourceLimiter.Lease sourceLease;

    RtspSession(String id, Kind kind, Stream stream, Client connection) {
        this.id = id;
        this.kind = kind;
        this.stream = stream;
        this.connection = connection;
    }

    void touch() {
        lastSeen = System.nanoTime();
    }

    StreamPath path() {
        return stream.path;
    }

    /**
     * A viewer's RTCP (a receiver report) or NAT probe: it is alive; its report counts for the
     * path.
     */
    void feedback(ByteBuf data, boolean rtcp) {
        touch();
        if (rtcp && RtcpPackets.isRtcp(data)) {
            RtcpPackets.Report r = RtcpPackets.firstReport(data);
            if (r != null) {
                lastReport = r;
            }
            path().receiverReports
                    .incrementAndGet(); // after the report: who sees the count sees the loss
        }
    }

    /** Stop sending to this viewer (PAUSE, TEARDOWN, end); under the registry lock. */
    void stopMedia() {
        subscribers.forEach(Relay.Subscriber::close);
        subscribers.clear();
        for (Track.TcpViewer v : tcpViewers) {
            v.track().removeTcpViewer(v);
        }
        tcpViewers.clear();
    }

    /** An interleaved channel this session uses, or null. */
    Setup byChannel(int channel) {
        for (Setup s : setups.values()) {
            if (s.transport().tcp() && (s.rtpChannel() == channel || s.rtcpChannel() == channel)) {
                return s;
            }
        }
        return null;
    }
}
