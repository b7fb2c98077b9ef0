package io.msm.agent.upgrade;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.msm.agent.net.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.UnixChannel;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.codec.string.StringDecoder;
import io.netty.handler.codec.string.StringEncoder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running agent's side of a {@link Handover}: listens on the handover socket (mode 0600; only
 * root or the agent's own uid may talk to it, checked with SO_PEERCRED), one handover at a time,
 * each bounded by a timeout after which the agent goes on.
 */
public final class HandoverServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HandoverServer.class);

    /** A request line longer than this is garbage. */
    static final int MAX_LINE = 4096;

    private final Path path;
    private final Duration timeout;
    private final List<Handover.Participant> participants;
    private final Runnable onReleased;
    private final int ownUid;
    private final EventLoopGroup group;
    private final ScheduledExecutorService worker;
    private final Channel server;
    private final Object lock = new Object();

    @GuardedBy("lock")
    private Attempt current;

    @GuardedBy("lock")
    private boolean released;

    /** refused requests (tests) */
    volatile int refusals;

    /** attempts that ended without a takeover (tests) */
    volatile int aborted;

    /**
     * Listen on {@code path} (a stale file there is replaced). {@code onReleased} runs once a
     * successor took over and every participant was released: the agent then stops.
     */
    public HandoverServer(
            Path path,
            Duration timeout,
            List<Handover.Participant> participants,
            Runnable onReleased)
            throws IOException {
        if (!Sockets.supported()) {
            throw new IOException("handover needs the epoll transport (" + Transport.name() + ")");
        }
        this.path = path;
        this.timeout = timeout;
        this.participants = List.copyOf(participants);
        this.onReleased = onReleased;
        this.ownUid = ownUid();
        Path dir = path.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        Files.deleteIfExists(path);
        this.group = Transport.group(1, "msm-handover");
        this.worker =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "msm-handover-worker");
                            t.setDaemon(true);
                            return t;
                        });
        try {
            server =
                    new ServerBootstrap()
                            .group(group)
                            .channel(EpollServerDomainSocketChannel.class)
                            .childHandler(
                                    new ChannelInitializer<Channel>() {
                                        @Override
                                        protected void initChannel(Channel ch) {
                                            ch.pipeline()
                                                    .addLast(
                                                            new LineBasedFrameDecoder(MAX_LINE),
                                                            new StringDecoder(
                                                                    StandardCharsets.UTF_8),
                                                            new StringEncoder(
                                                                    StandardCharsets.UTF_8),
                                                            new Conn());
                                        }
                                    })
                            .bind(new DomainSocketAddress(path.toFile()))
                            .syncUninterruptibly()
                            .channel();
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        } catch (RuntimeException | IOException e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            worker.shutdownNow();
            throw new IOException(
                    "cannot listen for handovers on " + path + " (upgrade.socket): " + e, e);
        }
    }

    static int ownUid() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    public Path path() {
        return path;
    }

    private static String error(String why) {
        ObjectNode o = Handover.JSON.createObjectNode();
        o.put("op", "error");
        o.put("error", why);
        return o + "\n";
    }

    private void refuse(Channel ch, String why) {
        refusals++;
        log.warn("handover request on {} refused: {}", path, why);
        ch.writeAndFlush(error(why)).addListener(ChannelFutureListener.CLOSE);
    }

    /** One accepted connection: the control connection of an attempt, or its descriptors'. */
    private final class Conn extends SimpleChannelInboundHandler<String> {
        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            int uid;
            try {
                uid = ((EpollDomainSocketChannel) ctx.channel()).peerCredentials().uid();
            } catch (IOException e) {
                refuse(ctx.channel(), "no peer credentials: " + e.getMessage());
                return;
            }
            if (uid != 0 && uid != ownUid) {
                refuse(
                        ctx.channel(),
                        "uid " + uid + " may not take over (root or uid " + ownUid + ")");
                return;
            }
            super.channelActive(ctx);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, String line) {
            JsonNode m;
            try {
                m = Handover.JSON.readTree(line);
            } catch (IOException e) {
                refuse(ctx.channel(), "not JSON");
                return;
            }
            String op = m == null ? "" : m.path("op").asText("");
            switch (op) {
                case "hello" -> hello(ctx.channel(), m);
                case "fds" -> fds(ctx.channel(), m.path("token").asText(""));
                case "ready" -> ready(ctx.channel());
                default -> refuse(ctx.channel(), "unknown request '" + op + "'");
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            Attempt a;
            synchronized (lock) {
                a = current;
            }
            if (a != null && a.control == ctx.channel()) {
                worker.execute(() -> abort(a, "the new agent went away before it confirmed"));
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            refuse(ctx.channel(), cause.getClass().getSimpleName() + ": " + cause.getMessage());
        }
    }

    private void hello(Channel ch, JsonNode m) {
        if (m.path("version").asInt(-1) != Handover.VERSION) {
            refuse(
                    ch,
                    "protocol version "
                            + m.path("version")
                            + ", this agent speaks "
                            + Handover.VERSION);
            return;
        }
        Attempt a;
        synchronized (lock) {
            if (released) {
                refuse(ch, "already handed over");
                return;
            }
            if (current != null) {
                refuse(ch, "busy: another handover is in progress");
                return;
            }
            a = new Attempt(ch);
            current = a;
        }
        worker.execute(a::offer);
    }

    private void fds(Channel ch, String token) {
        Attempt a;
        synchronized (lock) {
            a = current;
        }
        if (a == null || a.fds == null || !a.token.equals(token) || a.fdChannel != null) {
            refuse(ch, "no handover waits for its descriptors with that token");
            return;
        }
        a.fdChannel = ch;
        for (int fd : a.fds) {
            ch.write(new FileDescriptor(fd));
        }
        ch.flush();
        log.info("handover: passed {} descriptors", a.fds.size());
    }

    private void ready(Channel ch) {
        Attempt a;
        synchronized (lock) {
            a = current;
            if (a == null || a.control != ch || a.fdChannel == null || a.done) {
                a = null;
            } else {
                a.done = true;
                released = true;
            }
        }
        if (a == null) {
            refuse(ch, "nothing to confirm");
            return;
        }
        Attempt done = a;
        worker.execute(() -> release(done));
    }

    /** The successor took over: release everything, free the path, say goodbye, stop. */
    private void release(Attempt a) {
        if (a.timer != null) {
            a.timer.cancel(false);
        }
        // the relays stop only now: interleaved viewers were served until the successor was ready
        for (Sockets.Bound b : Sockets.bound()) {
            if (b.key().kind() == Sockets.Kind.RELAY) {
                pause(b.channel());
            }
        }
        for (Handover.Participant p : participants) {
            try {
                p.release();
            } catch (RuntimeException e) {
                log.warn("handover: releasing {}: {}", p.name(), e.toString());
            }
        }
        server.close().syncUninterruptibly();
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            log.warn("handover: cannot remove {}: {}", path, e.getMessage());
        }
        ObjectNode bye = Handover.JSON.createObjectNode().put("op", "bye");
        a.control.writeAndFlush(bye + "\n").syncUninterruptibly();
        a.control.close();
        log.info(
                "handover: the new agent took over {} socket(s) and {} connection(s); stopping",
                a.sockets,
                a.fds.size() - a.sockets);
        onReleased.run();
    }

    private void abort(Attempt a, String why) {
        synchronized (lock) {
            if (a.done || current != a) {
                return;
            }
            a.done = true;
            current = null;
        }
        aborted++;
        if (a.timer != null) {
            a.timer.cancel(false);
        }
        for (Channel ch : a.paused) {
            ch.eventLoop().execute(() -> ch.config().setAutoRead(true));
        }
        for (Handover.Participant p : a.quiesced) {
            try {
                p.resume();
            } catch (RuntimeException e) {
                log.warn("handover: resuming {}: {}", p.name(), e.toString());
            }
        }
        if (a.control.isOpen()) {
            a.control.writeAndFlush(error(why)).addListener(ChannelFutureListener.CLOSE);
        }
        if (a.fdChannel != null) {
            a.fdChannel.close();
        }
        log.warn("handover aborted ({}): this agent goes on serving", why);
    }

    /** Stop reading on {@code ch} and wait until its event loop has done so. */
    static void pause(Channel ch) {
        ch.eventLoop().submit(() -> ch.config().setAutoRead(false)).syncUninterruptibly();
    }

    /** One handover attempt. */
    private final class Attempt {
        final Channel control;
        final String token;
        final List<Channel> paused = new ArrayList<>();
        final List<Handover.Participant> quiesced = new ArrayList<>();
        volatile List<Integer> fds;
        volatile Channel fdChannel;
        volatile int sockets;
        volatile boolean done;
        volatile ScheduledFuture<?> timer;

        Attempt(Channel control) {
            this.control = control;
            byte[] b = new byte[16];
            new SecureRandom().nextBytes(b);
            this.token = HexFormat.of().formatHex(b);
        }

        /** Worker thread: quiesce, describe, send the state. */
        void offer() {
            timer =
                    worker.schedule(
                            () ->
                                    abort(
                                            this,
                                            "no confirmation within " + timeout.toMillis() + " ms"),
                            timeout.toMillis(),
                            TimeUnit.MILLISECONDS);
            try {
                ObjectNode msg = Handover.JSON.createObjectNode();
                msg.put("op", "state");
                msg.put("token", token);
                List<Integer> out = new ArrayList<>();
                ArrayNode socks = msg.putArray("sockets");
                // participants first: they stop their connections reading before the listeners
                // and relays stop
                ObjectNode services = Handover.JSON.createObjectNode();
                List<Handover.Offer> offers = new ArrayList<>();
                for (Handover.Participant p : participants) {
                    quiesced.add(p);
                    Handover.Offer o = p.quiesce();
                    offers.add(o);
                    ObjectNode s = services.putObject(p.name());
                    s.set("state", o.state());
                    s.put("connections", o.connections().size());
                }
                for (Sockets.Bound b : Sockets.bound()) {
                    if (b.key().kind() != Sockets.Kind.RELAY) {
                        pause(b.channel());
                        paused.add(b.channel());
                    }
                    ObjectNode s = socks.addObject();
                    s.put("kind", b.key().kind().name());
                    s.put("address", b.key().address());
                    out.add(b.fd());
                }
                sockets = out.size();
                for (Handover.Offer o : offers) {
                    for (Channel c : o.connections()) {
                        out.add(((UnixChannel) c).fd().intValue());
                    }
                }
                msg.set("services", services);
                fds = List.copyOf(out);
                control.writeAndFlush(msg + "\n");
                log.info(
                        "handover: a new agent asked to take over; reading stopped, {} socket(s) and {} connection(s) offered",
                        sockets,
                        out.size() - sockets);
            } catch (RuntimeException e) {
                log.warn("handover: cannot offer: {}", e.toString(), e);
                abort(this, "the old agent could not describe its state: " + e.getMessage());
            }
        }
    }

    @Override
    public void close() {
        boolean free;
        synchronized (lock) {
            free = !released;
        }
        server.close().syncUninterruptibly();
        if (free) {
            try {
                Files.deleteIfExists(path);
            } catch (IOException e) {
                // gone
            }
        }
        worker.shutdownNow();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
