package io.msm.agent.rtsp;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.MeterRegistry;
import io.msm.agent.Service;
import io.msm.agent.config.HostPort;
import io.msm.agent.config.RtspSettings;
import io.msm.agent.identity.PathAccess;
import io.msm.agent.limits.ConnectionGate;
import io.msm.agent.limits.Refusals;
import io.msm.agent.limits.RequestDeadline;
import io.msm.agent.limits.SourceLimiter;
import io.msm.agent.media.MediaPlane;
import io.msm.agent.net.Transport;
import io.msm.agent.routing.StreamRoutes;
import io.msm.agent.rtsp.wire.RtspDecoder;
import io.msm.agent.rtsp.wire.RtspEncoder;
import io.msm.agent.upgrade.Handover;
import io.msm.agent.upgrade.Sockets;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.EventExecutor;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.LoggerFactory;

/**
 * The RTSP proxy (RFC 2326): viewers DESCRIBE/SETUP/PLAY paths whose streams come from a publisher
 * (ANNOUNCE/RECORD) or from an upstream RTSP server pulled on demand; their media is fanned out by
 * the media plane — in the kernel for RTP over UDP, from the relays' taps for RTP interleaved on
 * the RTSP connection.
 *
 * <p>This class is the Netty lifecycle: it listens (RTSP, and RTSPS when {@code rtsp.tls} is set),
 * runs the event loops and the timers, and gives each accepted connection a pipeline of limits
 * before its {@link RtspConnection} (parse and reply), which asks the {@link PathRegistry} (paths,
 * streams, sessions, their state and lifetimes) and {@link RtspAccess} (who may publish or read):
 *
 * <pre>
 * ConnectionGate (caps per source and in total) → [SslHandler] → IdleStateHandler (no session:
 * closed after rtsp.idle-timeout) → RequestDeadline.before → RtspDecoder (heap cumulation) →
 * RequestDeadline.after → RtspEncoder → RtspConnection
 * </pre>
 */
public final class RtspServer implements Service {
    private final HostPort listen;
    private final RtspSettings settings;
    private final RtspMetrics metrics;
    private final PathRegistry paths;
    private final Refusals refusals;
    private final RtspAccess access;
    private final ConnectionGate gate;
    private final RequestDeadline deadline;
    private final RtspTls tls;
    private Channel tlsServer;
    private final RtspHandover handover;

    /** open client connections */
    private final Set<Channel> connections = ConcurrentHashMap.newKeySet();

    private EventLoopGroup boss;
    private EventLoopGroup workers;
    private ScheduledExecutorService timers;
    private Channel server;
    private volatile boolean ready;

    public RtspServer(
            HostPort listen, RtspSettings settings, MediaPlane plane, MeterRegistry registry) {
        this.listen = listen;
        this.settings = settings;
        this.metrics = new RtspMetrics(registry);
        this.paths = new PathRegistry(settings, plane, metrics);
        metrics.bind(paths, connections);
        this.refusals = new Refusals(registry, "rtsp", REASONS);
        paths.refusals(refusals);
        this.access = new RtspAccess(settings.auth(), refusals);
        RtspSettings.Limits l = settings.limits();
        this.gate =
                new ConnectionGate(
                        new SourceLimiter(l.maxConnectionsPerSource(), l.maxConnections()),
                        refusals);
        this.deadline = new RequestDeadline(l.requestTimeout(), refusals);
        this.tls = settings.tls() == null ? null : new RtspTls(settings.tls());
        UpstreamTls.warnIfUnverified(settings.auth().upstreamTls());
        this.handover = new RtspHandover(this, paths);
    }

    /** Its connections, streams and sessions in a seamless upgrade. */
    @Override
    public Handover.Participant handover() {
        return handover;
    }

    /** Load what taking over runs before asking for the handover (a shorter pause). */
    public static void warmUpHandover() {
        RtspHandover.warmUp();
    }

    List<Channel> openConnections() {
        return new ArrayList<>(connections);
    }

    EventLoopGroup workerGroup() {
        return workers;
    }

