package io.msm.agent.sip.transport;

import io.msm.agent.config.SipSettings;
import io.msm.agent.limits.ConnectionGate;
import io.msm.agent.limits.Refusals;
import io.msm.agent.limits.RequestDeadline;
import io.msm.agent.limits.SourceLimiter;
import io.msm.agent.net.Transport;
import io.msm.agent.upgrade.Sockets;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SIP listeners: one UDP socket and (optionally) a TCP server on the same address, a TLS server
 * on its own address (sip.tls), plus outgoing TCP and TLS connections, all on one event loop — the
 * proxy's single thread, so the proxy needs no locks. Inbound messages are handed to the {@link
 * Receiver} on that loop.
 *
 * <p>Bounds: at most {@link #MAX_CONNECTIONS} TCP connections (more are closed on accept), an idle
 * connection closes after {@link #IDLE_SECONDS}, a stream that exceeds the message size bound is
 * answered and closed. An inbound TLS connection passes a {@link ConnectionGate} (per-source and
 * total caps, before the handshake costs anything), must finish its handshake within
 * sip.tls.handshake-timeout, bring a whole first message within first-message-timeout, and every
 * later message within that time from its first byte ({@link RequestDeadline}); each refusal is
 * counted in {@code msm_refused_total{protocol="sip"}}.
 */
public final class SipTransports implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SipTransports.class);
    static final int MAX_CONNECTIONS = 1024;
    static final int IDLE_SECONDS = 600;

    /** Refusal reasons of the TLS listener (msm_refused_total{protocol="sip",reason}). */
    public static final String TLS_HANDSHAKE = "tls_handshake";

    public static final String TLS_HANDSHAKE_TIMEOUT = "tls_handshake_timeout";
    public static final String FIRST_MESSAGE_TIMEOUT = "first_message_timeout";
    public static final Set<String> REFUSAL_REASONS =
            Set.of(
                    ConnectionGate.PER_SOURCE,
                    ConnectionGate.TOTAL,
                    RequestDeadline.REASON,
                    TLS_HANDSHAKE,
                    TLS_HANDSHAKE_TIMEOUT,
                    FIRST_MESSAGE_TIMEOUT);

    /** Messages and oversized stream frames, on the event loop. */
    public interface Receiver {
        /**
         * @param oversized a stream message over the size bound: only its header section is in
         *     data; {@code declared} is its length
         */
        void onMessage(byte[] data, Hop from, boolean oversized, int declared);
    }

    private final EventLoopGroup group;
    private final InetSocketAddress listen;
    private final boolean tcp;
    private final int maxBytes;
    private final Receiver receiver;
    private final SipSettings.Tls tlsCfg;
    private final Refusals refusals;
    private final TlsContexts tls;
    private final ConnectionGate tlsGate;
    private final RequestDeadline tlsDeadline;
    private Channel udp;
    private Channel server;
    private Channel tlsServer;

    /** Open TCP connections by remote address (event loop only). */
    private final Map<InetSocketAddress, Channel> connections = new HashMap<>();

    /** Open TLS connections by remote address (event loop only). */
    private final Map<InetSocketAddress, Channel> tlsConnections = new HashMap<>();

    /** The TCP connections msm opened, in their own table and cap (event loop only). */
    private final Map<InetSocketAddress, Channel> outbound = new HashMap<>();

    // TCP limits (see limit()); without them: the old global cap only
    private ConnectionGate tcpGate;
    private RequestDeadline tcpDeadline;
    private Refusals tcpRefusals;
    private long firstMessageMillis;
    private int maxOutbound = MAX_CONNECTIONS;

    public SipTransports(
            EventLoopGroup group,
            InetSocketAddress listen,
            boolean tcp,
            int maxBytes,
            Receiver receiver) {
        this(group, listen, tcp, maxBytes, receiver, null, null);
    }

    /**
     * @param tlsCfg sip.tls, or null for no TLS
     * @param refusals where the TLS listener counts what it refuses ({@link #REFUSAL_REASONS})
     */
    public SipTransports(
            EventLoopGroup group,
            InetSocketAddress listen,
            boolean tcp,
            int maxBytes,
            Receiver receiver,
            SipSettings.Tls tlsCfg,
            Refusals refusals) {
        this.group = group;
        this.listen = listen;
        this.tcp = tcp;
        this.maxBytes = maxBytes;
        this.receiver = receiver;
        this.tlsCfg = tlsCfg;
        this.refusals = refusals;
        if (tlsCfg != null) {
            this.tls = new TlsContexts(tlsCfg);
            this.tlsGate =
                    new ConnectionGate(
                            new SourceLimiter(
                                    tlsCfg.connectionsPerSource(), tlsCfg.maxConnections()),
                            refusals);
            this.tlsDeadline = new RequestDeadline(tlsCfg.firstMessageTimeout(), refusals);
        } else {
            this.tls = null;
            this.tlsGate = null;
            this.tlsDeadline = null;
        }
    }

    /**
     * Per-source and total caps on inbound TCP connections (a {@link ConnectionGate}), a deadline
     * for the first message of a connection and for each later one from its first byte, and a cap
     * on the TCP connections msm opens itself — counted in {@code r}. Before {@link #start()}.
     */
    public void limit(SipSettings.Security s, Refusals r) {
        this.tcpRefusals = r;
        this.tcpGate =
                new ConnectionGate(
                        new SourceLimiter(s.tcpConnectionsPerSource(), s.maxInboundConnections()),
                        r);
        this.tcpDeadline = new RequestDeadline(s.messageTimeout(), r);
        this.firstMessageMillis = s.firstMessageTimeout().toMillis();
        this.maxOutbound = s.maxOutboundConnections();
    }

    public void start() throws IOException {
        if (tls != null) {
            tls.load(); // a missing or bad PEM stops the start, naming its field
        }
        bindStreams();
        if (tls != null) {
            bindTls();
        }
    }

    private void bindStreams() throws IOException {
        // port 0: the UDP socket picks a port the TCP listener must share; if that port is taken
        // for TCP, pick again
        for (int attempt = 1; ; attempt++) {
            try {
                bind();
                return;
            } catch (IOException e) {
                if (listen.getPort() != 0 || attempt >= 20 || udp == null) {
                    throw e;
                }
            }
        }
    }

    private void bind() throws IOException {
        try {
            udp =
                    Sockets.bind(
                            new Bootstrap()
                                    .group(group)
                                    .option(ChannelOption.SO_RCVBUF, 4 << 20)
                                    .option(ChannelOption.SO_SNDBUF, 4 << 20)
                                    .handler(
                                            new SimpleChannelInboundHandler<DatagramPacket>() {
                                                @Override
                                                protected void channelRead0(
                                                        ChannelHandlerContext ctx,
                                                        DatagramPacket p) {
                                                    ByteBuf c = p.content();
                                                    byte[] data = ByteBufUtil.getBytes(c);
                                                    receiver.onMessage(
                                                            data,
                                                            Hop.udp(p.sender()),
                                                            false,
                                                            data.length);
                                                }

                                                @Override
                                                public void exceptionCaught(
                                                        ChannelHandlerContext ctx,
                                                        Throwable cause) {
                                                    // ICMP errors for earlier sends: nothing to do
                                                    // (transactions time out)
                                                }
                                            }),
                            Sockets.Kind.UDP,
                            listen);
        } catch (Exception e) {
            throw new IOException(
                    "cannot bind SIP UDP "
                            + listen
                            + " (sip-listen): "
                            + e.getMessage()
                            + " — is another SIP server running there? pick another --sip-listen",
                    e);
        }
        if (tcp) {
            try {
                server =
                        Sockets.bind(
                                new ServerBootstrap()
                                        .group(group)
                                        .option(ChannelOption.SO_REUSEADDR, true)
                                        .childHandler(
                                                new ChannelInitializer<>() {
                                                    @Override
                                                    protected void initChannel(Channel ch) {
                                                        if (tcpGate != null) {
                                                            setUp(ch, Hop.Kind.TCP, true);
                                                            return;
                                                        }
                                                        if (connections.size() >= MAX_CONNECTIONS) {
                                                            log.warn(
                                                                    "SIP TCP connection from {} refused: {} connections open",
                                                                    ch.remoteAddress(),
                                                                    MAX_CONNECTIONS);
                                                            ch.close();
                                                            return;
                                                        }
                                                        setUp(ch, Hop.Kind.TCP, false);
                                                    }
                                                }),
                                Sockets.Kind.TCP_LISTEN,
                                new InetSocketAddress(
                                        listen.getAddress(),
                                        localAddress()
                                                .getPort())); // the UDP socket's port, also when
                // port 0 was asked for
            } catch (Exception e) {
                udp.close().syncUninterruptibly();
                throw new IOException(
                        "cannot bind SIP TCP " + listen + " (sip-listen): " + e.getMessage(), e);
            }
        }
    }

    private void bindTls() throws IOException {
        try {
            tlsServer =
                    Sockets.bind(
                            new ServerBootstrap()
                                    .group(group)
                                    .option(ChannelOption.SO_REUSEADDR, true)
                                    .childHandler(
                                            new ChannelInitializer<>() {
                                                @Override
                                                protected void initChannel(Channel ch) {
                                                    setUpTlsInbound(ch);
                                                }
                                            }),
                            Sockets.Kind.TCP_LISTEN,
                            new InetSocketAddress(
                                    tlsCfg.listen().address(), tlsCfg.listen().port()));
        } catch (Exception e) {
            close();
            throw new IOException(
                    "cannot bind SIP TLS "
                            + tlsCfg.listen().address().getHostAddress()
                            + ":"
                            + tlsCfg.listen().port()
                            + " (sip.tls.listen): "
                            + e.getMessage(),
                    e);
        }
        long every = tlsCfg.reload().toMillis();
        tlsServer
                .eventLoop()
                .scheduleWithFixedDelay(tls::reloadIfChanged, every, every, TimeUnit.MILLISECONDS);
        log.info(
                "SIP TLS on {} with {} (valid until {})",
                tlsServer.localAddress(),
                tls.certificate().getSubjectX500Principal().getName(),
                tls.certificate().getNotAfter().toInstant());
    }

    /**
     * An accepted TLS connection: the gate (caps) first, then TLS with its handshake deadline, a
     * deadline for the first whole message from the connection's start, and the stream stages with
     * a per-message deadline around the framer.
     */
    private void setUpTlsInbound(Channel ch) {
        ch.pipeline().addLast(tlsGate);
        SslHandler ssl = tls.server().newHandler(ch.alloc());
        ssl.setHandshakeTimeout(tlsCfg.handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS);
        ch.pipeline().addLast(ssl);
        ch.pipeline().addLast(new HandshakeOutcome(true));
        ch.pipeline()
                .addLast(
                        new FirstMessageDeadline(
                                tlsCfg.firstMessageTimeout().toMillis(), refusals));
        setUp(ch, Hop.Kind.TLS, false);
    }

    /** Counts failed and timed-out handshakes (inbound) and closes their connections. */
    private final class HandshakeOutcome extends ChannelInboundHandlerAdapter {
        private final boolean inbound;

        HandshakeOutcome(boolean inbound) {
            this.inbound = inbound;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent e && !e.isSuccess()) {
                if (!ctx.channel().isActive()) {
                    return; // closed already (refused by the gate, or the peer gave up)
                }
                if (inbound) {
                    boolean timeout = e.cause() instanceof SslHandshakeTimeoutException;
                    refusals.refuse(
                            timeout ? TLS_HANDSHAKE_TIMEOUT : TLS_HANDSHAKE,
                            ctx.channel().remoteAddress()
                                    + (timeout
                                            ? " did not finish the TLS handshake within "
                                                    + tlsCfg.handshakeTimeout().toMillis()
                                                    + " ms"
                                            : ": TLS handshake failed: " + e.cause().getMessage()));
                } else {
                    log.info(
                            "SIP TLS to {}: handshake failed: {}",
                            ctx.channel().remoteAddress(),
                            e.cause().getMessage());
                }
                ctx.close();
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // handshake errors arrive here too (and as the event above): close quietly
            log.debug("SIP TLS {}: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }

    /** The first whole message must arrive within the deadline from the connection's start. */
    private final class FirstMessageDeadline extends ChannelInboundHandlerAdapter {
        private final long millis;
        private final Refusals counted;
        private ScheduledFuture<?> timer;

        FirstMessageDeadline(long millis, Refusals counted) {
            this.millis = millis;
            this.counted = counted;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            timer =
                    ctx.executor()
                            .schedule(
                                    () -> {
                                        if (ctx.channel().isActive()) {
                                            counted.refuse(
                                                    FIRST_MESSAGE_TIMEOUT,
                                                    ctx.channel().remoteAddress()
                                                            + " sent no whole SIP message within "
                                                            + millis
                                                            + " ms of connecting");
                                            ctx.close();
                                        }
                                    },
                                    millis,
                                    TimeUnit.MILLISECONDS);
        }

        void firstMessage(ChannelHandlerContext ctx) {
            if (timer != null) {
                timer.cancel(false);
                timer = null;
            }
            ctx.pipeline().remove(this);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (timer != null) {
                timer.cancel(false);
            }
            ctx.fireChannelInactive();
        }
    }

    /**
     * The stream stages of a connection; {@code gated}: an accepted TCP connection under the TCP
     * limits (gate, first-message deadline, per-message deadline).
     */
    private void setUp(Channel ch, Hop.Kind kind, boolean gated) {
        InetSocketAddress remote = (InetSocketAddress) ch.remoteAddress();
        Map<InetSocketAddress, Channel> table = kind == Hop.Kind.TLS ? tlsConnections : connections;
        if (gated) {
            ch.pipeline().addLast(tcpGate);
            ch.pipeline().addLast(new FirstMessageDeadline(firstMessageMillis, tcpRefusals));
        }
        ch.pipeline().addLast(new IdleStateHandler(0, 0, IDLE_SECONDS, TimeUnit.SECONDS));
        RequestDeadline.Stages deadline =
                kind == Hop.Kind.TLS && tlsDeadline != null
                        ? tlsDeadline.stages()
                        : gated ? tcpDeadline.stages() : null;
        if (deadline != null) {
            ch.pipeline().addLast(deadline.before());
        }
        ch.pipeline().addLast(new StreamFramer(maxBytes));
        if (deadline != null) {
            ch.pipeline().addLast(deadline.after());
        }
        ch.pipeline()
                .addLast(
                        new SimpleChannelInboundHandler<StreamFramer.Frame>() {
                            @Override
                            protected void channelRead0(
                                    ChannelHandlerContext ctx, StreamFramer.Frame f) {
                                FirstMessageDeadline d =
                                        ctx.pipeline().get(FirstMessageDeadline.class);
                                if (d != null) {
                                    d.firstMessage(ctx);
                                }
                                receiver.onMessage(
                                        f.data(),
                                        new Hop(kind, remote, ctx.channel()),
                                        f.oversized(),
                                        f.declaredLength());
                                if (f.oversized()) {
                                    // the stream cannot be resynchronised: close once the answer is
                                    // out
                                    ctx.channel()
                                            .eventLoop()
                                            .schedule(
                                                    () -> ctx.channel().close(),
                                                    200,
                                                    TimeUnit.MILLISECONDS);
                                }
                            }

                            @Override
                            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                                if (evt instanceof IdleStateEvent) {
                                    ctx.close();
                                }
                            }

                            @Override
                            public void exceptionCaught(
                                    ChannelHandlerContext ctx, Throwable cause) {
                                log.debug("SIP {} {}: {}", kind, remote, cause.toString());
                                ctx.close();
                            }
                        });
        table.put(remote, ch);
        ch.closeFuture().addListener(f -> table.remove(remote, ch));
    }

    public EventLoop loop() {
        return udp.eventLoop();
    }

    /** The bound UDP address (port 0 in the config becomes the real port). */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) udp.localAddress();
    }

    public boolean tcpEnabled() {
        return tcp;
    }

    public int connectionCount() {
        return connections.size() + outbound.size();
    }

    /** Open TLS connections, inbound and outbound (event loop only). */
    public int tlsConnectionCount() {
        return tlsConnections.size();
    }

    /** The bound TLS address, or null when TLS is off. */
    public InetSocketAddress tlsAddress() {
        return tlsServer == null ? null : (InetSocketAddress) tlsServer.localAddress();
    }

    /** Certificate reloads so far (tests). */
    public int tlsReloads() {
        return tls == null ? 0 : tls.reloads();
    }

    /**
     * Send one message (event loop only). TCP: over {@code to.connection()} if it is open, else an
     * open connection to the address, else a new one; {@code onFailure} runs if it cannot be sent.
     */
    public void send(Hop to, byte[] data, Consumer<String> onFailure) {
        if (to.kind() == Hop.Kind.UDP) {
            udp.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(data), to.remote()))
                    .addListener(
                            f -> {
                                if (!f.isSuccess() && onFailure != null) {
                                    onFailure.accept(String.valueOf(f.cause()));
                                }
                            });
            return;
        }
        boolean secure = to.kind() == Hop.Kind.TLS;
        Map<InetSocketAddress, Channel> table = secure ? tlsConnections : connections;
        Channel c =
                to.connection() != null && to.connection().isActive()
                        ? to.connection()
                        : table.get(to.remote());
        if (!secure && (c == null || !c.isActive())) {
            c = outbound.get(to.remote());
        }
        if (c != null && c.isActive()) {
            write(c, data, onFailure);
            return;
        }
        if (secure ? tls == null : !tcp) {
            if (onFailure != null) {
                onFailure.accept(
                        secure ? "TLS is off (no sip.tls)" : "TCP is off (sip.tcp: false)");
            }
            return;
        }
        int max = secure ? tlsCfg.maxConnections() : maxOutbound;
        if ((secure ? table : outbound).size() >= max) {
            if (!secure && tcpRefusals != null) {
                tcpRefusals.refuse(
                        "outbound_connections",
                        "no TCP connection to " + to.remote() + ": " + max + " open");
            }
            if (onFailure != null) {
                onFailure.accept(
                        max
                                + (secure
                                        ? " TLS connections open"
                                        : " outgoing TCP connections open"));
            }
            return;
        }
        ChannelFuture cf =
                new Bootstrap()
                        .group(group)
                        .channel(Transport.socket())
                        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5000)
                        .handler(
                                new ChannelInitializer<>() {
                                    @Override
                                    protected void initChannel(Channel ch) {
                                        // the rest is set up once connected (the remote address
                                        // is known then); TLS must be first in the pipeline
                                        if (secure) {
                                            SslHandler ssl =
                                                    tls.client()
                                                            .newHandler(
                                                                    ch.alloc(),
                                                                    to.remote()
                                                                            .getAddress()
                                                                            .getHostAddress(),
                                                                    to.remote().getPort());
                                            ssl.setHandshakeTimeout(
                                                    tlsCfg.handshakeTimeout().toMillis(),
                                                    TimeUnit.MILLISECONDS);
                                            ch.pipeline().addLast(ssl);
                                            ch.pipeline().addLast(new HandshakeOutcome(false));
                                        }
                                    }
                                })
                        .connect(to.remote());
        cf.addListener(
                f -> {
                    if (!f.isSuccess()) {
                        if (onFailure != null) {
                            onFailure.accept(
                                    "cannot connect to "
                                            + to.remote()
                                            + ": "
                                            + f.cause().getMessage());
                        }
                        return;
                    }
                    Channel ch = cf.channel();
                    Channel existing = table.get(to.remote());
                    if (!secure && (existing == null || !existing.isActive())) {
                        existing = outbound.get(to.remote());
                    }
                    if (existing != null && existing.isActive()) {
                        ch.close(); // another send connected first
                        write(existing, data, onFailure);
                        return;
                    }
                    setUp(ch, to.kind(), false);
                    if (!secure) {
                        // msm's own connections: their own table and cap, not the inbound one
                        connections.remove(to.remote(), ch);
                        outbound.put(to.remote(), ch);
                        ch.closeFuture().addListener(x -> outbound.remove(to.remote(), ch));
                    }
                    write(ch, data, onFailure);
                });
    }

    private static void write(Channel c, byte[] data, Consumer<String> onFailure) {
        c.writeAndFlush(Unpooled.wrappedBuffer(data))
                .addListener(
                        f -> {
                            if (!f.isSuccess() && onFailure != null) {
                                onFailure.accept(String.valueOf(f.cause()));
                            }
                        });
    }

    @Override
    public void close() {
        if (server != null) {
            server.close().syncUninterruptibly();
        }
        if (tlsServer != null) {
            tlsServer.close().syncUninterruptibly();
        }
        if (udp != null) {
            // the connection tables belong to the loop
            udp.eventLoop()
                    .submit(
                            () -> {
                                Map.copyOf(connections).values().forEach(Channel::close);
                                Map.copyOf(tlsConnections).values().forEach(Channel::close);
                                Map.copyOf(outbound).values().forEach(Channel::close);
                            })
                    .awaitUninterruptibly(2000);
            udp.close().syncUninterruptibly();
        }
    }
}
