package io.msm.agent.rtsp.client;

import io.msm.agent.net.Transport;
import io.msm.agent.rtsp.wire.InterleavedFrame;
import io.msm.agent.rtsp.wire.MalformedMessage;
import io.msm.agent.rtsp.wire.RtspDecoder;
import io.msm.agent.rtsp.wire.RtspEncoder;
import io.msm.agent.rtsp.wire.RtspHeaders;
import io.msm.agent.rtsp.wire.RtspMessage;
import io.msm.agent.rtsp.wire.RtspRequest;
import io.msm.agent.rtsp.wire.RtspResponse;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.LoggerFactory;

/**
 * A minimal asynchronous RTSP client: one connection, requests answered in order (RFC 2326 section
 * 12.17 CSeq), each with a time limit. The proxy uses it to pull a stream from an upstream server;
 * tests use it too.
 */
public final class RtspClient implements AutoCloseable {
    private final Channel channel;
    private final Duration timeout;
    private final Deque<Pending> pending = new ArrayDeque<>(); // event loop only
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    private int cseq;

    private record Pending(
            int cseq,
            CompletableFuture<RtspResponse> future,
            RtspRequest request,
            boolean retried) {}

    /** user and password for the server's challenges (event loop only), or null */
    private String user;

    private String password;

    /** the challenge answered on every request once the server asked (event loop only) */
    private ClientAuth auth;

    private RtspClient(Channel channel, Duration timeout) {
        this.channel = channel;
        this.timeout = timeout;
    }

    /** Connect to host:port within {@code timeout}; later requests each get the same limit. */
    public static CompletableFuture<RtspClient> connect(
            EventLoopGroup group,
            InetSocketAddress server,
            Duration timeout,
            int maxHeaderBytes,
            int maxBodyBytes) {
        return connect(group, server, null, timeout, maxHeaderBytes, maxBodyBytes);
    }

    /** The same from a given local address ({@code null}: any). */
    public static CompletableFuture<RtspClient> connect(
            EventLoopGroup group,
            InetSocketAddress server,
            InetSocketAddress local,
            Duration timeout,
            int maxHeaderBytes,
            int maxBodyBytes) {
        return connect(group, server, local, null, null, timeout, maxHeaderBytes, maxBodyBytes);
    }

