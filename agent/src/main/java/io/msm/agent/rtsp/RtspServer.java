package io.msm.agent.rtsp;

import io.micrometer.core.instrument.MeterRegistry;
import io.msm.agent.Service;
import io.msm.agent.config.HostPort;
import io.msm.agent.config.RtspSettings;
import io.msm.agent.media.MediaPlane;
import io.msm.agent.media.Relay;
import io.msm.agent.net.Transport;
import io.msm.agent.rtsp.wire.RtspDecoder;
import io.msm.agent.rtsp.wire.RtspEncoder;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The RTSP proxy (RFC 2326): viewers DESCRIBE/SETUP/PLAY paths whose
 * streams come from a publisher (ANNOUNCE/RECORD) or from an upstream RTSP
 * server pulled on demand; their media is fanned out by the media plane —
 * in the kernel for RTP over UDP, from the relays' taps for RTP
 * interleaved on the RTSP connection.
 *
 * <p>State (paths, streams, sessions) changes under one lock; media never
 * takes it. Requests are answered on the connection's event loop.
 */
public final class RtspServer implements Service {
    private static final Logger log = LoggerFactory.getLogger(RtspServer.class);

    final HostPort listen;
    final RtspSettings settings;
    final MediaPlane plane;
    final RtspMetrics metrics;
    final Object lock = new Object();
    /** guarded by lock */
    final Map<String, StreamPath> paths = new LinkedHashMap<>();
    final Map<String, RtspSession> sessions = new ConcurrentHashMap<>();
    /** viewers' UDP ports (RTP and RTCP) -> their session, for receiver reports */
    final Map<InetSocketAddress, RtspSession> feedbackSources = new ConcurrentHashMap<>();
    final Map<Channel, RtspConnection> connections = new ConcurrentHashMap<>();
    private final SecureRandom random = new SecureRandom();
    private EventLoopGroup boss;
    EventLoopGroup workers;
    ScheduledExecutorService timers;
    private Channel server;
    private volatile boolean ready;

    public RtspServer(HostPort listen, RtspSettings settings, MediaPlane plane, MeterRegistry registry) {
        this.listen = listen;
        this.settings = settings;
        this.plane = plane;
        this.metrics = new RtspMetrics(registry, this);
    }

    /** StreamRoutes (Kubernetes) for paths the config does not name; read at each lookup. */
    private volatile java.util.function.Supplier<io.msm.agent.routing.StreamRoutes> routes =
            () -> io.msm.agent.routing.StreamRoutes.NONE;

    public RtspServer withRoutes(java.util.function.Supplier<io.msm.agent.routing.StreamRoutes> r) {
        this.routes = r;
        return this;
    }

    @Override
    public String name() {
        return "rtsp";
    }

