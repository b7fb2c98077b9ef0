package io.msm.agent.rtsp;

import io.msm.agent.Version;
import io.msm.agent.config.RtspSettings;
import io.msm.agent.identity.PathAccess;
import io.msm.agent.limits.Refusals;
import io.msm.agent.routing.Backend;
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
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client's RTSP connection: parses its requests, asks the {@link PathRegistry} and replies, in
 * order; hands it the interleaved media and tells it when the connection closes. A request that
 * must wait (a pulled path whose upstream is still being set up) stops reading until it is
 * answered, so responses never overtake each other.
 */
final class RtspConnection extends SimpleChannelInboundHandler<RtspMessage> {
    private static final Logger log = LoggerFactory.getLogger(RtspConnection.class);
    static final String PUBLIC =
            "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER, "
                    + "ANNOUNCE, RECORD";

    static final String REASON_IDLE = "idle";

    private final PathRegistry paths;
    private final RtspMetrics metrics;
    private final RtspAccess access;
    private final Refusals refusals;

    /** over RTSPS */
    private final boolean secure;

    /** what this connection logged in as (Digest answers are checked once per request) */
    private final RtspAccess.Authenticated login = new RtspAccess.Authenticated();

    /** the server's open connections, which this one joins while active */
    private final Set<Channel> open;

    private Channel channel;
    private InetSocketAddress remote;

    /** this connection as the registry knows it */
    private Client client;

    private boolean waiting;
    private final ArrayDeque<RtspMessage> queued = new ArrayDeque<>();

    RtspConnection(
            PathRegistry paths,
            RtspMetrics metrics,
            Set<Channel> open,
            RtspAccess access,
            Refusals refusals,
            boolean secure) {
        super(false);
        this.paths = paths;
        this.metrics = metrics;
        this.open = open;
        this.access = access;
        this.refusals = refusals;
        this.secure = secure;
    }

