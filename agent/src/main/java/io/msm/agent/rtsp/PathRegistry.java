package io.msm.agent.rtsp;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.msm.agent.config.RtspSettings;
import io.msm.agent.identity.PathAccess;
import io.msm.agent.limits.Refusals;
import io.msm.agent.limits.SourceKey;
import io.msm.agent.limits.SourceLimiter;
import io.msm.agent.media.MediaPlane;
import io.msm.agent.media.Relay;
import io.msm.agent.media.RelayPair;
import io.msm.agent.routing.StreamRoutes;
import io.msm.agent.rtsp.sdp.SessionDescription;
import io.msm.agent.rtsp.wire.InterleavedFrame;
import io.msm.agent.rtsp.wire.RtspStatus;
import io.msm.agent.rtsp.wire.TransportSpec;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The paths of the RTSP proxy and what lives on them: their streams, the sessions of viewers and
 * publishers (with their caps), the viewers' feedback sources, end of session and end of stream,
 * and session expiry. Connections ask it — describe, announce, set up, play, pause, record, tear
 * down — and reply with what it answers or {@link Refused refuses}; it never reaches into a
 * connection (a {@link Client} is its own record of one, and is told when a stream it watched
 * ended).
 *
 * <p>It owns the one {@link #lock} and the maps; three rooms work under that lock on the state it
 * owns, each for one concern: {@link Publishing} (ANNOUNCE, a publisher's SETUP, RECORD, path caps,
 * the ANNOUNCE deadline), {@link Viewing} (a viewer's SETUP, PLAY, PAUSE) and {@link PulledPaths}
 * (upstream sessions, their linger and loss, StreamRoutes). They call back only this class's
 * {@code @GuardedBy("lock")} primitives; media never takes the lock.
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

    /** a policy's verdict on the peer's workload identity (request refused or session ended) */
    static final String REASON_IDENTITY = "identity";

    /** who may publish and watch by workload identity (StreamPolicies) */
    private volatile PathAccess access = PathAccess.NONE;

    private final AtomicBoolean recheckPending = new AtomicBoolean();

    /** pulled paths: upstream sessions, their linger, routing (working under the lock) */
    private final PulledPaths pulled;

    /** ANNOUNCE, a publisher's SETUP, RECORD, the path caps (working under the lock) */
    private final Publishing publishing;

    /** a viewer's SETUP, PLAY and PAUSE (working under the lock) */
    private final Viewing viewing;

    /** handed over (or a takeover failed): nothing here may change what another agent owns */
    private volatile boolean frozen;

    /** the agent stops: publishers leaving end their streams (no grace) */
    @GuardedBy("lock")
    private boolean stopping;

    /** a handover is offered: sessions do not expire meanwhile */
    private volatile boolean expiryPaused;

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
        this.pulled = new PulledPaths(this, settings);
        this.publishing = new Publishing(this, settings);
        this.viewing = new Viewing(this);
    }

    void refusals(Refusals r) {
        this.refusals = r;
    }

    void count(String reason, String detail) {
        Refusals r = refusals;
        if (r != null) {
            r.refuse(reason, detail);
        }
    }

    /** Refused (453) when the connection or its source holds its share of sessions already. */
    @GuardedBy("lock")
    RtspSession openSession(Client c, RtspSession.Kind kind, Stream s) throws Refused {
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
        return publishing.publishing(c, urlPath);
    }

    /** Which permissions apply to a URL path: its configured name, or routed, or the defaults. */
    record AccessClass(String configured, boolean routed, String name) {}

    AccessClass accessClass(String host, String urlPath) {
        synchronized (lock) {
            Resolved r = resolve(urlPath);
            if (r != null) {
                StreamPath p = r.path();
                if (p.routed != null) {
                    return new AccessClass(null, true, p.name);
                }
                return new AccessClass(p.dynamic() ? null : p.name, false, p.name);
            }
        }
        return new AccessClass(null, pulled.routed(host, urlPath), urlPath);
    }

    void access(PathAccess a) {
        this.access = a;
    }

    /** What the policies say about {@code peer} doing {@code action} on the path {@code name}. */
    PathAccess.Decision identityCheck(String name, PathAccess.Action action, InetAddress peer) {
        return name == null ? PathAccess.Decision.NOT_COVERED : access.check(name, action, peer);
    }

    /**
     * The identities the relays of a track on {@code path} fed from {@code source} admit: the
     * source's own (its pod's, or WORLD for a source outside the cluster that passed the passwords
     * or allow-lists), or null (no check) when no policy covers the path.
     */
    Set<Integer> relayIdentities(String path, InetAddress source) {
        PathAccess a = access;
        if (!a.covers(path)) {
            return null;
        }
        return Set.of(a.identityOf(source));
    }

    /** A policy or an identity changed: check every session and relay again, soon (folded). */
    void recheckSoon() {
        ScheduledExecutorService t = timers;
        if (t != null && recheckPending.compareAndSet(false, true)) {
            t.schedule(
                    () -> {
                        recheckPending.set(false);
                        recheck();
                    },
                    100,
                    TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Sessions whose peer the policies no longer admit end (a publisher's stream with it), with the
     * reason logged, and their connections close; relays admit the identities their sources have
     * now.
     */
    void recheck() {
        PathAccess a = access;
        try {
            synchronized (lock) {
                for (RtspSession s : sessions.all()) {
                    if (s.ended) {
                        continue;
                    }
                    PathAccess.Action act =
                            s.kind == RtspSession.Kind.PUBLISHER
                                    ? PathAccess.Action.PUBLISH
                                    : PathAccess.Action.WATCH;
                    PathAccess.Decision d =
                            a.check(s.path().name, act, s.connection.remote.getAddress());
                    if (d.verdict() == PathAccess.Verdict.DENIED) {
                        log.info(
                                "session {} ({} of {}) from {} ended: no longer allowed: {}",
                                s.id,
                                s.kind.name().toLowerCase(Locale.ROOT),
                                s.path().name,
                                s.connection.remote,
                                d.why());
                        count(REASON_IDENTITY, "session ended: " + d.why());
                        endSession(s, "no longer allowed: " + d.why());
                        s.connection.streamEnded();
                    }
                }
                for (StreamPath p : paths.values()) {
                    Stream st = p.stream;
                    if (st == null) {
                        continue;
                    }
                    for (Track t : st.tracks) {
                        InetAddress src = t.source;
                        if (src != null) {
                            t.allowIdentities(relayIdentities(p.name, src));
                        }
                    }
                }
            }
        } catch (RuntimeException e) {
            log.warn("rtsp: checking sessions against the policies failed: {}", e.toString(), e);
        }
    }

    void routes(Supplier<StreamRoutes> r) {
        pulled.routes(r);
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
        // the published paths, for other nodes' agents (relay trees): told when they change
        timers.scheduleWithFixedDelay(this::tellPublished, 0, 250, TimeUnit.MILLISECONDS);
    }

    private Set<String> lastPublished = Set.of();

    private int ticks;

    private void tellPublished() {
        try {
            if (ticks++ % 4 == 0) {
                metrics.treeEdges(treeEdges());
            }
            Set<String> now = publishedPaths();
            if (!now.equals(lastPublished)) {
                lastPublished = now;
                pulled.published(now);
            }
        } catch (RuntimeException e) {
            log.warn("rtsp: telling the published paths failed: {}", e.toString(), e);
        }
    }

    /** At most this many peers are named in the edge metrics (a cluster's nodes); then "other". */
    static final int MAX_EDGE_PEERS = 256;

    /**
     * One relay tree edge: "takes" (this node pulls from peer) or "serves" (peer pulls here).
     *
     * @param bytes RTP bytes over the edge so far: received from the peer (takes, the upstream
     *     relays' counter) or sent to it (serves, the session's subscribers); -1 when not known
     */
    record TreeEdge(String direction, String peer, String path, long bytes) {
        TreeEdge(String direction, String peer, String path) {
            this(direction, peer, path, -1);
        }
    }

    /**
     * The relay tree edges this node takes (paths it pulls from another node's agent) and serves
     * (viewer sessions of other nodes' agents), for /metrics and inspection.
     */
    List<TreeEdge> treeEdges() {
        synchronized (lock) {
            List<TreeEdge> out = new ArrayList<>();
            for (StreamPath p : paths.values()) {
                if (p.routed != null && p.routed.viaPeer() && p.upstream != null) {
                    out.add(
                            new TreeEdge(
                                    "takes", p.routed.via().node(), p.name, takenBytes(p.stream)));
                }
            }
            for (RtspSession s : sessions.all()) {
                if (!s.ended && s.kind == RtspSession.Kind.VIEWER && s.connection.fromPeer) {
                    String n = s.connection.peerNode;
                    long bytes = 0;
                    for (Relay.Subscriber sub : s.subscribers) {
                        bytes += sub.bytes();
                    }
                    out.add(
                            new TreeEdge(
                                    "serves", n == null ? "unknown" : n, s.path().name, bytes));
                }
            }
            return out;
        }
    }

    /** The RTP bytes a pulled stream's relays received from upstream; -1 when not known. */
    private static long takenBytes(Stream stream) {
        if (stream == null) {
            return -1;
        }
        long bytes = 0;
        for (Track t : stream.tracks) {
            try {
                bytes += t.rtp().stats().upstreamBytes();
            } catch (RuntimeException e) { // a track without relays (TCP-only, closing)
                return -1;
            }
        }
        return bytes;
    }

    /** Paths with a live published stream (not pulled): what other nodes' agents may pull. */
    Set<String> publishedPaths() {
        synchronized (lock) {
            TreeSet<String> out = new TreeSet<>();
            for (StreamPath p : paths.values()) {
                if (!p.pulled() && p.liveStream() != null) {
                    out.add(p.name);
                }
            }
            return Collections.unmodifiableSet(out);
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
    void addPath(StreamPath p) {
        paths.put(p.name, p);
        metrics.pathAdded(p);
    }

    /**
     * A path a publisher created goes away with its last stream and viewer; a routed path with its
     * upstream session (the next viewer has the route choose a backend again).
     */
    @GuardedBy("lock")
    void dropIfIdle(StreamPath p) {
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
    long dynamicPaths() {
        return paths.values().stream().filter(StreamPath::dynamic).count();
    }

    /** Paths a publisher from {@code source} created (rtsp.max-paths-per-source). */
    @GuardedBy("lock")
    long dynamicPathsFrom(SourceKey source) {
        return paths.values().stream().filter(x -> x.dynamic() && source.equals(x.creator)).count();
    }

    @GuardedBy("lock")
    StreamPath path(String name) {
        return paths.get(name);
    }

    /** A path and the rest of the URL path below it (null when the URL names the path itself). */
    record Resolved(StreamPath path, String rest) {}

    /**
     * Like {@link #resolve(String)}, and when no path is known, the StreamRoute matching host and
     * path may create a routed path ({@link PulledPaths#route}).
     */
    @GuardedBy("lock")
    private Resolved resolve(Client c, String host, String urlPath) {
        boolean fromPeer = c != null && c.fromPeer;
        if (fromPeer) {
            // a peer agent's pull: the host its viewer asked for, and never a path this agent
            // pulls from a peer itself (relay trees have one hop: no loops by construction)
            host = c.peerHost;
            Resolved r = resolve(urlPath);
            if (r != null && r.path().routed != null && r.path().routed.viaPeer()) {
                return null;
            }
            return r != null ? r : pulled.route(host, urlPath, true);
        }
        Resolved r = resolve(urlPath);
        return r != null ? r : pulled.route(host, urlPath, false);
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
        if (frozen) {
            return;
        }
        synchronized (lock) {
            for (RtspSession s : new ArrayList<>(c.sessions)) {
                endSession(s, "connection closed");
            }
            Stream a = c.announced;
            if (a != null && !a.ended) {
                dropAnnounced(c, a, "publisher connection closed");
            }
        }
    }

    /**
     * The path's upstream is being set up: ask again once {@code ready} completes, at most {@code
     * timeout} (the upstream's own timeout fails it first).
     */
    record UpstreamWait(CompletableFuture<Stream> ready, String upstream, Duration timeout) {}

    /** A DESCRIBE's answer: the served description, or the upstream to wait for. */
    record Description(String sdp, UpstreamWait upstream) {}

    Description describe(Client c, String host, String urlPath) throws Refused {
        synchronized (lock) {
            Resolved res = resolve(c, host, urlPath);
            if (res == null || res.rest() != null) {
                throw new Refused(RtspStatus.NOT_FOUND, "no path " + urlPath);
            }
            StreamPath p = res.path();
            Stream s = p.liveStream();
            if (s == null) {
                if (p.pulled()) {
                    Upstream u = pulled.upstream(p);
                    if (u.stream() == null || !u.stream().live) {
                        return new Description(null, pulled.waitFor(u));
                    }
                    s = u.stream();
                } else {
                    throw new Refused(RtspStatus.NOT_FOUND, "nothing is published at " + p.name);
                }
            }
            String sdp = s.sdp.served(c.serverAddress(), s.sdpId, p.name);
            if (p.pulled()) {
                // a DESCRIBE without SETUP keeps the upstream only for the linger time
                pulled.lingerIfIdle(p);
            }
            return new Description(sdp, null);
        }
    }

    /** A publisher's ANNOUNCE of {@code name} (a valid path name) with its description. */
    void announce(Client c, String name, SessionDescription sdp) throws Refused {
        publishing.announce(c, name, sdp);
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
            Resolved res = resolve(c, RtspUrls.host(uri), urlPath);
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
            if (a != null
                    && a.path == p
                    && !a.ended
                    && (!a.live || a.resuming || a.standbyAnnouncer == c)) {
                return publishing.setup(c, uri, a, res.rest(), offered, session);
            }
            if (session != null && session.kind == RtspSession.Kind.PUBLISHER) {
                throw new Refused(
                        RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                        "tracks cannot be added after RECORD");
            }
            Stream s = p.liveStream();
            if (s == null) {
                if (p.pulled()) {
                    return new SetUp(null, null, pulled.waitFor(p));
                }
                throw new Refused(RtspStatus.NOT_FOUND, "nothing is published at " + p.name);
            }
            return viewing.setup(c, uri, s, res.rest(), offered, session);
        }
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

    /** A playing viewer's UDP ports: what reaches a relay from them is its feedback. */
    @GuardedBy("lock")
    void feedbackFrom(RtspSession s, InetSocketAddress rtp, InetSocketAddress rtcp) {
        sessions.feedbackFrom(s, rtp, rtcp);
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
            return viewing.play(c, owned(c, sid));
        }
    }

    RtspSession pause(Client c, String sid) throws Refused {
        synchronized (lock) {
            return viewing.pause(owned(c, sid));
        }
    }

    RtspSession record(Client c, String sid) throws Refused {
        synchronized (lock) {
            return publishing.record(c, owned(c, sid));
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
                    dropAnnounced(c, c.announced, "TEARDOWN");
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
            Stream st = s.stream;
            if (st.standby == s) {
                st.standby = null;
                log.info("{}: its hot standby publisher left ({})", p.name, why);
            } else if (st.publisher == s
                    && st.standby != null
                    && st.standby.state == RtspSession.State.RECORDING) {
                // the kernel switched to the standby already (or does at its next packet)
                st.publisher = st.standby;
                st.standby = null;
                metrics.standbyTakeovers.increment();
                log.info(
                        "{}: its publisher left ({}); the hot standby from {} publishes it now",
                        p.name,
                        why,
                        st.publisher.connection.remote);
            } else if (st.publisher == s || st.publisher == null && st.grace == null) {
                publisherLeft(st, why);
            }
        } else {
            p.viewers.remove(s);
            pulled.lingerIfIdle(p);
            dropIfIdle(p);
        }
    }

    /**
     * A stream's publisher left: with a grace configured for the path and viewers on it, the stream
     * (its relays, its viewers' sessions and subscriptions) waits for a publisher to return;
     * otherwise it ends.
     */
    @GuardedBy("lock")
    private void publisherLeft(Stream st, String why) {
        if (st.ended) {
            return;
        }
        Duration g = graceOf(st.path);
        ScheduledExecutorService t = timers;
        if (!st.live || g.isZero() || t == null || stopping) {
            endStream(st, "its publisher left (" + why + ")");
            return;
        }
        RtspSession pub = st.publisher;
        st.publisher = null;
        if (st.announcer != null && st.announcer.announced == st) {
            st.announcer.announced = null;
        }
        st.announcer = null;
        st.resuming = false;
        for (Track tr : st.tracks) {
            tr.fed = false;
        }
        if (pub != null && !pub.ended) {
            endSession(pub, why);
        }
        if (st.grace != null) {
            log.info(
                    "{}: the returning publisher left too ({}); the grace runs on",
                    st.path.name,
                    why);
            return;
        }
        st.graceSince = System.nanoTime();
        long viewers = st.path.viewers.stream().filter(v -> v.stream == st).count();
        log.info(
                "{}: its publisher left ({}); {} viewer session(s) wait up to {} ms for it"
                        + " (publisher-grace)",
                st.path.name,
                why,
                viewers,
                g.toMillis());
        st.grace =
                t.schedule(
                        () -> {
                            synchronized (lock) {
                                if (!st.ended && st.grace != null && !frozen) {
                                    metrics.graceExpiries.increment();
                                    endStream(
                                            st,
                                            "no publisher returned within "
                                                    + g.toMillis()
                                                    + " ms (publisher-grace)");
                                }
                            }
                        },
                        g.toMillis(),
                        TimeUnit.MILLISECONDS);
    }

    void resumed() {
        metrics.resumptions.increment();
    }

    /** The hot-standby silence of a path, or null: one publisher at a time. */
    Duration standbyOf(StreamPath p) {
        return settings.grace().standbyOf(p.dynamic() ? null : p.name);
    }

    /** The publisher grace of a path: its configured one, or the defaults'. */
    Duration graceOf(StreamPath p) {
        return settings.grace().of(p.dynamic() ? null : p.name);
    }

    /**
     * A stream {@code c} announced and will not record: a new stream ends; a stream it was resuming
     * goes on waiting (its grace runs on) for another publisher.
     */
    @GuardedBy("lock")
    void dropAnnounced(Client c, Stream a, String why) {
        if (a.standbyAnnouncer == c) {
            a.standbyAnnouncer = null; // the stream goes on with its publisher
            c.announced = null;
            RtspSession sb = a.standby;
            if (sb != null && sb.connection == c && !sb.ended) {
                endSession(sb, why);
            }
            return;
        }
        if (a.resuming) {
            publisherLeft(a, why);
        } else {
            endStream(a, why);
        }
    }

    /**
     * A stream ends (publisher gone, upstream lost or closed): its viewers' sessions end and their
     * connections are told, so they close and players see the end of the stream at once rather than
     * a silent timeout.
     */
    @GuardedBy("lock")
    void endStream(Stream st, String why) {
        if (st.ended) {
            return;
        }
        st.ended = true;
        if (st.grace != null) {
            st.grace.cancel(false);
            st.grace = null;
        }
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
        if (st.standbyAnnouncer != null && st.standbyAnnouncer.announced == st) {
            st.standbyAnnouncer.announced = null;
        }
        if (st.standby != null && !st.standby.ended) {
            endSession(st.standby, why);
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
        if (frozen || expiryPaused) {
            return;
        }
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
                            s.lastMediaNs = now;
                            s.touch();
                        } else if (silentPublisher(s, n, now)) {
                            continue;
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

    /**
     * rtsp.*.publisher-silence: the stream's publisher sent RTP (the relays' upstream counters —
     * kernel plane: counted by TC) and then nothing for that long, while its RTSP session lives:
     * for resumption it is gone — its session ends and the stream enters the grace, so the same or
     * another publisher may ANNOUNCE it again and resume into the same relays. Not with a hot
     * standby (that takes over in the kernel) nor while resuming. True when it ended the session.
     */
    @GuardedBy("lock")
    private boolean silentPublisher(RtspSession s, long packets, long now) {
        Stream st = s.stream;
        Duration limit = settings.grace().silenceOf(st.path.dynamic() ? null : st.path.name);
        if (limit == null
                || packets <= 0
                || st.publisher != s
                || st.standby != null
                || st.resuming
                || !st.live
                || st.ended
                || graceOf(st.path).isZero()
                || now - s.lastMediaNs < limit.toNanos()) {
            return false;
        }
        metrics.silences.increment();
        endSession(
                s,
                "its RTP stopped for "
                        + (now - s.lastMediaNs) / 1_000_000
                        + " ms (publisher-silence "
                        + limit.toMillis()
                        + " ms) while its RTSP session lived");
        return true;
    }

    /** A viewer's RTCP (receiver report) or NAT probe reached a relay: it is alive. */
    /** An rtsps:// upstream's handshake failed (counted by reason). */
    void upstreamTlsFailure(String reason) {
        metrics.upstreamTlsFailure(reason);
    }

    void onFeedback(InetSocketAddress from, ByteBuf data, boolean rtcp) {
        sessions.onFeedback(from, data, rtcp);
    }

    // ---- the whole
    // ---------------------------------------------------------------------------------------------

    /** The agent stops: upstream sessions close, streams and sessions end. */
    void close() {
        if (frozen) {
            return;
        }
        synchronized (lock) {
            stopping = true;
            for (StreamPath p : new ArrayList<>(paths.values())) {
                pulled.closeUpstream(p, "agent stopping");
                if (p.stream != null) {
                    endStream(p.stream, "agent stopping");
                }
            }
            for (RtspSession s : sessions.all()) {
                endSession(s, "agent stopping");
            }
        }
    }

    // ---- handover
    // ---------------------------------------------------------------------------------------------

    /**
     * Another agent owns the sessions now (or this agent failed to take them over): closing
     * connections ends nothing, stopping tears nothing down, nothing expires.
     */
    void freeze() {
        frozen = true;
    }

    void pauseExpiry(boolean paused) {
        expiryPaused = paused;
    }

    @GuardedBy("lock")
    List<StreamPath> allPaths() {
        return new ArrayList<>(paths.values());
    }

    /** A session the previous agent handed over (its place under the per-source cap is taken). */
    @GuardedBy("lock")
    RtspSession restoreSession(Client c, RtspSession.Kind kind, Stream s, String id) {
        RtspSession session = sessions.restore(c, kind, s, id);
        SourceLimiter.Admission a = sessionsPerSource.acquire(SourceKey.of(c.remote));
        if (a.admitted()) {
            session.sourceLease = a.lease();
        }
        return session;
    }

    /** PLAY for a handed-over session that was playing (its subscriptions are re-added). */
    RtspSession replay(Client c, RtspSession s) throws Refused {
        synchronized (lock) {
            return viewing.play(c, s);
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
