package io.msm.agent.rtsp;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.msm.agent.config.RtspSettings;
import io.msm.agent.limits.Refusals;
import io.msm.agent.limits.SourceKey;
import io.msm.agent.limits.SourceLimiter;
import io.msm.agent.media.MediaPlane;
import io.msm.agent.media.RelayPair;
import io.msm.agent.routing.Backend;
import io.msm.agent.routing.Failure;
import io.msm.agent.routing.StreamRoutes;
import io.msm.agent.rtsp.sdp.SessionDescription;
import io.msm.agent.rtsp.wire.InterleavedFrame;
import io.msm.agent.rtsp.wire.RtspStatus;
import io.msm.agent.rtsp.wire.TransportSpec;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The paths of the RTSP proxy and what lives on them: their streams, the sessions of viewers and
 * publishers, the viewers' feedback sources, the upstream session of a pulled path and its linger,
 * and session expiry. Connections ask it — describe, announce, set up, play, pause, record, tear
 * down — and reply with what it answers or {@link Refused refuses}; it never reaches into a
 * connection (a {@link Client} is its own record of one, and is told when a stream it watched
 * ended).
 *
 * <p>State changes under {@link #lock}; media never takes it.
 */
final class PathRegistry {
    private static final Logger log = LoggerFactory.getLogger(PathRegistry.class);

    final Object lock = new Object();
    private final RtspSettings settings;
    private final MediaPlane plane;
    private final RtspMetrics metrics;

    @GuardedBy("lock")
    private final Map<String, StreamPath> paths = new LinkedHashMap<>();

    /** sessions and viewers' feedback sources: changed under the lock */
    private final SessionTable sessions = new SessionTable();

    /** sessions per source (rtsp.max-sessions-per-source) */
    private final SourceLimiter sessionsPerSource;

    /** limits' refusals, counted by reason (set by the server before start) */
    private volatile Refusals refusals;

    static final String REASON_SESSIONS = "sessions";
    static final String REASON_SESSIONS_PER_CONNECTION = "sessions_per_connection";
    static final String REASON_SESSIONS_PER_SOURCE = "sessions_per_source";
    static final String REASON_PATHS = "paths";
    static final String REASON_PATHS_PER_SOURCE = "paths_per_source";
    static final String REASON_ANNOUNCE_TIMEOUT = "announce_timeout";

    /** StreamRoutes (Kubernetes) for paths the config does not name; read at each lookup. */
    private volatile Supplier<StreamRoutes> routes = () -> StreamRoutes.NONE;

    private volatile EventLoopGroup workers;
    private volatile ScheduledExecutorService timers;

    PathRegistry(RtspSettings settings, MediaPlane plane, RtspMetrics metrics) {
        this.settings = settings;
        this.plane = plane;
        this.metrics = metrics;
        this.sessionsPerSource =
                new SourceLimiter(
                        Math.min(settings.limits().maxSessionsPerSource(), settings.maxSessions()),
                        settings.maxSessions());
    }

    void refusals(Refusals r) {
        this.refusals = r;
    }

    private void count(String reason, String detail) {
        Refusals r = refusals;
        if (r != null) {
            r.refuse(reason, detail);
        }
    }

    /** Refused (453) when the connection or its source holds its share of sessions already. */
    @GuardedBy("lock")
    private RtspSession openSession(Client c, RtspSession.Kind kind, Stream s) throws Refused {
        try {
            sessions.checkRoom(settings.maxSessions());
        } catch (Refused e) {
            count(REASON_SESSIONS, c.remote + ": " + e.getMessage());
            throw e;
        }
        int perConn = settings.limits().maxSessionsPerConnection();
        if (c.sessions.size() >= perConn) {
            String why = "rtsp.max-sessions-per-connection (" + perConn + ") reached";
            count(REASON_SESSIONS_PER_CONNECTION, c.remote + ": " + why);
            throw new Refused(RtspStatus.NOT_ENOUGH_BANDWIDTH, why);
        }
        SourceKey source = SourceKey.of(c.remote);
        SourceLimiter.Admission a = sessionsPerSource.acquire(source);
        if (!a.admitted()) {
            String why =
                    "rtsp.max-sessions-per-source ("
                            + sessionsPerSource.perSourceLimit()
                            + ") reached for "
                            + source;
            count(REASON_SESSIONS_PER_SOURCE, why);
            throw new Refused(RtspStatus.NOT_ENOUGH_BANDWIDTH, why);
        }
        RtspSession session = sessions.open(c, kind, s);
        session.sourceLease = a.lease();
        return session;
    }

    /** Whether a SETUP of {@code urlPath} is {@code c}'s publishing (it announced that path). */
    boolean publishing(Client c, String urlPath) {
        synchronized (lock) {
            Stream a = c.announced;
            if (a == null || a.ended || urlPath == null) {
                return false;
            }
            String n = a.path.name;
            return urlPath.equals(n) || urlPath.startsWith(n + "/");
        }
    }

    /** Which permissions apply to a URL path: its configured name, or routed, or the defaults. */
    record AccessClass(String configured, boolean routed) {}

    AccessClass accessClass(String host, String urlPath) {
        synchronized (lock) {
            Resolved r = resolve(urlPath);
            if (r != null) {
                StreamPath p = r.path();
                if (p.routed != null) {
                    return new AccessClass(null, true);
                }
                return new AccessClass(p.dynamic() ? null : p.name, false);
            }
        }
        if (urlPath != null && !urlPath.isEmpty()) {
            StreamRoutes table = routes.get();
            int slash = urlPath.lastIndexOf('/');
            if (table.choose(host, "/" + urlPath).isPresent()
                    || (slash > 0
                            && table.choose(host, "/" + urlPath.substring(0, slash)).isPresent())) {
                return new AccessClass(null, true);
            }
        }
        return new AccessClass(null, false);
    }

    void routes(Supplier<StreamRoutes> r) {
        this.routes = r;
    }

    /**
     * The configured paths; upstream sessions connect on {@code workers}, linger and time out on
     * {@code timers}.
     */
    void start(EventLoopGroup workers, ScheduledExecutorService timers) {
        this.workers = workers;
        this.timers = timers;
        synchronized (lock) {
            for (RtspSettings.PathSource p : settings.paths().values()) {
                addPath(new StreamPath(p.name(), p));
            }
        }
    }

    RtspSettings settings() {
        return settings;
    }

    MediaPlane plane() {
        return plane;
    }

    EventLoopGroup workers() {
        return workers;
    }

    ScheduledExecutorService timers() {
        return timers;
    }

    // ---- paths
    // -------------------------------------------------------------------------------------------------

    @GuardedBy("lock")
    private void addPath(StreamPath p) {
        paths.put(p.name, p);
        metrics.pathAdded(p);
    }

    /**
     * A path a publisher created goes away with its last stream and viewer; a routed path with its
     * upstream session (the next viewer has the route choose a backend again).
     */
    @GuardedBy("lock")
    private void dropIfIdle(StreamPath p) {
        boolean idle =
                p.dynamic()
                        ? p.stream == null && p.viewers.isEmpty()
                        : p.routed != null && p.upstream == null && p.viewers.isEmpty();
        if (idle && paths.get(p.name) == p) {
            paths.remove(p.name);
            metrics.pathRemoved(p);
        }
    }

    @GuardedBy("lock")
    private long dynamicPaths() {
        return paths.values().stream().filter(StreamPath::dynamic).count();
    }

    /** A path and the rest of the URL path below it (null when the URL names the path itself). */
    private record Resolved(StreamPath path, String rest) {}

    /**
     * Like {@link #resolve(String)}, and when no path is known, the StreamRoute matching host and
     * path (or its parent, for a track URL) picks a backend: a routed path is created that pulls
     * from it, shared by the viewers that come while its upstream session lives. Weights thus split
     * upstream sessions (per node), not viewers of one session.
     */
    @GuardedBy("lock")
    private Resolved resolve(String host, String urlPath) {
        Resolved r = resolve(urlPath);
        if (r != null || urlPath == null || urlPath.isEmpty()) {
            return r;
        }
        StreamRoutes table = routes.get();
        int slash = urlPath.lastIndexOf('/');
        String[] candidates =
                slash > 0
                        ? new String[] {urlPath, urlPath.substring(0, slash)}
                        : new String[] {urlPath};
        for (String name : candidates) {
            Optional<Backend> b = table.choose(host, "/" + name);
            if (b.isPresent()) {
                StreamPath p =
                        new StreamPath(
                                name,
                                new RtspSettings.PathSource(
                                        name,
                                        RtspSettings.PathSource.Kind.PULL,
                                        b.get().upstream()),
                                b.get());
                addPath(p);
                log.info(
                        "{}: routed by StreamRoute {} to {} ({})",
                        name,
                        b.get().route(),
                        b.get().name(),
                        UpstreamCredentials.withoutUserInfo(b.get().upstream()));
                return new Resolved(p, name.equals(urlPath) ? null : urlPath.substring(slash + 1));
            }
        }
        return null;
    }

    @GuardedBy("lock")
    private Resolved resolve(String urlPath) {
        if (urlPath == null) {
            return null;
        }
        StreamPath p = paths.get(urlPath);
        if (p != null) {
            return new Resolved(p, null);
        }
        int slash = urlPath.lastIndexOf('/');
        if (slash > 0) {
            p = paths.get(urlPath.substring(0, slash));
            if (p != null) {
                return new Resolved(p, urlPath.substring(slash + 1));
            }
        }
        return null;
    }

    // ---- what connections ask
    // ----------------------------------------------------------------------------------

    /** A client connected. */
    Client connect(Channel channel, Runnable onStreamEnded) {
        return new Client(channel, onStreamEnded);
    }

    /** Its connection closed: its sessions end, and the stream it announced and did not record. */
    void disconnected(Client c) {
        synchronized (lock) {
            for (RtspSession s : new ArrayList<>(c.sessions)) {
                endSession(s, "connection closed");
            }
            Stream a = c.announced;
            if (a != null && !a.ended) {
                endStream(a, "publisher connection closed");
            }
        }
    }

    /**
     * The path's upstream is being set up: ask again once {@code ready} completes, at most {@code
     * timeout} (the upstream's own timeout fails it first).
     */
    record UpstreamWait(CompletableFuture<Stream> ready, String upstream, Duration timeout) {}

    private UpstreamWait waitFor(Upstream u) {
        return new UpstreamWait(
                u.ready(),
                UpstreamCredentials.withoutUserInfo(u.path.config.upstream()),
                settings.upstreamTimeout().plusSeconds(1));
    }

    /** A DESCRIBE's answer: the served description, or the upstream to wait for. */
    record Description(String sdp, UpstreamWait upstream) {}

    Description describe(Client c, String host, String urlPath) throws Refused {
        synchronized (lock) {
            Resolved res = resolve(host, urlPath);
            if (res == null || res.rest() != null) {
                throw new Refused(RtspStatus.NOT_FOUND, "no path " + urlPath);
            }
            StreamPath p = res.path();
            Stream s = p.liveStream();
            if (s == null) {
                if (p.pulled()) {
                    Upstream u = upstream(p);
                    if (u.stream() == null || !u.stream().live) {
                        return new Description(null, waitFor(u));
                    }
                    s = u.stream();
                } else {
                    throw new Refused(RtspStatus.NOT_FOUND, "nothing is published at " + p.name);
                }
            }
            String sdp = s.sdp.served(c.serverAddress(), s.sdpId, p.name);
            if (p.pulled()) {
                lingerIfIdle(
                        p); // a DESCRIBE without SETUP keeps the upstream only for the linger time
            }
            return new Description(sdp, null);
        }
    }

    /** A publisher's ANNOUNCE of {@code name} (a valid path name) with its description. */
    void announce(Client c, String name, SessionDescription sdp) throws Refused {
        synchronized (lock) {
            StreamPath p = paths.get(name);
            if (p != null && p.pulled()) {
                throw new Refused(
                        RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                        "path " + name + " is pulled from its upstream; it cannot be published to");
            }
            if (p == null) {
                if (!settings.publishByDefault()) {
                    throw new Refused(
                            RtspStatus.NOT_FOUND,
                            "path "
                                    + name
                                    + " is not configured (rtsp.paths) and "
                                    + "rtsp.publish-by-default is off");
                }
                if (dynamicPaths() >= settings.maxPaths()) {
                    count(REASON_PATHS, c.remote + ": rtsp.max-paths reached");
                    throw new Refused(
                            RtspStatus.NOT_ENOUGH_BANDWIDTH,
                            "rtsp.max-paths ("
                                    + settings.maxPaths()
                                    + ") paths are published already");
                }
                SourceKey source = SourceKey.of(c.remote);
                int perSource = settings.limits().maxPathsPerSource();
                long mine =
                        paths.values().stream()
                                .filter(x -> x.dynamic() && source.equals(x.creator))
                                .count();
                if (mine >= perSource) {
                    String why =
                            "rtsp.max-paths-per-source ("
                                    + perSource
                                    + ") paths are published from "
                                    + source
                                    + " already";
                    count(REASON_PATHS_PER_SOURCE, why);
                    throw new Refused(RtspStatus.NOT_ENOUGH_BANDWIDTH, why);
                }
                p = new StreamPath(name, null);
                p.creator = source;
                addPath(p);
            }
            if (p.stream != null && !p.stream.ended) {
                if (p.stream.announcer != c || p.stream.live) {
                    throw new Refused(
                            RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                            "path " + name + " already has a publisher");
                }
                endStream(p.stream, "announced again");
            }
            if (c.announced != null && !c.announced.ended) {
                endStream(c.announced, "the publisher announced another path");
            }
            Stream s = new Stream(p, Stream.Origin.PUBLISHER, sdp, this::onFeedback);
            s.announcer = c;
            p.stream = s;
            c.announced = s;
            long deadline = settings.limits().announceTimeout().toMillis();
            timers.schedule(
                    () -> {
                        synchronized (lock) {
                            if (!s.live && !s.ended) {
                                String why =
                                        "no RECORD within "
                                                + deadline
                                                + " ms of ANNOUNCE (rtsp.announce-timeout)";
                                count(
                                        REASON_ANNOUNCE_TIMEOUT,
                                        s.path.name + " from " + c.remote + ": " + why);
                                endStream(s, why);
                            }
                        }
                    },
                    deadline,
                    TimeUnit.MILLISECONDS);
            if (paths.get(name) != p) {
                addPath(p); // endStream above may have dropped a publisher-created path
            }
        }
    }

    /** A SETUP's answer: the session and the Transport to reply, or the upstream to wait for. */
    record SetUp(RtspSession session, TransportSpec transport, UpstreamWait upstream) {}

    /**
     * SETUP of the track {@code uri} names, on the session {@code sid} (null: a new one), with the
     * transports the client offered.
     */
    SetUp setup(Client c, String uri, String sid, List<TransportSpec> offered) throws Refused {
        synchronized (lock) {
            String urlPath = RtspUrls.path(uri);
            Resolved res = resolve(RtspUrls.host(uri), urlPath);
            if (res == null) {
                throw new Refused(RtspStatus.NOT_FOUND, "no path " + urlPath);
            }
            StreamPath p = res.path();
            RtspSession session = null;
            if (sid != null) {
                session = sessions.of(c, sid);
                if (session.path() != p) {
                    throw new Refused(
                            RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                            "session " + sid + " belongs to path " + session.path().name);
                }
                session.touch();
            }
            Stream a = c.announced;
            if (a != null && a.path == p && !a.ended && !a.live) {
                return setupPublisher(c, uri, a, res.rest(), offered, session);
            }
            if (session != null && session.kind == RtspSession.Kind.PUBLISHER) {
                throw new Refused(
                        RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                        "tracks cannot be added after RECORD");
            }
            Stream s = p.liveStream();
            if (s == null) {
                if (p.pulled()) {
                    return new SetUp(null, null, waitFor(upstream(p)));
                }
                throw new Refused(RtspStatus.NOT_FOUND, "nothing is published at " + p.name);
            }
            return setupViewer(c, uri, s, res.rest(), offered, session);
        }
    }

    @GuardedBy("lock")
    private SetUp setupPublisher(
            Client c,
            String uri,
            Stream s,
            String rest,
            List<TransportSpec> offered,
            RtspSession session)
            throws Refused {
        Track t = s.track(rest, uri);
        if (t == null) {
            throw new Refused(
                    RtspStatus.NOT_FOUND, "no track " + rest + " in the announced description");
        }
        TransportSpec want = Transports.forPublisher(offered);
        if (t.relays() != null) {
            throw new Refused(
                    RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                    "track " + t.index + " is already set up");
        }
        if (session == null) {
            if (s.publisher != null) {
                session = s.publisher;
            } else {
                session = openSession(c, RtspSession.Kind.PUBLISHER, s);
                s.publisher = session;
            }
        }
        TransportSpec.PortRange ch = Transports.channels(want, t, c);
        InetSocketAddress srcRtp;
        InetSocketAddress srcRtcp;
        if (want.tcp()) {
            // the relays see these packets only by injection; their "source" is the connection
            // itself
            srcRtp = c.remote;
            srcRtcp = c.remote;
        } else {
            srcRtp = new InetSocketAddress(c.remote.getAddress(), want.clientPort().first());
            srcRtcp = new InetSocketAddress(c.remote.getAddress(), want.clientPort().second());
        }
        RelayPair pair;
        try {
            // on the address the client reached us at: the kernel keys its fan-out group by it
            pair = t.openRelays(plane, c.local.getAddress(), srcRtp, srcRtcp);
        } catch (IOException | RuntimeException e) {
            throw new Refused(
                    RtspStatus.NOT_ENOUGH_BANDWIDTH,
                    "no relay for track " + t.index + ": " + e.getMessage());
        }
        t.attach(pair);
        session.setups.put(
                t.index, new RtspSession.Setup(t, want, null, null, ch.first(), ch.second()));
        return new SetUp(session, Transports.publisherReply(want, ch, pair), null);
    }

    @GuardedBy("lock")
    private SetUp setupViewer(
            Client c,
            String uri,
            Stream s,
            String rest,
            List<TransportSpec> offered,
            RtspSession session)
            throws Refused {
        Track t = s.track(rest, uri);
        if (t == null) {
            throw new Refused(RtspStatus.NOT_FOUND, "no track " + rest + " in " + s.path.name);
        }
        if (t.relays() == null) {
            throw new Refused(
                    RtspStatus.SERVICE_UNAVAILABLE,
                    "track " + t.index + " of " + s.path.name + " is not being received");
        }
        TransportSpec want = Transports.forViewer(offered);
        if (session != null && session.stream != s) {
            throw new Refused(
                    RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                    "session " + session.id + " watched a stream that has ended");
        }
        if (session != null && session.setups.containsKey(t.index)) {
            throw new Refused(
                    RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                    "track " + t.index + " is already set up");
        }
        TransportSpec.PortRange ch = Transports.channels(want, t, c);
        if (session == null) {
            session = openSession(c, RtspSession.Kind.VIEWER, s);
            s.path.viewers.add(session);
            s.path.cancelLinger();
        }
        InetSocketAddress rtp = null;
        InetSocketAddress rtcp = null;
        if (!want.tcp()) {
            // media goes to the address the RTSP connection comes from, never to a destination= the
            // client names
            rtp = new InetSocketAddress(c.remote.getAddress(), want.clientPort().first());
            rtcp = new InetSocketAddress(c.remote.getAddress(), want.clientPort().second());
        }
        session.setups.put(
                t.index, new RtspSession.Setup(t, want, rtp, rtcp, ch.first(), ch.second()));
        return new SetUp(session, Transports.viewerReply(want, ch, t), null);
    }

    /**
     * The session {@code sid} names, touched, when it is one of {@code c}'s (a session's connection
     * never changes).
     */
    private RtspSession owned(Client c, String sid) throws Refused {
        if (sid == null) {
            throw new Refused(RtspStatus.SESSION_NOT_FOUND, "no Session header");
        }
        RtspSession s = sessions.of(c, sid);
        s.touch();
        return s;
    }

    /** OPTIONS naming a session keeps it alive, whoever sends it. */
    void keepAlive(String sid) {
        RtspSession s = sessions.get(sid);
        if (s != null) {
            s.touch();
        }
    }

    /** GET_PARAMETER/SET_PARAMETER on a session: one of {@code c}'s, kept alive. */
    RtspSession session(Client c, String sid) throws Refused {
        return owned(c, sid);
    }

    RtspSession play(Client c, String sid) throws Refused {
        synchronized (lock) {
            RtspSession s = owned(c, sid);
            if (s.kind != RtspSession.Kind.VIEWER) {
                throw new Refused(
                        RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                        "a publishing session cannot PLAY");
            }
            if (s.setups.isEmpty()) {
                throw new Refused(RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE, "SETUP a track first");
            }
            if (s.state != RtspSession.State.PLAYING) {
                for (RtspSession.Setup u : s.setups.values()) {
                    Track t = u.track();
                    if (u.transport().tcp()) {
                        Track.TcpViewer v =
                                new Track.TcpViewer(
                                        t, s, c.channel, u.rtpChannel(), u.rtcpChannel());
                        s.tcpViewers.add(v);
                        t.addTcpViewer(v);
                    } else {
                        s.subscribers.add(t.rtp().subscribe(u.rtp()));
                        s.subscribers.add(t.rtcp().subscribe(u.rtcp()));
                        sessions.feedbackFrom(s, u.rtp(), u.rtcp());
                    }
                }
                s.state = RtspSession.State.PLAYING;
            }
            return s;
        }
    }

    RtspSession pause(Client c, String sid) throws Refused {
        synchronized (lock) {
            RtspSession s = owned(c, sid);
            if (s.kind != RtspSession.Kind.VIEWER) {
                throw new Refused(
                        RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                        "a live publication cannot be paused");
            }
            if (s.state == RtspSession.State.PLAYING) {
                s.stopMedia();
                s.state = RtspSession.State.READY;
            }
            return s;
        }
    }

    RtspSession record(Client c, String sid) throws Refused {
        synchronized (lock) {
            RtspSession s = owned(c, sid);
            if (s.kind != RtspSession.Kind.PUBLISHER) {
                throw new Refused(
                        RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                        "RECORD needs ANNOUNCE and SETUP with mode=record");
            }
            Stream st = s.stream;
            if (st.ended) {
                throw new Refused(RtspStatus.SESSION_NOT_FOUND, "the stream has ended");
            }
            if (!st.live) {
                st.live = true;
                s.state = RtspSession.State.RECORDING;
                st.path.publications.incrementAndGet();
                if (c.announced == st) {
                    c.announced = null; // from now on the session owns it
                }
                log.info(
                        "{}: publishing from {} ({} of {} track(s) set up)",
                        st.path.name,
                        c.remote,
                        s.setups.size(),
                        st.tracks.size());
            }
            return s;
        }
    }

    /**
     * TEARDOWN: the session ended, or null when it was a publisher giving up between ANNOUNCE and
     * SETUP.
     */
    RtspSession teardown(Client c, String sid) throws Refused {
        synchronized (lock) {
            if (sid == null) {
                if (c.announced != null) {
                    endStream(c.announced, "TEARDOWN");
                    return null;
                }
                throw new Refused(RtspStatus.SESSION_NOT_FOUND, "no Session header");
            }
            RtspSession s = sessions.of(c, sid);
            endSession(s, "TEARDOWN");
            return s;
        }
    }

    /**
     * RTP or RTCP a client interleaved on its RTSP connection: a publisher's media, or a viewer's
     * reports.
     */
    void interleaved(Client c, InterleavedFrame f) {
        RtspSession s = null;
        RtspSession.Setup u = null;
        for (RtspSession x : c.sessions) { // read without the lock: a stale view only drops a frame
            RtspSession.Setup y = x.byChannel(f.channel());
            if (y != null) {
                s = x;
                u = y;
                break;
            }
        }
        if (s == null || s.ended) {
            metrics.interleavedIgnored.increment();
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
                metrics.interleavedIn.increment();
            }
        } else if (rtcp) {
            s.feedback(f.data(), true);
        }
    }

    // ---- sessions
    // ----------------------------------------------------------------------------------------------

    int sessionTimeoutSeconds() {
        return (int) Math.max(1, settings.sessionTimeout().toSeconds());
    }

    /**
     * End a session — unsubscribe its viewers' ports, release a publisher's stream (ending every
     * viewer of it), start the upstream linger when a pulled path's last viewer left.
     */
    @GuardedBy("lock")
    private void endSession(RtspSession s, String why) {
        if (s.ended) {
            return;
        }
        s.ended = true;
        sessions.remove(s);
        if (s.sourceLease != null) {
            s.sourceLease.close();
        }
        s.stopMedia();
        log.debug(
                "session {} ({} of {}) ended: {}",
                s.id,
                s.kind.name().toLowerCase(Locale.ROOT),
                s.path().name,
                why);
        StreamPath p = s.path();
        if (s.kind == RtspSession.Kind.PUBLISHER) {
            endStream(s.stream, "its publisher left (" + why + ")");
        } else {
            p.viewers.remove(s);
            lingerIfIdle(p);
            dropIfIdle(p);
        }
    }

    /**
     * A stream ends (publisher gone, upstream lost or closed): its viewers' sessions end and their
     * connections are told, so they close and players see the end of the stream at once rather than
     * a silent timeout.
     */
    @GuardedBy("lock")
    private void endStream(Stream st, String why) {
        if (st.ended) {
            return;
        }
        st.ended = true;
        StreamPath p = st.path;
        if (p.stream == st) {
            p.stream = null;
        }
        if (st.announcer != null && st.announcer.announced == st) {
            st.announcer.announced = null;
        }
        if (st.publisher != null && !st.publisher.ended) {
            endSession(st.publisher, why);
        }
        List<RtspSession> viewers = new ArrayList<>();
        for (RtspSession v : p.viewers) {
            if (v.stream == st) {
                viewers.add(v);
            }
        }
        for (RtspSession v : viewers) {
            endSession(v, "stream ended: " + why);
            v.connection.streamEnded();
        }
        st.closeTracks();
        if (!viewers.isEmpty() || st.live) {
            log.info(
                    "{}: stream ended ({}); {} viewer session(s) closed",
                    p.name,
                    why,
                    viewers.size());
        }
        dropIfIdle(p);
    }

    /**
     * Every so often: sessions without a request, receiver report or media for rtsp.session-timeout
     * end.
     */
    void expireSessions() {
        try {
            long now = System.nanoTime();
            long limit = settings.sessionTimeout().toNanos();
            synchronized (lock) {
                for (RtspSession s : sessions.all()) {
                    if (s.kind == RtspSession.Kind.PUBLISHER) {
                        // a publisher keeps its session alive by sending media (many send no RTSP
                        // keep-alive)
                        long n = s.stream.upstreamPackets();
                        if (n != s.lastUpstreamPackets) {
                            s.lastUpstreamPackets = n;
                            s.touch();
                        }
                    }
                    if (now - s.lastSeen > limit) {
                        log.info(
                                "session {} ({} of {}) timed out: no request, receiver report or media for {} s",
                                s.id,
                                s.kind.name().toLowerCase(Locale.ROOT),
                                s.path().name,
                                limit / 1_000_000_000L);
                        metrics.timeouts.increment();
                        endSession(s, "timeout");
                    }
                }
            }
        } catch (RuntimeException e) {
            log.warn("session expiry: {}", e.toString());
        }
    }

    /** A viewer's RTCP (receiver report) or NAT probe reached a relay: it is alive. */
    void onFeedback(InetSocketAddress from, ByteBuf data, boolean rtcp) {
        sessions.onFeedback(from, data, rtcp);
    }

    // ---- pulled paths
    // ------------------------------------------------------------------------------------------

    /** The upstream of a pulled path, started if needed. */
    @GuardedBy("lock")
    private Upstream upstream(StreamPath p) {
        Upstream u = p.upstream;
        if (u == null) {
            u = new Upstream(this, p);
            p.upstream = u;
            p.upstreamSessions.incrementAndGet();
            // start() may fail at once (a refused connect completes on this thread, which holds the
            // lock): p.upstream is then null again, and the caller learns it from u.ready()
            u.start();
        }
        p.cancelLinger();
        return u;
    }

    /** A pulled path without viewers closes its upstream after rtsp.upstream-linger. */
    @GuardedBy("lock")
    void lingerIfIdle(StreamPath p) {
        if (!p.pulled() || p.upstream == null || !p.viewers.isEmpty() || p.linger != null) {
            return;
        }
        Upstream u = p.upstream;
        p.linger =
                timers.schedule(
                        () -> {
                            synchronized (lock) {
                                p.linger = null;
                                if (p.upstream == u && p.viewers.isEmpty()) {
                                    log.info(
                                            "{}: no viewers for {} ms; closing the upstream session",
                                            p.name,
                                            settings.upstreamLinger().toMillis());
                                    closeUpstream(p, "no viewers");
                                }
                            }
                        },
                        settings.upstreamLinger().toMillis(),
                        TimeUnit.MILLISECONDS);
    }

    @GuardedBy("lock")
    private void closeUpstream(StreamPath p, String why) {
        Upstream u = p.upstream;
        if (u == null) {
            return;
        }
        p.upstream = null;
        p.cancelLinger();
        u.close();
        if (u.stream() != null) {
            endStream(u.stream(), why);
        }
        dropIfIdle(p);
    }

    /** The upstream failed or closed by itself. */
    void upstreamLost(Upstream u, String why) {
        synchronized (lock) {
            StreamPath p = u.path;
            if (p.upstream != u) {
                return;
            }
            p.upstreamFailures.incrementAndGet();
            log.warn(
                    "{}: upstream {} lost: {}",
                    p.name,
                    UpstreamCredentials.withoutUserInfo(p.config.upstream()),
                    why);
            if (p.routed != null) {
                // the route takes this backend out of new choices until its probe succeeds
                routes.get()
                        .report(
                                p.routed,
                                Failure.of(
                                        u.stream() == null
                                                ? Failure.Kind.DESCRIBE_FAILED
                                                : Failure.Kind.RTP_STOPPED,
                                        why));
            }
            closeUpstream(p, "upstream lost: " + why);
        }
    }

    // ---- the whole
    // ---------------------------------------------------------------------------------------------

    /** The agent stops: upstream sessions close, streams and sessions end. */
    void close() {
        synchronized (lock) {
            for (StreamPath p : new ArrayList<>(paths.values())) {
                closeUpstream(p, "agent stopping");
                if (p.stream != null) {
                    endStream(p.stream, "agent stopping");
                }
            }
            for (RtspSession s : sessions.all()) {
                endSession(s, "agent stopping");
            }
        }
    }

    List<RtspServer.PathState> pathStates() {
        synchronized (lock) {
            List<RtspServer.PathState> out = new ArrayList<>();
            for (StreamPath p : paths.values()) {
                out.add(p.state());
            }
            return out;
        }
    }

    int sessionCount() {
        return sessions.size();
    }

    long sessionCount(RtspSession.Kind kind) {
        return sessions.count(kind);
    }
}