    /**
     * rtsp.idle-timeout without a byte either way: a connection with no session, no announced
     * stream and no request waiting is closed (one with a session is watched by the session timeout
     * instead: players over UDP send nothing on it for long).
     */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            if (client != null
                    && client.sessions.isEmpty()
                    && client.announced == null
                    && !waiting) {
                refusals.refuse(
                        REASON_IDLE,
                        remote
                                + " held a connection without a session and sent nothing for "
                                + paths.settings().limits().idleTimeout().toMillis()
                                + " ms");
                ctx.close();
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    /**
     * Checks the permission a request needs on the path its URL names (401/403 when it lacks it).
     * Where a StreamPolicy covers the path, an in-cluster peer is decided by its workload identity
     * alone (admitted without a password, or 403 without a prompt); a peer outside the cluster
     * still needs the path's passwords and allow-lists.
     */
    private void authorize(RtspRequest req, boolean publish) throws Refused {
        String urlPath = RtspUrls.path(req.uri());
        PathRegistry.AccessClass a = paths.accessClass(RtspUrls.host(req.uri()), urlPath);
        PathAccess.Decision d =
                paths.identityCheck(
                        a.name(),
                        publish ? PathAccess.Action.PUBLISH : PathAccess.Action.WATCH,
                        remote.getAddress());
        if (d.verdict() == PathAccess.Verdict.ALLOWED) {
            return;
        }
        if (d.verdict() == PathAccess.Verdict.DENIED) {
            refusals.refuse(PathRegistry.REASON_IDENTITY, remote + ": " + d.why());
            throw new Refused(RtspStatus.FORBIDDEN, d.why());
        }
        RtspSettings.Permission p = access.permission(a.configured(), a.routed(), publish);
        access.check(
                p,
                publish ? "publish to" : "read",
                a.configured() != null ? a.configured() : String.valueOf(urlPath),
                remote.getAddress(),
                secure,
                req,
                login);
    }

    /** This connection as the registry knows it (a handover restores its sessions). */
    Client client() {
        return client;
    }

    /** A request waits for an upstream (such a connection is not handed over). */
    boolean waiting() {
        return waiting;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        remote = (InetSocketAddress) channel.remoteAddress();
        client = paths.connect(channel, this::closeSoon);
        open.add(channel);
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        open.remove(channel);
        if (client != null) {
            paths.disconnected(client);
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
    private void closeSoon() {
        Channel c = channel;
        if (c != null) {
            c.eventLoop()
                    .execute(
                            () ->
                                    c.writeAndFlush(Unpooled.EMPTY_BUFFER)
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
                paths.interleaved(client, f);
            } else if (msg instanceof RtspRequest r) {
                handle(r);
            } else if (msg instanceof MalformedMessage m) {
                metrics.badRequests.increment();
                log.debug("connection {}: {} {}", remote, m.status(), m.why());
                RtspResponse r = RtspResponse.of(m.status());
                if (m.cseq() != null) {
                    r.header("CSeq", m.cseq());
                }
                r.header("Server", "msm/" + Version.get());
                var f = channel.writeAndFlush(m.close() ? r.header("Connection", "close") : r);
                metrics.response("malformed", m.status());
                if (m.close()) {
                    f.addListener(ChannelFutureListener.CLOSE);
                }
            }
            // responses from clients (to requests we never send them) are ignored
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    // ---- requests
    // ----------------------------------------------------------------------------------------------

    /** A reply, or null when the request waits for the upstream and will be handled again. */
    private void handle(RtspRequest req) {
        RtspResponse r;
        String hop = req.headers().getOrNull(Backend.Via.HEADER);
        if (hop != null) {
            int semi = hop.indexOf(';');
            String host = (semi < 0 ? hop : hop.substring(0, semi)).trim();
            String from = semi < 0 ? "" : hop.substring(semi + 1).trim();
            client.fromPeer = true;
            client.peerHost = host.isEmpty() || host.equals("-") ? null : host;
            client.peerNode =
                    from.startsWith("from=")
                                    && from.substring(5).matches("[a-z0-9][-a-z0-9.]{0,62}")
                            ? from.substring(5)
                            : "unknown";
        }
        if (req.cseq() == null) {
            r = error(RtspStatus.BAD_REQUEST, "no CSeq header");
        } else {
            try {
                r =
                        switch (req.method()) {
                            case "OPTIONS" -> options(req);
                            case "DESCRIBE" -> describe(req);
                            case "ANNOUNCE" -> announce(req);
                            case "SETUP" -> setup(req);
                            case "PLAY" -> play(req);
                            case "PAUSE" -> pause(req);
                            case "RECORD" -> record(req);
                            case "TEARDOWN" -> teardown(req);
                            case "GET_PARAMETER", "SET_PARAMETER" -> parameter(req);
                            default ->
                                    error(
                                                    RtspStatus.NOT_IMPLEMENTED,
                                                    "method " + req.method() + " is not supported")
                                            .header("Public", PUBLIC);
                        };
            } catch (Refused e) {
                r = error(e.status, e.getMessage());
                for (String c : e.challenges) {
                    r.headers().add("WWW-Authenticate", c);
                }
            } catch (RuntimeException e) {
                log.warn("{} {} from {}: {}", req.method(), req.uri(), remote, e.toString(), e);
                r =
                        error(
                                RtspStatus.INTERNAL_SERVER_ERROR,
                                e.getClass().getSimpleName() + ": " + e.getMessage());
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
        metrics.response(req.method(), r.status());
        if (r.status() >= 400) {
            log.debug(
                    "{} {} from {}: {} {}",
                    req.method(),
                    req.uri(),
                    remote,
                    r.status(),
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
     * Wait for a pulled path's upstream, then handle the request again: reading stops meanwhile, so
     * later requests stay behind it.
     */
    private RtspResponse awaitUpstream(RtspRequest req, PathRegistry.UpstreamWait u) {
        waiting = true;
        channel.config().setAutoRead(false);
        u.ready()
                .orTimeout(u.timeout().toMillis(), TimeUnit.MILLISECONDS)
                .whenComplete(
                        (s, e) ->
                                channel.eventLoop()
                                        .execute(
                                                () -> {
                                                    waiting = false;
                                                    if (e != null) {
                                                        String why =
                                                                e instanceof CompletionException
                                                                                && e.getCause()
                                                                                        != null
                                                                        ? e.getCause().getMessage()
                                                                        : e.getMessage();
                                                        boolean timeout =
                                                                e instanceof TimeoutException
                                                                        || e.getCause()
                                                                                instanceof
                                                                                TimeoutException;
                                                        reply(
                                                                req,
                                                                error(
                                                                        timeout
                                                                                ? RtspStatus
                                                                                        .GATEWAY_TIMEOUT
                                                                                : RtspStatus
                                                                                        .BAD_GATEWAY,
                                                                        "upstream "
                                                                                + u.upstream()
                                                                                + ": "
                                                                                + why));
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
            paths.keepAlive(sid);
        }
        return RtspResponse.of(RtspStatus.OK).header("Public", PUBLIC);
    }

    private RtspResponse describe(RtspRequest req) throws Refused {
        String accept = req.headers().getOrNull("Accept");
        if (accept != null
                && !accept.toLowerCase(Locale.ROOT).contains("application/sdp")
                && !accept.contains("*/*")) {
            return error(
                    RtspStatus.UNSUPPORTED_MEDIA_TYPE,
                    "only application/sdp descriptions are served");
        }
        authorize(req, false);
        PathRegistry.Description d =
                paths.describe(client, RtspUrls.host(req.uri()), RtspUrls.path(req.uri()));
        if (d.upstream() != null) {
            return awaitUpstream(req, d.upstream());
        }
        return RtspResponse.of(RtspStatus.OK)
                .header("Content-Base", RtspUrls.base(req.uri()))
                .withBody("application/sdp", d.sdp());
    }

    private RtspResponse announce(RtspRequest req) throws Refused {
        String type = req.headers().getOrNull("Content-Type");
        if (type != null && !type.toLowerCase(Locale.ROOT).startsWith("application/sdp")) {
            return error(
                    RtspStatus.UNSUPPORTED_MEDIA_TYPE,
                    "ANNOUNCE takes application/sdp, got " + type);
        }
        String name = RtspUrls.path(req.uri());
        if (!RtspUrls.validPathName(name)) {
            return error(
                    RtspStatus.BAD_REQUEST,
                    "a path is letters, digits, . _ ~ - and / (at most "
                            + RtspUrls.MAX_PATH
                            + "), got '"
                            + (name == null ? req.uri() : name)
                            + "'");
        }
        authorize(req, true);
        SessionDescription sdp;
        try {
            sdp = SessionDescription.parse(req.bodyText());
        } catch (SdpException e) {
            return error(RtspStatus.BAD_REQUEST, "session description: " + e.getMessage());
        }
        for (MediaDescription m : sdp.media()) {
            if (!m.isRtpAvp()) {
                return error(
                        RtspStatus.UNSUPPORTED_MEDIA_TYPE,
                        "media "
                                + m.media()
                                + " uses "
                                + m.protocol()
                                + "; only RTP/AVP can be published");
            }
        }
        paths.announce(client, name, sdp);
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

    private RtspResponse setup(RtspRequest req) throws Refused {
        List<TransportSpec> offered;
        try {
            offered = TransportSpec.parseAll(req.headers().getOrNull("Transport"));
        } catch (IllegalArgumentException e) {
            return error(RtspStatus.BAD_REQUEST, "Transport: " + e.getMessage());
        }
        authorize(req, paths.publishing(client, RtspUrls.path(req.uri())));
        PathRegistry.SetUp r = paths.setup(client, req.uri(), sessionId(req), offered);
        if (secure && r.transport() != null && !r.transport().tcp()) {
            log.debug(
                    "{}: RTSPS session {} takes RTP over UDP: its media is not encrypted (no SRTP)",
                    remote,
                    r.session().id);
        }
        if (r.upstream() != null) {
            return awaitUpstream(req, r.upstream());
        }
        return RtspResponse.of(RtspStatus.OK)
                .header("Transport", r.transport().format())
                .header("Session", r.session().id + ";timeout=" + paths.sessionTimeoutSeconds());
    }

    private RtspResponse play(RtspRequest req) throws Refused {
        RtspSession s = paths.play(client, sessionId(req));
        return RtspResponse.of(RtspStatus.OK).header("Session", s.id).header("Range", "npt=0.000-");
    }

    private RtspResponse pause(RtspRequest req) throws Refused {
        return RtspResponse.of(RtspStatus.OK)
                .header("Session", paths.pause(client, sessionId(req)).id);
    }

    private RtspResponse record(RtspRequest req) throws Refused {
        return RtspResponse.of(RtspStatus.OK)
                .header("Session", paths.record(client, sessionId(req)).id);
    }

    private RtspResponse teardown(RtspRequest req) throws Refused {
        RtspSession s = paths.teardown(client, sessionId(req));
        // none: a publisher gave up between ANNOUNCE and SETUP
        return s == null
                ? RtspResponse.of(RtspStatus.OK)
                : RtspResponse.of(RtspStatus.OK).header("Session", s.id);
    }

    private RtspResponse parameter(RtspRequest req) throws Refused {
        String sid = sessionId(req);
        RtspSession s = sid == null ? null : paths.session(client, sid);
        if (req.method().equals("SET_PARAMETER") && req.body().length > 0) {
            return error(RtspStatus.PARAMETER_NOT_UNDERSTOOD, "no parameters can be set");
        }
        RtspResponse r = RtspResponse.of(RtspStatus.OK);
        if (s != null) {
            r.header("Session", s.id);
        }
        return r;
    }
}
