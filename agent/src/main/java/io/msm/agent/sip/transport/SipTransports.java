package io.msm.agent.sip.transport;

import io.msm.agent.config.SipSettings;
import io.msm.agent.limits.ConnectionGate;
import io.msm.agent.limits.Refusals;
import io.msm.agent.limits.RequestDeadline;
import io.msm.agent.limits.SourceLimiter;
import io.msm.agent.net.Transport;
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
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SIP listeners: one UDP socket and (optionally) a TCP server on the same address, plus
 * outgoing TCP connections, all on one event loop — the proxy's single thread, so the proxy needs
 * no locks. Inbound messages are handed to the {@link Receiver} on that loop.
 *
 * <p>Bounds: at most {@link #MAX_CONNECTIONS} TCP connections (more are closed on accept), an idle
 * connection closes after {@link #IDLE_SECONDS}, a stream that exceeds the message size bound is
 * answered and closed.
 */
public final class SipTransports implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SipTransports.class);
    static final int MAX_CONNECTIONS = 1024;
    static final int IDLE_SECONDS = 600;

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
    private Channel udp;
    private Channel server;

    /** Open TCP connections by remote address (event loop only). */
    private final Map<InetSocketAddress, Channel> connections = new HashMap<>();

    /** The connections msm opened, in their own table and cap (event loop only). */
    private final Map<InetSocketAddress, Channel> outbound = new HashMap<>();

    // limits (see limit()); without them: the old global cap only
    private ConnectionGate gate;
    private RequestDeadline deadline;
    private Refusals refusals;
    private long firstMessageMillis;
    private int maxOutbound = MAX_CONNECTIONS;

    public SipTransports(
            EventLoopGroup group,
            InetSocketAddress listen,
            boolean tcp,
            int maxBytes,
            Receiver receiver) {
        this.group = group;
        this.listen = listen;
        this.tcp = tcp;
        this.maxBytes = maxBytes;
        this.receiver = receiver;
    }

    /**
     * Per-source and total caps on inbound connections (a {@link ConnectionGate}), a deadline for
     * the first message of a connection and for each later one from its first byte, and a cap on
     * the connections msm opens itself — counted in {@code refusals}. Before {@link #start()}.
     */
    public void limit(SipSettings.Security s, Refusals r) {
        this.refusals = r;
        this.gate =
                new ConnectionGate(
                        new SourceLimiter(s.tcpConnectionsPerSource(), s.maxInboundConnections()),
                        r);
        this.deadline = new RequestDeadline(s.messageTimeout(), r);
        this.firstMessageMillis = s.firstMessageTimeout().toMillis();
        this.maxOutbound = s.maxOutboundConnections();
    }

    public void start() throws IOException {
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
                    new Bootstrap()
                            .group(group)
                            .channel(Transport.datagram())
                            .option(ChannelOption.SO_RCVBUF, 4 << 20)
                            .option(ChannelOption.SO_SNDBUF, 4 << 20)
                            .handler(
                                    new SimpleChannelInboundHandler<DatagramPacket>() {
                                        @Override
                                        protected void channelRead0(
                                                ChannelHandlerContext ctx, DatagramPacket p) {
                                            ByteBuf c = p.content();
                                            byte[] data = ByteBufUtil.getBytes(c);
                                            receiver.onMessage(
                                                    data, Hop.udp(p.sender()), false, data.length);
                                        }

                                        @Override
                                        public void exceptionCaught(
                                                ChannelHandlerContext ctx, Throwable cause) {
                                            // ICMP errors for earlier sends: nothing to do
                                            // (transactions time out)
                                        }
                                    })
                            .bind(listen)
                            .syncUninterruptibly()
                            .channel();
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
                        new ServerBootstrap()
                                .group(group)
                                .channel(Transport.server())
                                .option(ChannelOption.SO_REUSEADDR, true)
                                .childHandler(
                                        new ChannelInitializer<>() {
                                            @Override
                                            protected void initChannel(Channel ch) {
                                                if (gate != null) {
                                                    setUp(ch, true);
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
                                                setUp(ch, false);
                                            }
                                        })
                                .bind(
                                        new InetSocketAddress(
                                                listen.getAddress(), localAddress().getPort()))
                                .syncUninterruptibly()
                                .channel(); // the UDP socket's port, also when port 0 was asked for
            } catch (Exception e) {
                udp.close().syncUninterruptibly();
                throw new IOException(
                        "cannot bind SIP TCP " + listen + " (sip-listen): " + e.getMessage(), e);
            }
        }
    }

    private void setUp(Channel ch, boolean gated) {
        InetSocketAddress remote = (InetSocketAddress) ch.remoteAddress();
        RequestDeadline.Stages stages = null;
        if (gated) {
            ch.pipeline().addLast(gate);
            firstMessageDeadline(ch, remote);
            stages = deadline.stages();
            ch.pipeline().addLast(stages.before());
        }
        ch.pipeline().addLast(new IdleStateHandler(0, 0, IDLE_SECONDS, TimeUnit.SECONDS));
        ch.pipeline().addLast(new StreamFramer(maxBytes));
        if (stages != null) {
            ch.pipeline().addLast(stages.after());
        }
        ch.pipeline()
                .addLast(
                        new SimpleChannelInboundHandler<StreamFramer.Frame>() {
                            @Override
                            protected void channelRead0(
                                    ChannelHandlerContext ctx, StreamFramer.Frame f) {
                                receiver.onMessage(
                                        f.data(),
                                        new Hop(Hop.Kind.TCP, remote, ctx.channel()),
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
                                log.debug("SIP TCP {}: {}", remote, cause.toString());
                                ctx.close();
                            }
                        });
        connections.put(remote, ch);
        ch.closeFuture().addListener(f -> connections.remove(remote, ch));
    }

    /** An accepted connection that sends no whole message within the deadline is closed. */
    private void firstMessageDeadline(Channel ch, InetSocketAddress remote) {
        ScheduledFuture<?> f =
                ch.eventLoop()
                        .schedule(
                                () -> {
                                    refusals.refuse(
                                            "first_message_timeout",
                                            remote
                                                    + " sent no SIP message within "
                                                    + firstMessageMillis
                                                    + " ms of connecting");
                                    ch.close();
                                },
                                firstMessageMillis,
                                TimeUnit.MILLISECONDS);
        ch.pipeline()
                .addLast(
                        new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                f.cancel(false);
                                ctx.pipeline().remove(this);
                                ctx.fireChannelRead(msg);
                            }
                        });
        ch.closeFuture().addListener(x -> f.cancel(false));
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
        Channel c =
                to.connection() != null && to.connection().isActive()
                        ? to.connection()
                        : connections.get(to.remote());
        if (c == null || !c.isActive()) {
            c = outbound.get(to.remote());
        }
        if (c != null && c.isActive()) {
            write(c, data, onFailure);
            return;
        }
        if (!tcp) {
            if (onFailure != null) {
                onFailure.accept("TCP is off (sip.tcp: false)");
            }
            return;
        }
        if (outbound.size() >= maxOutbound) {
            if (refusals != null) {
                refusals.refuse(
                        "outbound_connections",
                        "no TCP connection to " + to.remote() + ": " + maxOutbound + " open");
            }
            if (onFailure != null) {
                onFailure.accept(maxOutbound + " outgoing TCP connections open");
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
                                        // set up once connected (the remote address is known then)
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
                    Channel existing = outbound.get(to.remote());
                    if (existing == null || !existing.isActive()) {
                        existing = connections.get(to.remote());
                    }
                    if (existing != null && existing.isActive()) {
                        ch.close(); // another send connected first
                        write(existing, data, onFailure);
                        return;
                    }
                    setUp(ch, false);
                    // msm's own connections: their own table and cap, not the inbound one
                    connections.remove(to.remote(), ch);
                    outbound.put(to.remote(), ch);
                    ch.closeFuture().addListener(x -> outbound.remove(to.remote(), ch));
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
        if (udp != null) {
            // the connection table belongs to the loop
            udp.eventLoop()
                    .submit(
                            () -> {
                                Map.copyOf(connections).values().forEach(Channel::close);
                                Map.copyOf(outbound).values().forEach(Channel::close);
                            })
                    .awaitUninterruptibly(2000);
            udp.close().syncUninterruptibly();
        }
    }
}