    @Override
    public void start() throws Exception {
        synchronized (lock) {
            for (RtspSettings.PathSource p : settings.paths().values()) {
                addPath(new StreamPath(p.name(), p));
            }
        }
        timers = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "msm-rtsp-timers");
            t.setDaemon(true);
            return t;
        });
        boss = Transport.group(1, "msm-rtsp-accept");
        workers = Transport.group(Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())), "msm-rtsp");
        ServerBootstrap b = new ServerBootstrap().group(boss, workers).channel(Transport.server())
                .option(ChannelOption.SO_BACKLOG, 256)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new RtspDecoder(settings.maxHeaderBytes(), settings.maxBodyBytes()),
                                RtspEncoder.INSTANCE, new RtspConnection(RtspServer.this));
                    }
                });
        try {
            server = b.bind(listen.socketAddress()).syncUninterruptibly().channel();
        } catch (Exception e) {
            close();
            throw new IllegalStateException("RTSP proxy cannot listen on " + listen + " (rtsp-listen): " + e.getMessage()
                    + " — is another RTSP server running there? Choose another --rtsp-listen", e);
        }
        long every = Math.max(200, Math.min(1000, settings.sessionTimeout().toMillis() / 10));
        timers.scheduleWithFixedDelay(this::expireSessions, every, every, TimeUnit.MILLISECONDS);
        ready = true;
    }

    /** Where it listens (with the port chosen when 0 was asked for). */
    public InetSocketAddress address() {
        return (InetSocketAddress) server.localAddress();
    }

    @Override
    public boolean ready() {
        return ready;
    }

    @Override
    public String describe() {
        List<String> d = new ArrayList<>();
        for (RtspSettings.PathSource p : settings.paths().values()) {
            d.add(p.name() + (p.kind() == RtspSettings.PathSource.Kind.PULL ? " <- " + p.upstream() : " (publish)"));
        }
        return "rtsp: rtsp://" + listen + "/<path>, paths: " + (d.isEmpty() ? "none configured" : String.join(", ", d))
                + (settings.publishByDefault() ? "; any other path accepts publishing" : "");
    }

    // ---- paths -------------------------------------------------------------------------------------------------

    /** lock held */
    void addPath(StreamPath p) {
        paths.put(p.name, p);
        metrics.pathAdded(p);
    }

    /**
     * lock held: a path a publisher created goes away with its last stream and
     * viewer; a routed path with its upstream session (the next viewer has the
     * route choose a backend again)
     */
    void dropIfIdle(StreamPath p) {
        boolean idle = p.dynamic() ? p.stream == null && p.viewers.isEmpty()
                : p.routed != null && p.upstream == null && p.viewers.isEmpty();
        if (idle && paths.get(p.name) == p) {
            paths.remove(p.name);
            metrics.pathRemoved(p);
        }
    }

    long dynamicPaths() {
        return paths.values().stream().filter(StreamPath::dynamic).count();
    }

    /** A path and the rest of the URL path below it (null when the URL names the path itself). */
    record Resolved(StreamPath path, String rest) {
    }

    /**
     * lock held: like {@link #resolve(String)}, and when no path is known,
     * the StreamRoute matching host and path (or its parent, for a track URL)
     * picks a backend: a routed path is created that pulls from it, shared by
     * the viewers that come while its upstream session lives. Weights thus
     * split upstream sessions (per node), not viewers of one session.
     */
    Resolved resolve(String host, String urlPath) {
        Resolved r = resolve(urlPath);
        if (r != null || urlPath == null || urlPath.isEmpty()) {
            return r;
        }
        io.msm.agent.routing.StreamRoutes table = routes.get();
        int slash = urlPath.lastIndexOf('/');
        String[] candidates = slash > 0 ? new String[] {urlPath, urlPath.substring(0, slash)} : new String[] {urlPath};
        for (String name : candidates) {
            java.util.Optional<io.msm.agent.routing.Backend> b = table.choose(host, "/" + name);
            if (b.isPresent()) {
                StreamPath p = new StreamPath(name, new RtspSettings.PathSource(name, RtspSettings.PathSource.Kind.PULL,
                        b.get().upstream()), b.get());
                addPath(p);
                log.info("{}: routed by StreamRoute {} to {} ({})", name, b.get().route(), b.get().name(),
                        b.get().upstream());
                return new Resolved(p, name.equals(urlPath) ? null : urlPath.substring(slash + 1));
            }
        }
        return null;
    }

    /** lock held */
    Resolved resolve(String urlPath) {
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

    // ---- sessions ----------------------------------------------------------------------------------------------

    String newSessionId() {
        byte[] b = new byte[8];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    int sessionTimeoutSeconds() {
        return (int) Math.max(1, settings.sessionTimeout().toSeconds());
    }

    /**
     * lock held: end a session — unsubscribe its viewers' ports, release a
     * publisher's stream (ending every viewer of it), start the upstream
     * linger when a pulled path's last viewer left.
     */
    void endSession(RtspSession s, String why) {
        if (s.ended) {
            return;
        }
        s.ended = true;
        sessions.remove(s.id, s);
        s.connection.sessions.remove(s);
        stopMedia(s);
        for (RtspSession.Setup u : s.setups.values()) {
            if (u.rtp() != null) {
                feedbackSources.remove(u.rtp(), s);
                feedbackSources.remove(u.rtcp(), s);
            }
        }
        log.debug("session {} ({} of {}) ended: {}", s.id, s.kind.name().toLowerCase(), s.path().name, why);
        StreamPath p = s.path();
        if (s.kind == RtspSession.Kind.PUBLISHER) {
            endStream(s.stream, "its publisher left (" + why + ")");
        } else {
            p.viewers.remove(s);
            lingerIfIdle(p);
            dropIfIdle(p);
        }
    }

    /** lock held: stop sending to a viewer (PAUSE, TEARDOWN, end). */
    void stopMedia(RtspSession s) {
        s.subscribers.forEach(Relay.Subscriber::close);
        s.subscribers.clear();
        for (Track.TcpViewer v : s.tcpViewers) {
            v.track().removeTcpViewer(v);
        }
        s.tcpViewers.clear();
    }

    /**
     * lock held: a stream ends (publisher gone, upstream lost or closed):
     * its viewers' sessions end and their connections close, so players
     * see the end of the stream at once rather than a silent timeout.
     */
    void endStream(Stream st, String why) {
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
            v.connection.closeSoon();
        }
        st.closeTracks();
        if (!viewers.isEmpty() || st.live) {
            log.info("{}: stream ended ({}); {} viewer session(s) closed", p.name, why, viewers.size());
        }
        dropIfIdle(p);
    }

    /** lock held */
    void connectionClosed(RtspConnection c) {
        for (RtspSession s : new ArrayList<>(c.sessions)) {
            endSession(s, "connection closed");
        }
        Stream a = c.announced;
        if (a != null && !a.ended) {
            endStream(a, "publisher connection closed");
        }
    }

    private void expireSessions() {
        try {
            long now = System.nanoTime();
            long limit = settings.sessionTimeout().toNanos();
            synchronized (lock) {
                for (RtspSession s : new ArrayList<>(sessions.values())) {
                    if (s.kind == RtspSession.Kind.PUBLISHER) {
                        // a publisher keeps its session alive by sending media (many send no RTSP keep-alive)
                        long n = s.stream.upstreamPackets();
                        if (n != s.lastUpstreamPackets) {
                            s.lastUpstreamPackets = n;
                            s.touch();
                        }
                    }
                    if (now - s.lastSeen > limit) {
                        log.info("session {} ({} of {}) timed out: no request, receiver report or media for {} s", s.id,
                                s.kind.name().toLowerCase(), s.path().name, limit / 1_000_000_000L);
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
        RtspSession s = feedbackSources.get(from);
        if (s == null) {
            return;
        }
        s.touch();
        if (rtcp && RtcpPackets.isRtcp(data)) {
            RtcpPackets.Report r = RtcpPackets.firstReport(data);
            if (r != null) {
                s.lastReport = r;
            }
            s.path().receiverReports.incrementAndGet(); // after the report: who sees the count sees the loss
        }
    }

    // ---- pulled paths ------------------------------------------------------------------------------------------

    /** lock held: the upstream of a pulled path, started if needed. */
    Upstream upstream(StreamPath p) {
        Upstream u = p.upstream;
        if (u == null) {
            u = new Upstream(this, p);
            p.upstream = u;
            p.upstreamSessions.incrementAndGet();
            // start() may fail at once (a refused connect completes on this thread, which holds the
            // lock): p.upstream is then null again, and the caller learns it from u.ready()
            u.start();
        }
        cancelLinger(p);
        return u;
    }

    /** lock held */
    void cancelLinger(StreamPath p) {
        if (p.linger != null) {
            p.linger.cancel(false);
            p.linger = null;
        }
    }

    /** lock held: a pulled path without viewers closes its upstream after rtsp.upstream-linger. */
    void lingerIfIdle(StreamPath p) {
        if (!p.pulled() || p.upstream == null || !p.viewers.isEmpty() || p.linger != null) {
            return;
        }
        Upstream u = p.upstream;
        p.linger = timers.schedule(() -> {
            synchronized (lock) {
                p.linger = null;
                if (p.upstream == u && p.viewers.isEmpty()) {
                    log.info("{}: no viewers for {} ms; closing the upstream session", p.name,
                            settings.upstreamLinger().toMillis());
                    closeUpstream(p, "no viewers");
                }
            }
        }, settings.upstreamLinger().toMillis(), TimeUnit.MILLISECONDS);
    }

    /** lock held */
    void closeUpstream(StreamPath p, String why) {
        Upstream u = p.upstream;
        if (u == null) {
            return;
        }
        p.upstream = null;
        cancelLinger(p);
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
            log.warn("{}: upstream {} lost: {}", p.name, p.config.upstream(), why);
            if (p.routed != null) {
                // the route takes this backend out of new choices until its probe succeeds
                routes.get().report(p.routed, io.msm.agent.routing.Failure.of(
                        u.stream() == null ? io.msm.agent.routing.Failure.Kind.DESCRIBE_FAILED
                                : io.msm.agent.routing.Failure.Kind.RTP_STOPPED, why));
            }
            closeUpstream(p, "upstream lost: " + why);
        }
    }

    @Override
    public void close() {
        ready = false;
        if (server != null) {
            server.close().syncUninterruptibly();
        }
        synchronized (lock) {
            for (StreamPath p : new ArrayList<>(paths.values())) {
                closeUpstream(p, "agent stopping");
                if (p.stream != null) {
                    endStream(p.stream, "agent stopping");
                }
            }
            for (RtspSession s : new ArrayList<>(sessions.values())) {
                endSession(s, "agent stopping");
            }
        }
        for (Channel c : connections.keySet()) {
            c.close();
        }
        if (timers != null) {
            timers.shutdownNow();
        }
        if (boss != null) {
            boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
        if (workers != null) {
            workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
        metrics.close();
    }

    /** A snapshot of one path for tests and inspection. */
    public record PathState(String name, String source, boolean publishing, int viewers, String upstream,
                            long upstreamSessions) {
    }

    public List<PathState> pathStates() {
        synchronized (lock) {
            List<PathState> out = new ArrayList<>();
            for (StreamPath p : paths.values()) {
                out.add(new PathState(p.name, p.pulled() ? p.config.upstream().toString() : "publish", p.publishing(),
                        p.viewers.size(), p.upstream == null ? "idle" : p.upstream.state().name().toLowerCase(),
                        p.upstreamSessions.get()));
            }
            return out;
        }
    }

    public int sessionCount() {
        return sessions.size();
    }
}