    /** Every reason msm_refused_total{protocol="rtsp"} counts under. */
    static final Set<String> REASONS =
            new TreeSet<>(
                    List.of(
                            ConnectionGate.PER_SOURCE,
                            ConnectionGate.TOTAL,
                            RequestDeadline.REASON,
                            RtspConnection.REASON_IDLE,
                            PathRegistry.REASON_SESSIONS,
                            PathRegistry.REASON_SESSIONS_PER_CONNECTION,
                            PathRegistry.REASON_SESSIONS_PER_SOURCE,
                            Publishing.REASON_PATHS,
                            Publishing.REASON_PATHS_PER_SOURCE,
                            Publishing.REASON_ANNOUNCE_TIMEOUT,
                            RtspAccess.UNAUTHORIZED,
                            RtspAccess.FORBIDDEN_USER,
                            RtspAccess.FORBIDDEN_SOURCE,
                            RtspAccess.LOCKED_OUT,
                            PathRegistry.REASON_IDENTITY));

    /** The refusals by reason (tests). */
    Refusals refusals() {
        return refusals;
    }

    /** Open connections the gate holds leases for (tests). */
    public int connectionCount() {
        return gate.limiter().total();
    }

    private ChannelInitializer<Channel> pipeline(boolean secure) {
        long idleMillis = settings.limits().idleTimeout().toMillis();
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                RequestDeadline.Stages st = deadline.stages();
                ch.pipeline().addLast(gate);
                if (secure) {
                    SslHandler ssl = tls.context().newHandler(ch.alloc());
                    ssl.setHandshakeTimeoutMillis(settings.limits().requestTimeout().toMillis());
                    ch.pipeline().addLast(ssl);
                }
                ch.pipeline()
                        .addLast(
                                new IdleStateHandler(0, 0, idleMillis, TimeUnit.MILLISECONDS),
                                st.before(),
                                RtspDecoder.onHeap(
                                        settings.maxHeaderBytes(), settings.maxBodyBytes()),
                                st.after(),
                                RtspEncoder.INSTANCE,
                                new RtspConnection(
                                        paths, metrics, connections, access, refusals, secure));
            }
        };
    }

    /** The routing table (StreamRoutes) for paths the config does not name; read at each lookup. */
    public RtspServer withRoutes(Supplier<StreamRoutes> r) {
        paths.routes(r);
        return this;
    }

    /**
     * Who may publish and watch by workload identity (StreamPolicies); call before start. Its
     * changes end sessions no longer allowed and update the relays' allowed identities.
     */
    public RtspServer withAccess(PathAccess a) {
        paths.access(a);
        a.onChange(paths::recheckSoon);
        return this;
    }

    @Override
    public String name() {
        return "rtsp";
    }

    @Override
    public void start() throws Exception {
        timers =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "msm-rtsp-timers");
                            t.setDaemon(true);
                            return t;
                        });
        boss = Transport.group(1, "msm-rtsp-accept");
        workers =
                Transport.group(
                        Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())),
                        "msm-rtsp");
        paths.start(workers, timers);
        ServerBootstrap b = bootstrap().childHandler(pipeline(false));
        try {
            server = Sockets.bind(b, Sockets.Kind.TCP_LISTEN, listen.socketAddress());
        } catch (Exception e) {
            close();
            throw new IllegalStateException(
                    "RTSP proxy cannot listen on "
                            + listen
                            + " (rtsp-listen): "
                            + e.getMessage()
                            + " — is another RTSP server running there? Choose another --rtsp-listen",
                    e);
        }
        if (tls != null) {
            HostPort tl = settings.tls().listen();
            try {
                tlsServer =
                        Sockets.bind(
                                bootstrap().childHandler(pipeline(true)),
                                Sockets.Kind.TCP_LISTEN,
                                tl.socketAddress());
            } catch (Exception e) {
                close();
                throw new IllegalStateException(
                        "RTSPS cannot listen on " + tl + " (rtsp.tls.listen): " + e.getMessage(),
                        e);
            }
            timers.scheduleWithFixedDelay(tls::check, 5, 5, TimeUnit.SECONDS);
            LoggerFactory.getLogger(RtspServer.class)
                    .info(
                            "rtsps: listening on {} ({}); RTP interleaved on the TLS connection is"
                                    + " encrypted, RTP over UDP of RTSPS sessions is plain RTP"
                                    + " (no SRTP yet)",
                            tlsServer.localAddress(),
                            settings.tls().cert());
        }
        Handover.Received handed = Handover.take("rtsp");
        if (handed != null) {
            handover.restore(handed, pipeline(false));
        }
        long every = Math.max(200, Math.min(1000, settings.sessionTimeout().toMillis() / 10));
        // publisher-silence is noticed within a quarter of itself (at least every 50 ms)
        RtspSettings.Grace g = settings.grace();
        for (Duration d : g.silence().values()) {
            every = Math.min(every, Math.max(50, d.toMillis() / 4));
        }
        if (g.silenceDefault() != null) {
            every = Math.min(every, Math.max(50, g.silenceDefault().toMillis() / 4));
        }
        timers.scheduleWithFixedDelay(paths::expireSessions, every, every, TimeUnit.MILLISECONDS);
        ready = true;
    }

    private ServerBootstrap bootstrap() {
        return new ServerBootstrap()
                .group(boss, workers)
                .option(ChannelOption.SO_BACKLOG, 256)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true);
    }

    /** Where RTSPS listens, or null when it is off. */
    public InetSocketAddress tlsAddress() {
        return tlsServer == null ? null : (InetSocketAddress) tlsServer.localAddress();
    }

    /** Where it listens (with the port chosen when 0 was asked for). */
    public InetSocketAddress address() {
        return (InetSocketAddress) server.localAddress();
    }

    @Override
    public Map<String, Executor> loops() {
        Map<String, Executor> out = new LinkedHashMap<>();
        if (workers != null) {
            int i = 0;
            for (EventExecutor e : workers) {
                out.put("msm-rtsp-" + i++, e);
            }
            out.put("msm-rtsp-timers", timers);
        }
        return out;
    }

    @Override
    public boolean ready() {
        return ready;
    }

    @Override
    public String describe() {
        List<String> d = new ArrayList<>();
        for (RtspSettings.PathSource p : settings.paths().values()) {
            d.add(
                    p.name()
                            + (p.kind() == RtspSettings.PathSource.Kind.PULL
                                    ? " <- " + p.upstream()
                                    : " (publish)"));
        }
        return "rtsp: rtsp://"
                + listen
                + "/<path>, paths: "
                + (d.isEmpty() ? "none configured" : String.join(", ", d))
                + (settings.tls() != null ? "; rtsps://" + settings.tls().listen() : "")
                + "; other paths: publish "
                + (settings.publishByDefault()
                        ? settings.auth().defaults().publish().toString()
                        : "none (publish-by-default off)")
                + ", read "
                + settings.auth().defaults().read();
    }

    @Override
    public void close() {
        ready = false;
        if (server != null) {
            server.close().syncUninterruptibly();
        }
        if (tlsServer != null) {
            tlsServer.close().syncUninterruptibly();
        }
        paths.close();
        for (Channel c : connections) {
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
    public record PathState(
            String name,
            String source,
            boolean publishing,
            int viewers,
            String upstream,
            long upstreamSessions) {}

    public List<PathState> pathStates() {
        return paths.pathStates();
    }

    /**
     * The relay tree edges of this node for /tree ({@code msm status}): one object per (direction,
     * peer node, path) with the sessions it stands for and the RTP bytes over it (-1: not known).
     */
    public String treeJson() {
        Map<List<String>, long[]> n = new TreeMap<>(Comparator.comparing(Object::toString));
        for (PathRegistry.TreeEdge e : paths.treeEdges()) {
            long[] v =
                    n.computeIfAbsent(List.of(e.direction(), e.peer(), e.path()), k -> new long[2]);
            v[0]++;
            v[1] = v[1] < 0 || e.bytes() < 0 ? -1 : v[1] + e.bytes();
        }
        ObjectNode root = TREE_JSON.createObjectNode();
        ArrayNode edges = root.putArray("edges");
        for (Map.Entry<List<String>, long[]> e : n.entrySet()) {
            ObjectNode o = edges.addObject();
            o.put("direction", e.getKey().get(0));
            o.put("peer", e.getKey().get(1));
            o.put("path", e.getKey().get(2));
            o.put("sessions", e.getValue()[0]);
            o.put("bytes", e.getValue()[1]);
        }
        return root.toString();
    }

    private static final ObjectMapper TREE_JSON = new ObjectMapper();

    public int sessionCount() {
        return paths.sessionCount();
    }
}
