package io.msm.agent.rtsp;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.msm.agent.limits.SourceKey;
import io.msm.agent.media.RelayPair;
import io.msm.agent.rtsp.sdp.SdpException;
import io.msm.agent.rtsp.sdp.SessionDescription;
import io.msm.agent.rtsp.wire.RtspDecoder;
import io.msm.agent.rtsp.wire.TransportSpec;
import io.msm.agent.upgrade.Handover;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.handler.ssl.SslHandler;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The RTSP proxy's part of a {@link Handover}: its plain-RTSP connections (with what their decoders
 * hold), and the published streams with their tracks' relay ports and every session on them —
 * publishers and viewers, UDP and interleaved — so the next agent answers the same sessions on the
 * same connections while the kernel keeps forwarding.
 *
 * <p>Not handed over (they end with the old agent): RTSPS connections (their TLS state is in the
 * old process), a connection waiting for an upstream, pulled paths (the upstream session is the old
 * agent's), and a stream announced but not yet recorded.
 */
final class RtspHandover implements Handover.Participant {
    private static final Logger log = LoggerFactory.getLogger(RtspHandover.class);
    static final ObjectMapper JSON = new ObjectMapper();

    /** What is handed over, as JSON. */
    record State(List<Conn> connections, List<PathState> paths) {}

    /**
     * @param pending base64 of the bytes its decoder held (a message not yet whole)
     */
    record Conn(String local, String remote, String pending) {}

    record PathState(
            String name,
            String sdp,
            long sdpId,
            List<TrackState> tracks,
            SessionState publisher,
            List<SessionState> viewers) {}

    /**
     * @param continuous the relays rewrite into one continuous stream (grace, standby): the new
     *     agent keeps the pinned rewrite state, so a stream that already switched does not jump
     * @param standbyRtp the hot standby the relays admit, with standbyRtcp and silenceMs (null:
     *     none)
     */
    record TrackState(
            int index,
            String rtp,
            String rtcp,
            String srcRtp,
            String srcRtcp,
            boolean continuous,
            String standbyRtp,
            String standbyRtcp,
            long silenceMs) {
        TrackState(int index, String rtp, String rtcp, String srcRtp, String srcRtcp) {
            this(index, rtp, rtcp, srcRtp, srcRtcp, false, null, null, 0);
        }
    }

    /**
     * @param connection index in {@link State#connections}
     * @param state READY, PLAYING or RECORDING
     */
    record SessionState(String id, int connection, String state, List<SetupState> setups) {}

    record SetupState(
            int track,
            String transport,
            String rtp,
            String rtcp,
            int rtpChannel,
            int rtcpChannel) {}

    private final RtspServer server;
    private final PathRegistry registry;
    private final List<Channel> paused = new ArrayList<>();

    RtspHandover(RtspServer server, PathRegistry registry) {
        this.server = server;
        this.registry = registry;
    }

    @Override
    public String name() {
        return "rtsp";
    }

    // ---- the old agent

    @Override
    public Handover.Offer quiesce() {
        registry.pauseExpiry(true);
        List<Channel> offered = new ArrayList<>();
        List<Conn> conns = new ArrayList<>();
        Map<Client, Integer> index = new IdentityHashMap<>();
        for (Channel ch : server.openConnections()) {
            Conn c = call(ch, () -> pauseAndDescribe(ch));
            paused.add(ch);
            if (c != null) {
                RtspConnection rc = ch.pipeline().get(RtspConnection.class);
                index.put(rc.client(), offered.size());
                offered.add(ch);
                conns.add(c);
            }
        }
        List<PathState> out = new ArrayList<>();
        synchronized (registry.lock) {
            for (StreamPath p : registry.allPaths()) {
                PathState s = describe(p, index);
                if (s != null) {
                    out.add(s);
                }
            }
        }
        return new Handover.Offer(JSON.valueToTree(new State(conns, out)), offered);
    }

    /** Event loop: stop reading; a plain connection not waiting is described, else null. */
    private static Conn pauseAndDescribe(Channel ch) {
        ch.config().setAutoRead(false);
        RtspConnection rc = ch.pipeline().get(RtspConnection.class);
        if (!ch.isActive()
                || rc == null
                || rc.client() == null
                || rc.waiting()
                || ch.pipeline().get(SslHandler.class) != null) {
            return null;
        }
        RtspDecoder d = ch.pipeline().get(RtspDecoder.class);
        byte[] pending = d == null ? new byte[0] : d.pending();
        return new Conn(
                addr((InetSocketAddress) ch.localAddress()),
                addr((InetSocketAddress) ch.remoteAddress()),
                Base64.getEncoder().encodeToString(pending));
    }

    @SuppressWarnings("GuardedBy") // under registry.lock (the caller's)
    private static PathState describe(StreamPath p, Map<Client, Integer> index) {
        Stream s = p.stream;
        if (s == null
                || s.ended
                || !s.live
                || s.origin != Stream.Origin.PUBLISHER
                || s.publisher == null
                || !index.containsKey(s.publisher.connection)) {
            return null;
        }
        List<TrackState> tracks = new ArrayList<>();
        for (Track t : s.tracks) {
            RelayPair r = t.relays();
            if (r != null) {
                Duration silence = t.standbySilence;
                tracks.add(
                        new TrackState(
                                t.index,
                                addr(r.rtp().local()),
                                addr(r.rtcp().local()),
                                addr(r.rtp().options().expectedSource()),
                                addr(r.rtcp().options().expectedSource()),
                                r.rtp().continuityState().isPresent(),
                                addr(t.standbyRtp),
                                addr(t.standbyRtcp),
                                silence == null ? 0 : silence.toMillis()));
            }
        }
        List<SessionState> viewers = new ArrayList<>();
        for (RtspSession v : p.viewers) {
            Integer c = index.get(v.connection);
            if (c != null && v.stream == s && !v.ended) {
                viewers.add(session(v, c));
            }
        }
        return new PathState(
                p.name,
                s.sdp.text(),
                s.sdpId,
                tracks,
                session(s.publisher, index.get(s.publisher.connection)),
                viewers);
    }

    private static SessionState session(RtspSession s, int conn) {
        List<SetupState> setups = new ArrayList<>();
        for (RtspSession.Setup u : s.setups.values()) {
            setups.add(
                    new SetupState(
                            u.track().index,
                            u.transport().format(),
                            addr(u.rtp()),
                            addr(u.rtcp()),
                            u.rtpChannel(),
                            u.rtcpChannel()));
        }
        return new SessionState(s.id, conn, s.state.name(), setups);
    }

    @Override
    public void resume() {
        for (Channel ch : paused) {
            ch.eventLoop().execute(() -> ch.config().setAutoRead(true));
        }
        paused.clear();
        registry.pauseExpiry(false);
    }

    @Override
    public void release() {
        registry.freeze();
        // what the relays wrote to the interleaved viewers leaves before the successor writes
        for (Channel ch : paused) {
            try {
                call(
                        ch,
                        () -> {
                            ch.flush();
                            return null;
                        });
                long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
                while (ch.isActive()
                        && ch.unsafe().outboundBuffer() != null
                        && !ch.unsafe().outboundBuffer().isEmpty()
                        && System.nanoTime() < end) {
                    Thread.sleep(1);
                }
            } catch (RuntimeException e) {
                // closed meanwhile
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    // ---- the new agent

    /**
     * Before taking over: load and run once what restoring runs (JSON records, SDP, Transport, the
     * RTSP pipeline's classes), so the first run does not lengthen the pause interleaved viewers
     * see while the old agent has stopped and this one has not yet started.
     */
    static void warmUp() {
        try {
            String sdp =
                    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=w\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n"
                            + "a=rtpmap:96 H264/90000\r\na=control:streamid=0\r\n";
            SetupState u =
                    new SetupState(0, "RTP/AVP/TCP;unicast;interleaved=0-1", null, null, 0, 1);
            State s =
                    new State(
                            List.of(new Conn("127.0.0.1|1", "127.0.0.1|2", "")),
                            List.of(
                                    new PathState(
                                            "w",
                                            sdp,
                                            1,
                                            List.of(
                                                    new TrackState(
                                                            0,
                                                            "127.0.0.1|2",
                                                            "127.0.0.1|3",
                                                            "127.0.0.1|4",
                                                            "127.0.0.1|5")),
                                            new SessionState("a", 0, "RECORDING", List.of(u)),
                                            List.of(
                                                    new SessionState(
                                                            "b", 0, "PLAYING", List.of(u))))));
            State back = JSON.treeToValue(JSON.valueToTree(s), State.class);
            SessionDescription.parse(back.paths().get(0).sdp());
            TransportSpec.parse(u.transport()).format();
            sock(back.connections().get(0).local());
            RtspDecoder.onHeap(1024, 1024);
            new EpollSocketChannel().unsafe().closeForcibly();
        } catch (IOException | SdpException | RuntimeException | Error e) {
            log.debug("handover warm-up: {}", e.toString());
        }
    }

    /**
     * Adopt the connections and restore the streams and sessions; the connections read again once
     * all is restored. A stream or session that cannot be restored is skipped (its client then
     * hears 454 Session Not Found and sets up again).
     */
    void restore(Handover.Received r, ChannelInitializer<Channel> pipeline) throws IOException {
        State st;
        try {
            st = JSON.treeToValue(r.state(), State.class);
        } catch (IOException e) {
            throw new IOException("unreadable RTSP handover state: " + e.getMessage(), e);
        }
        if (st.connections().size() != r.connections().size()) {
            throw new IOException(
                    "RTSP handover: "
                            + st.connections().size()
                            + " connections described, "
                            + r.connections().size()
                            + " passed");
        }
        List<Channel> channels = new ArrayList<>();
        List<Client> clients = new ArrayList<>();
        for (int fd : r.connections()) {
            EpollSocketChannel ch = new EpollSocketChannel(fd);
            ch.config().setAutoRead(false);
            ch.config().setOption(ChannelOption.TCP_NODELAY, true);
            ch.pipeline().addLast(pipeline);
            server.workerGroup().register(ch).syncUninterruptibly();
            channels.add(ch);
            clients.add(call(ch, () -> ch.pipeline().get(RtspConnection.class).client()));
        }
        int sessions = 0;
        List<RtspSession> replay = new ArrayList<>();
        synchronized (registry.lock) {
            for (PathState p : st.paths()) {
                try {
                    sessions += restorePath(p, clients, replay);
                } catch (IOException | SdpException | RuntimeException e) {
                    log.warn("handover: path {} not restored: {}", p.name(), e.toString());
                }
            }
        }
        for (RtspSession s : replay) {
            try {
                registry.replay(s.connection, s);
            } catch (Refused e) {
                log.warn("handover: session {} not playing again: {}", s.id, e.getMessage());
            }
        }
        // read (and answer) once the old agent has stopped writing to these connections
        List<byte[]> pendings = new ArrayList<>();
        st.connections().forEach(c -> pendings.add(Base64.getDecoder().decode(c.pending())));
        Handover.onGo(
                () -> {
                    for (int i = 0; i < channels.size(); i++) {
                        Channel ch = channels.get(i);
                        byte[] pending = pendings.get(i);
                        ch.eventLoop()
                                .execute(
                                        () -> {
                                            if (pending.length > 0) {
                                                ch.pipeline()
                                                        .fireChannelRead(
                                                                Unpooled.wrappedBuffer(pending));
                                                ch.pipeline().fireChannelReadComplete();
                                            }
                                            ch.config().setAutoRead(true);
                                        });
                    }
                });
        // the relays' allowed identities follow once this agent knows the pods (a policy or
        // identity change runs the recheck); ask for one now in case it already does
        registry.recheckSoon();
        log.info(
                "handover: {} RTSP connection(s), {} stream(s), {} session(s) taken over",
                channels.size(),
                st.paths().size(),
                sessions);
    }

    @SuppressWarnings("GuardedBy") // under registry.lock (the caller's)
    private int restorePath(PathState ps, List<Client> clients, List<RtspSession> replay)
            throws IOException, SdpException {
        StreamPath p = registry.path(ps.name());
        boolean created = false;
        if (p == null) {
            p = new StreamPath(ps.name(), null);
            created = true;
        } else if (p.stream != null || p.pulled()) {
            throw new IOException("the path is busy here");
        }
        Client pub = clients.get(ps.publisher().connection());
        Stream s =
                new Stream(
                        p,
                        Stream.Origin.PUBLISHER,
                        SessionDescription.parse(ps.sdp()),
                        registry::onFeedback,
                        ps.sdpId());
        Map<Integer, Track> byIndex = new HashMap<>();
        s.tracks.forEach(t -> byIndex.put(t.index, t));
        try {
            for (TrackState t : ps.tracks()) {
                Track track = byIndex.get(t.index());
                track.attach(
                        track.reopenRelays(
                                registry.plane(),
                                sock(t.rtp()),
                                sock(t.rtcp()),
                                sock(t.srcRtp()),
                                sock(t.srcRtcp()),
                                pub.remote.getAddress()));
                if (t.standbyRtp() != null) {
                    // the pinned rewrite state (deltas, which one is active) is kept
                    track.standby(
                            sock(t.standbyRtp()),
                            sock(t.standbyRtcp()),
                            Duration.ofMillis(t.silenceMs()),
                            null);
                } else if (t.continuous()) {
                    track.continuous();
                }
            }
        } catch (IOException | RuntimeException e) {
            s.closeTracks();
            throw e;
        }
        if (created) {
            p.creator = SourceKey.of(pub.remote);
            registry.addPath(p);
        }
        s.live = true;
        p.stream = s;
        p.publications.incrementAndGet();
        RtspSession publisher =
                registry.restoreSession(pub, RtspSession.Kind.PUBLISHER, s, ps.publisher().id());
        setups(publisher, ps.publisher(), byIndex);
        publisher.state = RtspSession.State.RECORDING;
        s.publisher = publisher;
        int n = 1;
        for (SessionState v : ps.viewers()) {
            Client c = clients.get(v.connection());
            RtspSession vs = registry.restoreSession(c, RtspSession.Kind.VIEWER, s, v.id());
            setups(vs, v, byIndex);
            p.viewers.add(vs);
            if (RtspSession.State.PLAYING.name().equals(v.state())) {
                replay.add(vs);
            }
            n++;
        }
        return n;
    }

    private static void setups(RtspSession s, SessionState st, Map<Integer, Track> tracks) {
        for (SetupState u : st.setups()) {
            Track t = tracks.get(u.track());
            if (t == null) {
                continue;
            }
            s.setups.put(
                    u.track(),
                    new RtspSession.Setup(
                            t,
                            TransportSpec.parse(u.transport()),
                            sock(u.rtp()),
                            sock(u.rtcp()),
                            u.rtpChannel(),
                            u.rtcpChannel()));
        }
    }

    // ---- helpers

    static String addr(InetSocketAddress a) {
        return a == null ? null : a.getAddress().getHostAddress() + "|" + a.getPort();
    }

    static InetSocketAddress sock(String s) {
        if (s == null) {
            return null;
        }
        int i = s.lastIndexOf('|');
        try {
            return new InetSocketAddress(
                    InetAddress.getByName(s.substring(0, i)), Integer.parseInt(s.substring(i + 1)));
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an address: " + s, e);
        }
    }

    private static <T> T call(Channel ch, Callable<T> task) {
        try {
            return ch.eventLoop().submit(task).get(5, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("event loop did not answer", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