    /**
     * The same over TLS when {@code tls} is not null (RTSPS): the handshake, within {@code timeout}
     * too, completes before the future does; {@code host} is the name the server's certificate must
     * carry (when the context verifies names) and the SNI sent. A handshake that fails completes
     * the future with a {@link TlsFailure} saying why.
     */
    public static CompletableFuture<RtspClient> connect(
            EventLoopGroup group,
            InetSocketAddress server,
            InetSocketAddress local,
            SslContext tls,
            String host,
            Duration timeout,
            int maxHeaderBytes,
            int maxBodyBytes) {
        CompletableFuture<RtspClient> f = new CompletableFuture<>();
        SslHandler[] ssl = new SslHandler[1];
        RtspClient[] holder = new RtspClient[1];
        Bootstrap b =
                new Bootstrap()
                        .group(group)
                        .channel(Transport.socket())
                        .option(
                                ChannelOption.CONNECT_TIMEOUT_MILLIS,
                                (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()))
                        .option(ChannelOption.TCP_NODELAY, true)
                        .handler(
                                new ChannelInitializer<>() {
                                    @Override
                                    protected void initChannel(Channel ch) {
                                        if (tls != null) {
                                            ssl[0] =
                                                    tls.newHandler(
                                                            ch.alloc(), host, server.getPort());
                                            ssl[0].setHandshakeTimeoutMillis(timeout.toMillis());
                                            ch.pipeline().addLast(ssl[0]);
                                        }
                                        ch.pipeline()
                                                .addLast(
                                                        new RtspDecoder(
                                                                maxHeaderBytes, maxBodyBytes),
                                                        RtspEncoder.INSTANCE,
                                                        new SimpleChannelInboundHandler<
                                                                RtspMessage>() {
                                                            @Override
                                                            protected void channelRead0(
                                                                    ChannelHandlerContext ctx,
                                                                    RtspMessage msg) {
                                                                holder[0].onMessage(msg);
                                                            }

                                                            @Override
                                                            public void channelInactive(
                                                                    ChannelHandlerContext ctx) {
                                                                holder[0].onClosed(
                                                                        new IOException(
                                                                                "connection to "
                                                                                        + server
                                                                                        + " closed"));
                                                            }

                                                            @Override
                                                            public void exceptionCaught(
                                                                    ChannelHandlerContext ctx,
                                                                    Throwable cause) {
                                                                ctx.close();
                                                            }
                                                        });
                                    }
                                });
        ChannelFuture cf = b.register();
        holder[0] = new RtspClient(cf.channel(), timeout);
        cf.addListener(
                r -> {
                    if (!r.isSuccess()) {
                        f.completeExceptionally(r.cause());
                        return;
                    }
                    (local == null
                                    ? cf.channel().connect(server)
                                    : cf.channel().connect(server, local))
                            .addListener(
                                    c -> {
                                        if (c.isSuccess() && ssl[0] != null) {
                                            ssl[0].handshakeFuture()
                                                    .addListener(
                                                            h -> {
                                                                if (h.isSuccess()) {
                                                                    f.complete(holder[0]);
                                                                } else {
                                                                    f.completeExceptionally(
                                                                            TlsFailure.of(
                                                                                    host
                                                                                            + ":"
                                                                                            + server
                                                                                                    .getPort(),
                                                                                    h.cause()));
                                                                    cf.channel().close();
                                                                }
                                                            });
                                        } else if (c.isSuccess()) {
                                            f.complete(holder[0]);
                                        } else {
                                            f.completeExceptionally(
                                                    new IOException(
                                                            "cannot connect to "
                                                                    + server
                                                                    + ": "
                                                                    + c.cause().getMessage(),
                                                            c.cause()));
                                            cf.channel().close();
                                        }
                                    });
                });
        return f;
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    public InetSocketAddress remoteAddress() {
        return (InetSocketAddress) channel.remoteAddress();
    }

    public boolean isOpen() {
        return channel.isActive();
    }

    /** Completes when the connection closes (by either side). */
    public CompletableFuture<Void> closeFuture() {
        return closed;
    }

    /**
     * Answers the server's 401 challenges with these credentials: Digest (SHA-256 or MD5, with
     * qop=auth when offered) or, when only that is offered, Basic. Set before the first request.
     */
    public RtspClient credentials(String user, String password) {
        this.user = user;
        this.password = password;
        return this;
    }

    /**
     * Takes the RTP and RTCP the server interleaves on this connection (RTP/AVP/TCP): called on the
     * event loop with each frame, which is released after the call (retain it to keep it). Without
     * a listener such frames are dropped. Set before PLAY.
     */
    public RtspClient onInterleaved(Consumer<InterleavedFrame> listener) {
        this.interleaved = listener;
        return this;
    }

    private volatile Consumer<InterleavedFrame> interleaved;

    /** Send a request (CSeq added) and get its response. */
    public CompletableFuture<RtspResponse> request(
            String method, String uri, RtspHeaders headers, byte[] body) {
        CompletableFuture<RtspResponse> f = new CompletableFuture<>();
        channel.eventLoop()
                .execute(
                        () -> {
                            if (!channel.isActive()) {
                                f.completeExceptionally(
                                        new IOException("connection closed before " + method));
                                return;
                            }
                            RtspHeaders h = headers == null ? new RtspHeaders() : headers;
                            send(new RtspRequest(method, uri, h, body), f, false);
                            channel.eventLoop()
                                    .schedule(
                                            () -> {
                                                if (f.completeExceptionally(
                                                        new IOException(
                                                                method
                                                                        + " "
                                                                        + uri
                                                                        + ": no response in "
                                                                        + timeout.toMillis()
                                                                        + " ms"))) {
                                                    channel.close();
                                                }
                                            },
                                            timeout.toMillis(),
                                            TimeUnit.MILLISECONDS);
                        });
        return f;
    }

    private void send(RtspRequest req, CompletableFuture<RtspResponse> f, boolean retried) {
        int n = ++cseq;
        RtspHeaders h = req.headers();
        h.set("CSeq", Integer.toString(n));
        h.set("User-Agent", "msm");
        if (auth != null) {
            h.set("Authorization", auth.answer(req.method(), req.uri()));
        }
        pending.add(new Pending(n, f, req, retried));
        channel.writeAndFlush(new RtspRequest(req.method(), req.uri(), h, req.body()));
    }

    public CompletableFuture<RtspResponse> request(String method, String uri, RtspHeaders headers) {
        return request(method, uri, headers, null);
    }

    /** A message from the server; the SimpleChannelInboundHandler releases it afterwards. */
    private void onMessage(RtspMessage msg) {
        if (msg instanceof RtspResponse r) {
            Pending p = pending.poll();
            if (p == null) {
                return;
            }
            String got = r.headers().getOrNull("CSeq");
            if (got != null && !got.trim().equals(Integer.toString(p.cseq))) {
                p.future.completeExceptionally(
                        new IOException(
                                "response CSeq " + got + " does not match request " + p.cseq));
                channel.close();
                return;
            }
            if (r.status() == 401 && user != null && !p.retried) {
                ClientAuth a =
                        ClientAuth.choose(
                                r.headers().fields().stream()
                                        .filter(x -> x.name().equalsIgnoreCase("WWW-Authenticate"))
                                        .map(RtspHeaders.Field::value)
                                        .toList(),
                                user,
                                password);
                if (a != null) {
                    auth = a;
                    send(p.request, p.future, true);
                    return;
                }
            }
            p.future.complete(r);
        } else if (msg instanceof InterleavedFrame fr) {
            Consumer<InterleavedFrame> l = interleaved;
            if (l != null) {
                l.accept(fr);
            }
        } else if (msg instanceof MalformedMessage m) {
            LoggerFactory.getLogger(RtspClient.class)
                    .debug("{}: malformed message: {}", remoteAddress(), m.why());
            onClosed(new IOException("malformed message from " + remoteAddress() + ": " + m.why()));
            channel.close();
        }
        // server requests are not expected: ignored
    }

    private void onClosed(IOException why) {
        Pending p;
        while ((p = pending.poll()) != null) {
            p.future.completeExceptionally(why);
        }
        closed.complete(null);
    }

    @Override
    public void close() {
        channel.close();
    }
}
