package io.msm.agent.rtsp;

import io.msm.agent.Version;
import io.msm.agent.media.RelayOptions;
import io.msm.agent.media.RelayPair;
import io.msm.agent.rtsp.sdp.MediaDescription;
import io.msm.agent.rtsp.sdp.SdpException;
import io.msm.agent.rtsp.sdp.SessionDescription;
import io.msm.agent.rtsp.wire.InterleavedFrame;
import io.msm.agent.rtsp.wire.MalformedMessage;
import io.msm.agent.rtsp.wire.RtspMessage;
import io.msm.agent.rtsp.wire.RtspRequest;
import io.msm.agent.rtsp.wire.RtspResponse;
import io.msm.agent.rtsp.wire.RtspStatus;
import io.msm.agent.rtsp.wire.TransportSpec;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One client's RTSP connection: answers its requests in order, moves its
 * interleaved media, and ends its sessions when it closes. A request that
 * must wait (a pulled path whose upstream is still being set up) stops
 * reading until it is answered, so responses never overtake each other.
 */
final class RtspConnection extends SimpleChannelInboundHandler<RtspMessage> {
    private static final Logger log = LoggerFactory.getLogger(RtspConnection.class);
    static final String PUBLIC = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER, "
            + "ANNOUNCE, RECORD";

    private final RtspServer server;
    private Channel channel;
    private InetSocketAddress local;
    private InetSocketAddress remote;
    /** sessions created on this connection (guarded by the server lock) */
    final Set<RtspSession> sessions = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** a stream this connection ANNOUNCEd and has not yet RECORDed or released (guarded by the server lock) */
    Stream announced;
    private boolean waiting;
    private final ArrayDeque<RtspMessage> queued = new ArrayDeque<>();

    RtspConnection(RtspServer server) {
        super(false);
        this.server = server;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        local = (InetSocketAddress) channel.localAddress();
        remote = (InetSocketAddress) channel.remoteAddress();
        server.connections.put(channel, this);
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        server.connections.remove(channel);
        synchronized (server.lock) {
            server.connectionClosed(this);
        }
        queued.forEach(ReferenceCountUtil::release);
        queued.clear();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("connection {}: {}", remote, cause.toString());
        ctx.close();
    }

