package io.msm.agent.metrics;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.msm.agent.config.HttpSettings;
import io.msm.agent.limits.ConnectionGate;
import io.msm.agent.limits.Refusals;
import io.msm.agent.limits.RequestDeadline;
import io.msm.agent.limits.SourceLimiter;
import io.msm.agent.net.Transport;
import io.msm.agent.upgrade.Sockets;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * HTTP on --metrics-listen: /metrics (Prometheus text format), /healthz (the agent is alive),
 * /readyz (datapath attached, listeners up, no event loop stalled), and JSON endpoints services add
 * (/calls of the SIP proxy), which show personal data and so answer only with the bearer token of
 * {@code http.token-file} or, without one, only clients in {@code http.private-from} (loopback).
 *
 * <p>It faces the network like the proxies do: connections are capped per source and in total, a
 * request must arrive whole within {@code http.request-timeout} and be small (8 kB of headers, no
 * body), idle connections are closed, and /healthz and /readyz are answered on the event loop from
 * state at hand, so slow clients and a slow scrape cannot make the probes time out. Scrapes and
 * JSON run on one worker thread with a short queue; past it a request gets 503 rather than waiting.
 */
public final class MetricsServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MetricsServer.class);
    static final int MAX_HEADER_BYTES = 8192;
    static final int WORK_QUEUE = 8;
    public static final String REASON_BUSY = "busy";
    public static final String REASON_PRIVATE = "private_endpoint";

    private final HttpSettings settings;
    private final PrometheusMeterRegistry registry;
    private final Runnable beforeScrape;
    private final BooleanSupplier healthy;
    private final BooleanSupplier ready;
    private final Supplier<List<String>> waitingFor;
    private final Heartbeats heartbeats;
    private final Map<String, Supplier<String>> json;
    private final Refusals refusals;
    private final EventLoopGroup group;
    private final ThreadPoolExecutor work;
    private final Channel server;

    /**
     * @param json more endpoints: path -> JSON document, built on each GET; they show personal data
     *     and are served as the class comment says
     */
    public MetricsServer(
            InetSocketAddress listen,
            HttpSettings settings,
            PrometheusMeterRegistry registry,
            Runnable beforeScrape,
            BooleanSupplier healthy,
            BooleanSupplier ready,
            Supplier<List<String>> waitingFor,
            Heartbeats heartbeats,
            Map<String, Supplier<String>> json)
            throws IOException {
        this.settings = settings;
        this.registry = registry;
        this.beforeScrape = beforeScrape;
        this.healthy = healthy;
        this.ready = ready;
        this.waitingFor = waitingFor;
        this.heartbeats = heartbeats;
        this.json = Map.copyOf(json);
        this.refusals =
                new Refusals(
                        registry,
                        "http",
                        Set.of(
                                ConnectionGate.PER_SOURCE,
                                ConnectionGate.TOTAL,
                                RequestDeadline.REASON,
                                "idle",
                                REASON_BUSY,
                                REASON_PRIVATE,
                                "bad_request"));
        if (settings.tokenFile() != null) {
            token(); // a missing or short token file stops the start, with the reason
        }
        this.work =
                new ThreadPoolExecutor(
                        1,
                        1,
                        0,
                        TimeUnit.SECONDS,
                        new ArrayBlockingQueue<>(WORK_QUEUE),
                        r -> {
                            Thread t = new Thread(r, "msm-http-work");
                            t.setDaemon(true);
                            return t;
                        });
        this.group = Transport.group(1, "msm-http");
        ConnectionGate gate =
                new ConnectionGate(
                        new SourceLimiter(
                                settings.maxConnectionsPerSource(), settings.maxConnections()),
                        refusals);
        RequestDeadline deadline = new RequestDeadline(settings.requestTimeout(), refusals);
        long idleMillis = settings.idleTimeout().toMillis();
        try {
            this.server =
                    Sockets.bind(
                            new ServerBootstrap()
                                    .group(group)
                                    .option(ChannelOption.SO_BACKLOG, 128)
                                    .option(ChannelOption.SO_REUSEADDR, true)
                                    .childHandler(
                                            new ChannelInitializer<>() {
                                                @Override
                                                protected void initChannel(Channel ch) {
                                                    RequestDeadline.Stages st = deadline.stages();
                                                    ch.pipeline()
                                                            .addLast(
                                                                    gate,
                                                                    new IdleStateHandler(
                                                                            0,
                                                                            0,
                                                                            idleMillis,
                                                                            TimeUnit.MILLISECONDS),
                                                                    st.before(),
                                                                    new HttpServerCodec(
                                                                            4096,
                                                                            MAX_HEADER_BYTES,
                                                                            8192),
                                                                    new HttpObjectAggregator(8192),
                                                                    st.after(),
                                                                    new Handler());
                                                }
                                            }),
                            Sockets.Kind.TCP_LISTEN,
                            listen);
        } catch (RuntimeException e) {
            close();
            throw new IOException(
                    "cannot listen on " + listen + " (metrics-listen): " + e.getMessage(), e);
        }
    }

    /**
     * /readyz?instance=X asks whether this is agent instance X (MSM_INSTANCE): during a seamless
     * upgrade the old and the new agent share the host's port, and the old one must not answer the
     * new pod's probes (its pod would be deleted before the new agent took over). Null when it is.
     */
    static String otherInstance(String uri, String mine) {
        int q = uri.indexOf('?');
        if (q < 0) {
            return null;
        }
        for (String kv : uri.substring(q + 1).split("&")) {
            if (kv.startsWith("instance=")) {
                String asked = kv.substring("instance=".length());
                if (!asked.equals(mine)) {
                    return "this is agent instance "
                            + (mine == null ? "(none)" : mine)
                            + ", not "
                            + asked
                            + " (the previous agent, not yet handed over)";
                }
            }
        }
        return null;
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) server.localAddress();
    }

    private String token() {
        Path f = settings.tokenFile();
        try {
            String t = Files.readString(f, StandardCharsets.UTF_8).strip();
            if (t.length() < 16) {
                throw new IllegalStateException(
                        "http.token-file "
                                + f
                                + " holds "
                                + t.length()
                                + " characters; a bearer token needs at least 16 (e.g. openssl rand -hex 32)");
            }
            return t;
        } catch (IOException e) {
            throw new IllegalStateException(
                    "http.token-file " + f + " cannot be read: " + e.getMessage(), e);
        }
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            if (!req.decoderResult().isSuccess()) {
                refusals.refuse(
                        "bad_request",
                        ctx.channel().remoteAddress() + ": " + req.decoderResult().cause());
                respond(
                        ctx,
                        false,
                        false,
                        HttpResponseStatus.BAD_REQUEST,
                        "text/plain",
                        "bad request\n");
                return;
            }
            boolean head = req.method().equals(HttpMethod.HEAD);
            if (!head && !req.method().equals(HttpMethod.GET)) {
                respond(
                        ctx,
                        keepAlive,
                        false,
                        HttpResponseStatus.METHOD_NOT_ALLOWED,
                        "text/plain",
                        "GET or HEAD only\n");
                return;
            }
            String path = req.uri();
            int q = path.indexOf('?');
            if (q >= 0) {
                path = path.substring(0, q);
            }
            switch (path) {
                case "/healthz" -> {
                    boolean ok = healthy.getAsBoolean();
                    respond(
                            ctx,
                            keepAlive,
                            head,
                            ok ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
                            "text/plain",
                            ok ? "ok\n" : "unhealthy\n");
                }
                case "/readyz" -> {
                    List<String> why = new ArrayList<>(notReady());
                    String other = otherInstance(req.uri(), System.getenv("MSM_INSTANCE"));
                    if (other != null) {
                        why.add(other);
                    }
                    respond(
                            ctx,
                            keepAlive,
                            head,
                            why.isEmpty()
                                    ? HttpResponseStatus.OK
                                    : HttpResponseStatus.SERVICE_UNAVAILABLE,
                            "text/plain",
                            why.isEmpty()
                                    ? "ready\n"
                                    : "not ready: " + String.join("; ", why) + "\n");
                }
                case "/metrics" ->
                        offload(
                                ctx,
                                keepAlive,
                                head,
                                "text/plain; version=0.0.4; charset=utf-8",
                                () -> {
                                    beforeScrape.run();
                                    return registry.scrape();
                                });
                default -> {
                    Supplier<String> body = json.get(path);
                    if (body == null) {
                        respond(
                                ctx,
                                keepAlive,
                                head,
                                HttpResponseStatus.NOT_FOUND,
                                "text/plain",
                                "try /metrics, /healthz or /readyz"
                                        + (json.isEmpty()
                                                ? ""
                                                : ", " + String.join(", ", json.keySet()))
                                        + "\n");
                    } else if (mayShowPrivate(ctx, req)) {
                        offload(ctx, keepAlive, head, "application/json", () -> body.get() + "\n");
                    }
                }
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof IdleStateEvent) {
                refusals.refuse(
                        "idle",
                        ctx.channel().remoteAddress()
                                + " sent nothing for "
                                + settings.idleTimeout().toSeconds()
                                + " s");
                ctx.close();
            } else {
                ctx.fireUserEventTriggered(evt);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("http: {}: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }

    private List<String> notReady() {
        List<String> why = new ArrayList<>();
        if (!ready.getAsBoolean()) {
            why.add("the agent is starting or stopping");
        }
        List<String> waiting = waitingFor.get();
        if (!waiting.isEmpty()) {
            why.add("waiting for: " + String.join(", ", waiting));
        }
        List<String> stalled = heartbeats == null ? List.of() : heartbeats.stalled();
        if (!stalled.isEmpty()) {
            why.add("stalled: " + String.join(", ", stalled));
        }
        return why;
    }

    private boolean mayShowPrivate(ChannelHandlerContext ctx, FullHttpRequest req) {
        InetSocketAddress peer = (InetSocketAddress) ctx.channel().remoteAddress();
        String auth = req.headers().get(HttpHeaderNames.AUTHORIZATION);
        if (settings.tokenFile() != null) {
            String want = "Bearer " + token();
            if (auth != null
                    && MessageDigest.isEqual(
                            want.getBytes(StandardCharsets.UTF_8),
                            auth.strip().getBytes(StandardCharsets.UTF_8))) {
                return true;
            }
            refusals.refuse(
                    REASON_PRIVATE,
                    peer + " " + req.uri() + ": " + (auth == null ? "no" : "wrong") + " token");
            FullHttpResponse r =
                    response(
                            HttpResponseStatus.UNAUTHORIZED,
                            "text/plain",
                            "this endpoint needs the bearer token of http.token-file\n");
            r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"msm\"");
            send(ctx, HttpUtil.isKeepAlive(req), r);
            return false;
        }
        if (peer != null && settings.privateFrom().contains(peer.getAddress())) {
            return true;
        }
        refusals.refuse(REASON_PRIVATE, peer + " " + req.uri() + ": not in http.private-from");
        respond(
                ctx,
                HttpUtil.isKeepAlive(req),
                false,
                HttpResponseStatus.FORBIDDEN,
                "text/plain",
                "this endpoint shows personal data: it answers "
                        + settings.privateFrom()
                        + " only, unless http.token-file is set\n");
        return false;
    }

    /** Runs a slow answer on the worker; past its short queue, 503 at once. */
    private void offload(
            ChannelHandlerContext ctx,
            boolean keepAlive,
            boolean head,
            String type,
            Supplier<String> body) {
        try {
            work.execute(
                    () -> {
                        String b;
                        try {
                            b = body.get();
                        } catch (RuntimeException e) {
                            log.warn(
                                    "http: answering {} failed: {}",
                                    ctx.channel().remoteAddress(),
                                    e.toString());
                            respond(
                                    ctx,
                                    keepAlive,
                                    head,
                                    HttpResponseStatus.INTERNAL_SERVER_ERROR,
                                    "text/plain",
                                    "internal error: " + e.getMessage() + "\n");
                            return;
                        }
                        respond(ctx, keepAlive, head, HttpResponseStatus.OK, type, b);
                    });
        } catch (RejectedExecutionException e) {
            refusals.refuse(
                    REASON_BUSY,
                    ctx.channel().remoteAddress() + ": " + WORK_QUEUE + " requests waiting");
            FullHttpResponse r =
                    response(HttpResponseStatus.SERVICE_UNAVAILABLE, "text/plain", "busy, retry\n");
            r.headers().set(HttpHeaderNames.RETRY_AFTER, "1");
            send(ctx, keepAlive, r);
        }
    }

    private static FullHttpResponse response(HttpResponseStatus status, String type, String body) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        FullHttpResponse r =
                new DefaultFullHttpResponse(
                        HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(b));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, b.length);
        return r;
    }

    private static void respond(
            ChannelHandlerContext ctx,
            boolean keepAlive,
            boolean head,
            HttpResponseStatus status,
            String type,
            String body) {
        FullHttpResponse r = response(status, type, body);
        if (head) {
            r.content().clear();
        }
        send(ctx, keepAlive, r);
    }

    private static void send(ChannelHandlerContext ctx, boolean keepAlive, FullHttpResponse r) {
        if (keepAlive) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            ctx.writeAndFlush(r);
        } else {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** Refusal counts, for tests. */
    double refused(String reason) {
        return refusals.count(reason);
    }

    @Override
    public void close() {
        if (server != null) {
            server.close().syncUninterruptibly();
        }
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        if (work != null) {
            work.shutdownNow();
        }
    }
}