    /** Close after what was written has left (the stream this viewer watched ended). */
    void closeSoon() {
        Channel c = channel;
        if (c != null) {
            c.eventLoop().execute(() -> c.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER)
                    .addListener(ChannelFutureListener.CLOSE));
        }
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, RtspMessage msg) {
        if (waiting) {
            queued.add(msg);
            return;
        }
        dispatch(msg);
    }

    private void dispatch(RtspMessage msg) {
        try {
            if (msg instanceof InterleavedFrame f) {
                onInterleaved(f);
            } else if (msg instanceof RtspRequest r) {
                handle(r);
            } else if (msg instanceof MalformedMessage m) {
                server.metrics.badRequests.increment();
                log.debug("connection {}: {} {}", remote, m.status(), m.why());
                RtspResponse r = RtspResponse.of(m.status());
                if (m.cseq() != null) {
                    r.header("CSeq", m.cseq());
                }
                r.header("Server", "msm/" + Version.get());
                var f = channel.writeAndFlush(m.close() ? r.header("Connection", "close") : r);
                server.metrics.response("malformed", m.status());
                if (m.close()) {
                    f.addListener(ChannelFutureListener.CLOSE);
                }
            }
            // responses from clients (to requests we never send them) are ignored
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    // ---- requests ----------------------------------------------------------------------------------------------

    /** A reply, or null when the request waits for the upstream and will be handled again. */
    private void handle(RtspRequest req) {
        RtspResponse r;
        if (req.cseq() == null) {
            r = error(RtspStatus.BAD_REQUEST, "no CSeq header");
        } else {
            try {
                r = switch (req.method()) {
                    case "OPTIONS" -> options(req);
                    case "DESCRIBE" -> describe(req);
                    case "ANNOUNCE" -> announce(req);
                    case "SETUP" -> setup(req);
                    case "PLAY" -> play(req);
                    case "PAUSE" -> pause(req);
                    case "RECORD" -> record(req);
                    case "TEARDOWN" -> teardown(req);
                    case "GET_PARAMETER", "SET_PARAMETER" -> parameter(req);
                    default -> error(RtspStatus.NOT_IMPLEMENTED, "method " + req.method() + " is not supported")
                            .header("Public", PUBLIC);
                };
            } catch (RuntimeException e) {
                log.warn("{} {} from {}: {}", req.method(), req.uri(), remote, e.toString(), e);
                r = error(RtspStatus.INTERNAL_SERVER_ERROR, e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }
        if (r == null) {
            return;
        }
        reply(req, r);
    }

    private void reply(RtspRequest req, RtspResponse r) {
        if (req.cseq() != null) {
            r.header("CSeq", req.cseq());
        }
        r.header("Server", "msm/" + Version.get());
        channel.writeAndFlush(r);
        server.metrics.response(req.method(), r.status());
        if (r.status() >= 400) {
            log.debug("{} {} from {}: {} {}", req.method(), req.uri(), remote, r.status(),
                    r.headers().getOrNull("X-Reason"));
        }
    }

    private static RtspResponse error(int status, String why) {
        // the reason as a header too: players log status lines, people read logs
        RtspResponse r = RtspResponse.of(status);
        if (why != null) {
            r.header("X-Reason", why.replaceAll("[\\r\\n]", " "));
        }
        return r;
    }

    /**
     * Wait for a pulled path's upstream, then handle the request again:
     * reading stops meanwhile, so later requests stay behind it.
     */
    private RtspResponse awaitUpstream(RtspRequest req, Upstream u) {
        waiting = true;
        channel.config().setAutoRead(false);
        CompletableFuture<Stream> ready = u.ready();
        ready.orTimeout(server.settings.upstreamTimeout().toMillis() + 1000, TimeUnit.MILLISECONDS)
                .whenComplete((s, e) -> channel.eventLoop().execute(() -> {
                    waiting = false;
                    if (e != null) {
                        String why = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
                                ? e.getCause().getMessage() : e.getMessage();
                        boolean timeout = e instanceof java.util.concurrent.TimeoutException
                                || e.getCause() instanceof java.util.concurrent.TimeoutException;
                        reply(req, error(timeout ? RtspStatus.GATEWAY_TIMEOUT : RtspStatus.BAD_GATEWAY,
                                "upstream " + u.path.config.upstream() + ": " + why));
                    } else {
                        handle(req);
                    }
                    // handle() may have started another wait
                    while (!waiting && !queued.isEmpty()) {
                        dispatch(queued.poll());
                    }
                    if (!waiting) {
                        channel.config().setAutoRead(true);
                    }
                }));
        return null;
    }

    private RtspResponse options(RtspRequest req) {
        String sid = sessionId(req);
        if (sid != null) {
            RtspSession s = server.sessions.get(sid);
            if (s != null) {
                s.touch();
            }
        }
        return RtspResponse.of(RtspStatus.OK).header("Public", PUBLIC);
    }

    private RtspResponse describe(RtspRequest req) {
        String accept = req.headers().getOrNull("Accept");
        if (accept != null && !accept.toLowerCase(Locale.ROOT).contains("application/sdp") && !accept.contains("*/*")) {
            return error(RtspStatus.UNSUPPORTED_MEDIA_TYPE, "only application/sdp descriptions are served");
        }
        String sdp;
        synchronized (server.lock) {
            RtspServer.Resolved res = server.resolve(RtspUrls.host(req.uri()), RtspUrls.path(req.uri()));
            if (res == null || res.rest() != null) {
                return error(RtspStatus.NOT_FOUND, "no path " + RtspUrls.path(req.uri()));
            }
            StreamPath p = res.path();
            Stream s = p.liveStream();
            if (s == null) {
                if (p.pulled()) {
                    Upstream u = server.upstream(p);
                    if (u.stream() == null || !u.stream().live) {
                        return awaitUpstream(req, u);
                    }
                    s = u.stream();
                } else {
                    return error(RtspStatus.NOT_FOUND, "nothing is published at " + p.name);
                }
            }
            sdp = s.sdp.served(serverAddress(), s.sdpId, p.name);
            if (p.pulled()) {
                server.lingerIfIdle(p); // a DESCRIBE without SETUP keeps the upstream only for the linger time
            }
        }
        return RtspResponse.of(RtspStatus.OK).header("Content-Base", RtspUrls.base(req.uri()))
                .withBody("application/sdp", sdp);
    }

    private String serverAddress() {
        InetAddress a = local.getAddress();
        return a instanceof Inet4Address ? a.getHostAddress() : "0.0.0.0";
    }

    private RtspResponse announce(RtspRequest req) {
        String type = req.headers().getOrNull("Content-Type");
        if (type != null && !type.toLowerCase(Locale.ROOT).startsWith("application/sdp")) {
            return error(RtspStatus.UNSUPPORTED_MEDIA_TYPE, "ANNOUNCE takes application/sdp, got " + type);
        }
        String name = RtspUrls.path(req.uri());
        if (!RtspUrls.validPathName(name)) {
            return error(RtspStatus.BAD_REQUEST, "a path is letters, digits, . _ ~ - and / (at most "
                    + RtspUrls.MAX_PATH + "), got '" + (name == null ? req.uri() : name) + "'");
        }
        SessionDescription sdp;
        try {
            sdp = SessionDescription.parse(req.bodyText());
        } catch (SdpException e) {
            return error(RtspStatus.BAD_REQUEST, "session description: " + e.getMessage());
        }
        for (MediaDescription m : sdp.media()) {
            if (!m.isRtpAvp()) {
                return error(RtspStatus.UNSUPPORTED_MEDIA_TYPE, "media " + m.media() + " uses " + m.protocol()
                        + "; only RTP/AVP can be published");
            }
        }
        synchronized (server.lock) {
            StreamPath p = server.paths.get(name);
            if (p != null && p.pulled()) {
                return error(RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE, "path " + name
                        + " is pulled from its upstream; it cannot be published to");
            }
            if (p == null) {
                if (!server.settings.publishByDefault()) {
                    return error(RtspStatus.NOT_FOUND, "path " + name + " is not configured (rtsp.paths) and "
                            + "rtsp.publish-by-default is off");
                }
                if (server.dynamicPaths() >= server.settings.maxPaths()) {
                    return error(RtspStatus.NOT_ENOUGH_BANDWIDTH, "rtsp.max-paths (" + server.settings.maxPaths()
                            + ") paths are published already");
                }
                p = new StreamPath(name, null);
                server.addPath(p);
            }
            if (p.stream != null && !p.stream.ended) {
                if (p.stream.announcer != this || p.stream.live) {
                    return error(RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE, "path " + name
                            + " already has a publisher");
                }
                server.endStream(p.stream, "announced again");
            }
            if (announced != null && !announced.ended) {
                server.endStream(announced, "the publisher announced another path");
            }
            Stream s = new Stream(p, Stream.Origin.PUBLISHER, sdp, server::onFeedback);
            s.announcer = this;
            p.stream = s;
            announced = s;
            if (server.paths.get(name) != p) {
                server.addPath(p); // endStream above may have dropped a publisher-created path
            }
        }
        log.info("{}: announced by {} ({} track(s))", name, remote, sdp.media().size());
        return RtspResponse.of(RtspStatus.OK);
    }

    private static String sessionId(RtspRequest req) {
        String v = req.headers().getOrNull("Session");
        if (v == null) {
            return null;
        }
        int semi = v.indexOf(';');
        return (semi < 0 ? v : v.substring(0, semi)).trim();
    }

    private RtspResponse setup(RtspRequest req) {
        List<TransportSpec> offered;
        try {
            offered = TransportSpec.parseAll(req.headers().getOrNull("Transport"));
        } catch (IllegalArgumentException e) {
            return error(RtspStatus.BAD_REQUEST, "Transport: " + e.getMessage());
        }
        synchronized (server.lock) {
            String urlPath = RtspUrls.path(req.uri());
            RtspServer.Resolved res = server.resolve(RtspUrls.host(req.uri()), urlPath);
            if (res == null) {
                return error(RtspStatus.NOT_FOUND, "no path " + urlPath);
            }
            StreamPath p = res.path();
            String sid = sessionId(req);
            RtspSession session = null;
            if (sid != null) {
                session = server.sessions.get(sid);
                if (session == null || session.connection != this) {
                    return error(RtspStatus.SESSION_NOT_FOUND, "no session " + sid + " on this connection");
                }
                if (session.path() != p) {
                    return error(RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE, "session " + sid + " belongs to path "
                            + session.path().name);
                }
                session.touch();
            }
            Stream a = announced;
            if (a != null && a.path == p && !a.ended && !a.live) {
                return setupPublisher(req, a, res.rest(), offered, session);
            }
            if (session != null && session.kind == RtspSession.Kind.PUBLISHER) {
                return error(RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE, "tracks cannot be added after RECORD");
            }
            Stream s = p.liveStream();
            if (s == null) {
                if (p.pulled()) {
                    return awaitUpstream(req, server.upstream(p));
                }
                return error(RtspStatus.NOT_FOUND, "nothing is published at " + p.name);
            }
            return setupViewer(req, s, res.rest(), offered, session);
        }
    }

    /** lock held */
    private RtspResponse setupPublisher(RtspRequest req, Stream s, String rest, List<TransportSpec> offered,
                                        RtspSession session) {
        Track t = s.track(rest, req.uri());
        if (t == null) {
            return error(RtspStatus.NOT_FOUND, "no track " + rest + " in the announced description");
        }
        TransportSpec want = null;
        for (TransportSpec o : offered) {
            if (o.isRtpAvp() && !o.multicast() && (o.tcp() || o.clientPort() != null)) {
                want = o;
                break;
            }
        }
        if (want == null) {
            return error(RtspStatus.UNSUPPORTED_TRANSPORT, "publishers send RTP/AVP over UDP (with client_port) or "
                    + "RTP/AVP/TCP (interleaved)");
        }
        if (t.relays() != null) {
            return error(RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE, "track " + t.index + " is already set up");
        }
        if (session == null) {
            if (s.publisher != null) {
                session = s.publisher;
            } else {
                if (server.sessions.size() >= server.settings.maxSessions()) {
                    return error(RtspStatus.NOT_ENOUGH_BANDWIDTH, "rtsp.max-sessions (" + server.settings.maxSessions()
                            + ") reached");
                }
                session = newSession(RtspSession.Kind.PUBLISHER, s);
                s.publisher = session;
            }
        }
        int rtpCh = 0;
        int rtcpCh = 0;
        InetSocketAddress srcRtp;
        InetSocketAddress srcRtcp;
        if (want.tcp()) {
            rtpCh = want.interleaved() != null ? want.interleaved().first() : 2 * t.index;
            rtcpCh = want.interleaved() != null ? want.interleaved().second() : 2 * t.index + 1;
            if (channelInUse(rtpCh) || channelInUse(rtcpCh)) {
                return error(RtspStatus.UNSUPPORTED_TRANSPORT, "interleaved channel " + rtpCh + "-" + rtcpCh
                        + " is in use on this connection");
            }
            // the relays see these packets only by injection; their "source" is the connection itself
            srcRtp = remote;
            srcRtcp = remote;
        } else {
            srcRtp = new InetSocketAddress(remote.getAddress(), want.clientPort().first());
            srcRtcp = new InetSocketAddress(remote.getAddress(), want.clientPort().second());
        }
        RelayPair pair;
        try {
            pair = openPair(s.path, t, srcRtp, srcRtcp);
        } catch (IOException | RuntimeException e) {
            return error(RtspStatus.NOT_ENOUGH_BANDWIDTH, "no relay for track " + t.index + ": " + e.getMessage());
        }
        t.attach(pair);
        TransportSpec reply;
        if (want.tcp()) {
            reply = new TransportSpec("RTP/AVP", true, false, null, null, new TransportSpec.PortRange(rtpCh, rtcpCh),
                    true, null);
        } else {
            reply = new TransportSpec("RTP/AVP", false, false, want.clientPort(), new TransportSpec.PortRange(
                    pair.rtp().local().getPort(), pair.rtcp().local().getPort()), null, true, null);
        }
        session.setups.put(t.index, new RtspSession.Setup(t, want, null, null, rtpCh, rtcpCh));
        return RtspResponse.of(RtspStatus.OK).header("Transport", reply.format())
                .header("Session", session.id + ";timeout=" + server.sessionTimeoutSeconds());
    }

    private boolean channelInUse(int ch) {
        for (RtspSession s : sessions) {
            if (s.byChannel(ch) != null) {
                return true;
            }
        }
        return false;
    }

    /** Relays for a track, on the address the client reached us at (the kernel keys its fan-out group by it). */
    RelayPair openPair(StreamPath p, Track t, InetSocketAddress srcRtp, InetSocketAddress srcRtcp) throws IOException {
        return openPair(server, local.getAddress(), p, t, srcRtp, srcRtcp);
    }

    static RelayPair openPair(RtspServer server, InetAddress at, StreamPath p, Track t, InetSocketAddress srcRtp,
                              InetSocketAddress srcRtcp) throws IOException {
        String label = "rtsp/" + p.name + "/track" + t.index;
        return server.plane.openPair(at,
                RelayOptions.of(label + "/rtp").withExpectedSource(srcRtp).withOthers(RelayOptions.Others.DELIVER_LOCAL),
                RelayOptions.of(label + "/rtcp").withExpectedSource(srcRtcp).withOthers(RelayOptions.Others.DELIVER_LOCAL));
    }

    /** lock held */
    private RtspSession newSession(RtspSession.Kind kind, Stream s) {
        RtspSession session = new RtspSession(server.newSessionId(), kind, s, this);
        server.sessions.put(session.id, session);
        sessions.add(session);
        return session;
    }

    /** lock held */
    private RtspResponse setupViewer(RtspRequest req, Stream s, String rest, List<TransportSpec> offered,
                                     RtspSession session) {
        Track t = s.track(rest, req.uri());
        if (t == null) {
            return error(RtspStatus.NOT_FOUND, "no track " + rest + " in " + s.path.name);
        }
        if (t.relays() == null) {
            return error(RtspStatus.SERVICE_UNAVAILABLE, "track " + t.index + " of " + s.path.name
                    + " is not being received");
        }
        TransportSpec want = null;
        boolean askedRecord = false;
        for (TransportSpec o : offered) {
            askedRecord |= o.record();
            if (o.isRtpAvp() && !o.multicast() && !o.record() && (o.tcp() || o.clientPort() != null)) {
                want = o;
                break;
            }
        }
        if (want == null) {
            if (askedRecord) {
                return error(RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE, "mode=record needs an ANNOUNCE on this "
                        + "connection first");
            }
            return error(RtspStatus.UNSUPPORTED_TRANSPORT, "served transports: RTP/AVP over UDP (unicast, with "
                    + "client_port) and RTP/AVP/TCP (interleaved)");
        }
        if (session != null && session.stream != s) {
            return error(RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE, "session " + session.id
                    + " watched a stream that has ended");
        }
        if (session != null && session.setups.containsKey(t.index)) {
            return error(RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE, "track " + t.index + " is already set up");
        }
        int rtpCh = 0;
        int rtcpCh = 0;
        if (want.tcp()) {
            rtpCh = want.interleaved() != null ? want.interleaved().first() : 2 * t.index;
            rtcpCh = want.interleaved() != null ? want.interleaved().second() : 2 * t.index + 1;
            if (channelInUse(rtpCh) || channelInUse(rtcpCh)) {
                return error(RtspStatus.UNSUPPORTED_TRANSPORT, "interleaved channel " + rtpCh + "-" + rtcpCh
                        + " is in use on this connection");
            }
        }
        if (session == null) {
            if (server.sessions.size() >= server.settings.maxSessions()) {
                return error(RtspStatus.NOT_ENOUGH_BANDWIDTH, "rtsp.max-sessions (" + server.settings.maxSessions()
                        + ") reached");
            }
            session = newSession(RtspSession.Kind.VIEWER, s);
            s.path.viewers.add(session);
            server.cancelLinger(s.path);
        }
        TransportSpec reply;
        InetSocketAddress rtp = null;
        InetSocketAddress rtcp = null;
        if (want.tcp()) {
            reply = new TransportSpec("RTP/AVP", true, false, null, null, new TransportSpec.PortRange(rtpCh, rtcpCh),
                    false, null);
        } else {
            // media goes to the address the RTSP connection comes from, never to a destination= the client names
            rtp = new InetSocketAddress(remote.getAddress(), want.clientPort().first());
            rtcp = new InetSocketAddress(remote.getAddress(), want.clientPort().second());
            InetSocketAddress relay = t.rtp().local();
            reply = new TransportSpec("RTP/AVP", false, false, want.clientPort(), new TransportSpec.PortRange(
                    relay.getPort(), t.rtcp().local().getPort()), null, false, relay.getAddress().getHostAddress());
        }
        session.setups.put(t.index, new RtspSession.Setup(t, want, rtp, rtcp, rtpCh, rtcpCh));
        return RtspResponse.of(RtspStatus.OK).header("Transport", reply.format())
                .header("Session", session.id + ";timeout=" + server.sessionTimeoutSeconds());
    }

    /**
     * Under the server lock, {@code body} with the session the request names
     * (touched), or 454 when it names none of ours.
     */
    private RtspResponse withSession(RtspRequest req, java.util.function.Function<RtspSession, RtspResponse> body) {
        String sid = sessionId(req);
        if (sid == null) {
            return error(RtspStatus.SESSION_NOT_FOUND, "no Session header");
        }
        synchronized (server.lock) {
            RtspSession s = server.sessions.get(sid);
            if (s == null || s.connection != this) {
                return error(RtspStatus.SESSION_NOT_FOUND, "no session " + sid + " on this connection");
            }
            s.touch();
            return body.apply(s);
        }
    }

    private RtspResponse play(RtspRequest req) {
        return withSession(req, s -> {
            if (s.kind != RtspSession.Kind.VIEWER) {
                return error(RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE, "a publishing session cannot PLAY");
            }
            if (s.setups.isEmpty()) {
                return error(RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE, "SETUP a track first");
            }
            if (s.state != RtspSession.State.PLAYING) {
                for (RtspSession.Setup u : s.setups.values()) {
                    Track t = u.track();
                    if (u.transport().tcp()) {
                        Track.TcpViewer v = new Track.TcpViewer(t, s, channel, u.rtpChannel(), u.rtcpChannel());
                        s.tcpViewers.add(v);
                        t.addTcpViewer(v);
                    } else {
                        s.subscribers.add(t.rtp().subscribe(u.rtp()));
                        s.subscribers.add(t.rtcp().subscribe(u.rtcp()));
                        server.feedbackSources.put(u.rtp(), s);
                        server.feedbackSources.put(u.rtcp(), s);
                    }
                }
                s.state = RtspSession.State.PLAYING;
            }
            return RtspResponse.of(RtspStatus.OK).header("Session", s.id).header("Range", "npt=0.000-");
        });
    }

    private RtspResponse pause(RtspRequest req) {
        return withSession(req, s -> {
            if (s.kind != RtspSession.Kind.VIEWER) {
                return error(RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE, "a live publication cannot be paused");
            }
            if (s.state == RtspSession.State.PLAYING) {
                server.stopMedia(s);
                s.state = RtspSession.State.READY;
            }
            return RtspResponse.of(RtspStatus.OK).header("Session", s.id);
        });
    }

    private RtspResponse record(RtspRequest req) {
        return withSession(req, s -> {
            if (s.kind != RtspSession.Kind.PUBLISHER) {
                return error(RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                        "RECORD needs ANNOUNCE and SETUP with mode=record");
            }
            Stream st = s.stream;
            if (st.ended) {
                return error(RtspStatus.SESSION_NOT_FOUND, "the stream has ended");
            }
            if (!st.live) {
                st.live = true;
                s.state = RtspSession.State.RECORDING;
                st.path.publications.incrementAndGet();
                if (announced == st) {
                    announced = null; // from now on the session owns it
                }
                log.info("{}: publishing from {} ({} of {} track(s) set up)", st.path.name, remote, s.setups.size(),
                        st.tracks.size());
            }
            return RtspResponse.of(RtspStatus.OK).header("Session", s.id);
        });
    }

    private RtspResponse teardown(RtspRequest req) {
        String sid = sessionId(req);
        synchronized (server.lock) {
            if (sid == null) {
                // a publisher giving up between ANNOUNCE and SETUP
                if (announced != null) {
                    server.endStream(announced, "TEARDOWN");
                    return RtspResponse.of(RtspStatus.OK);
                }
                return error(RtspStatus.SESSION_NOT_FOUND, "no Session header");
            }
            RtspSession s = server.sessions.get(sid);
            if (s == null || s.connection != this) {
                return error(RtspStatus.SESSION_NOT_FOUND, "no session " + sid + " on this connection");
            }
            server.endSession(s, "TEARDOWN");
            return RtspResponse.of(RtspStatus.OK).header("Session", s.id);
        }
    }

    private RtspResponse parameter(RtspRequest req) {
        String sid = sessionId(req);
        RtspSession s = null;
        if (sid != null) {
            s = server.sessions.get(sid);
            if (s == null || s.connection != this) {
                return error(RtspStatus.SESSION_NOT_FOUND, "no session " + sid + " on this connection");
            }
            s.touch();
        }
        if (req.method().equals("SET_PARAMETER") && req.body().length > 0) {
            return error(RtspStatus.PARAMETER_NOT_UNDERSTOOD, "no parameters can be set");
        }
        RtspResponse r = RtspResponse.of(RtspStatus.OK);
        if (s != null) {
            r.header("Session", s.id);
        }
        return r;
    }

    // ---- interleaved media -------------------------------------------------------------------------------------

    private void onInterleaved(InterleavedFrame f) {
        RtspSession s = null;
        RtspSession.Setup u = null;
        for (RtspSession x : sessions) { // read without the lock: a stale view only drops a frame
            RtspSession.Setup y = x.byChannel(f.channel());
            if (y != null) {
                s = x;
                u = y;
                break;
            }
        }
        if (s == null || s.ended) {
            server.metrics.interleavedIgnored.increment();
            return;
        }
        boolean rtcp = f.channel() == u.rtcpChannel();
        if (s.kind == RtspSession.Kind.PUBLISHER) {
            if (!s.stream.live) {
                return;
            }
            RelayPair pair = u.track().relays();
            if (pair != null) {
                (rtcp ? pair.rtcp() : pair.rtp()).inject(f.data());
                server.metrics.interleavedIn.increment();
            }
        } else if (rtcp) {
            s.touch();
            if (RtcpPackets.isRtcp(f.data())) {
                RtcpPackets.Report r = RtcpPackets.firstReport(f.data());
                if (r != null) {
                    s.lastReport = r;
                }
                s.path().receiverReports.incrementAndGet();
            }
        }
    }
}
