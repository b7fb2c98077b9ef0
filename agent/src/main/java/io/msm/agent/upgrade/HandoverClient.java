package io.msm.agent.upgrade;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.msm.agent.net.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.DomainSocketReadMode;
import io.netty.channel.unix.FileDescriptor;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.codec.string.StringDecoder;
import io.netty.handler.codec.string.StringEncoder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The new agent's side of a {@link Handover}: asks the running agent for its sockets, connections
 * and state, and later confirms (or, by going away, lets the old agent go on).
 */
public final class HandoverClient implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HandoverClient.class);

    /** The largest state message accepted. */
    static final int MAX_STATE = 64 << 20;

    private final Duration timeout;
    private final EventLoopGroup group;
    private final Channel control;
    private final BlockingQueue<Object> lines = new LinkedBlockingQueue<>();
    private Channel fdChannel;
    private int sockets;
    private int connections;

    private HandoverClient(Path path, Duration timeout) throws IOException {
        this.timeout = timeout;
        this.group = Transport.group(1, "msm-handover-client");
        try {
            control =
                    new Bootstrap()
                            .group(group)
                            .channel(EpollDomainSocketChannel.class)
                            .handler(
                                    new ChannelInitializer<Channel>() {
                                        @Override
                                        protected void initChannel(Channel ch) {
                                            ch.pipeline()
                                                    .addLast(
                                                            new LineBasedFrameDecoder(MAX_STATE),
                                                            new StringDecoder(
                                                                    StandardCharsets.UTF_8),
                                                            new StringEncoder(
                                                                    StandardCharsets.UTF_8),
                                                            new Queue(lines));
                                        }
                                    })
                            .connect(new DomainSocketAddress(path.toFile()))
                            .syncUninterruptibly()
                            .channel();
        } catch (RuntimeException e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw new IOException(e.getMessage(), e);
        }
    }

    /** Hands what a channel reads to a queue; the end of the connection as {@link #CLOSED}. */
    private static final class Queue extends SimpleChannelInboundHandler<Object> {
        private final BlockingQueue<Object> q;

        Queue(BlockingQueue<Object> q) {
            this.q = q;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Object msg) {
            q.add(msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            q.add(CLOSED);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            q.add(cause);
            ctx.close();
        }
    }

    private static final Object CLOSED = new Object();

    /**
     * Take over from the agent listening on {@code path}: null when none listens there (no file, or
     * a stale one nobody accepts on); else the handover, whose sockets {@link Sockets#bind} and
     * whose state {@link Handover#take} now give out. Throws when an agent is there but refuses or
     * fails.
     */
    public static HandoverClient takeOver(Path path, Duration timeout) throws IOException {
        if (!Files.exists(path)) {
            return null;
        }
        if (!Sockets.supported()) {
            throw new IOException("handover needs the epoll transport (" + Transport.name() + ")");
        }
        HandoverClient c;
        try {
            c = new HandoverClient(path, timeout);
        } catch (IOException e) {
            log.info("handover: nobody answers on {} ({}): starting afresh", path, e.getMessage());
            return null;
        }
        try {
            c.run();
            return c;
        } catch (IOException | RuntimeException e) {
            c.abort();
            throw e;
        }
    }

    private JsonNode next() throws IOException {
        Object o;
        try {
            o = lines.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        if (o == null) {
            throw new IOException(
                    "the running agent did not answer within " + timeout.toMillis() + " ms");
        }
        if (o == CLOSED) {
            throw new IOException("the running agent closed the handover connection");
        }
        if (o instanceof Throwable t) {
            throw new IOException("handover connection: " + t, t);
        }
        JsonNode m = Handover.JSON.readTree((String) o);
        if ("error".equals(m.path("op").asText())) {
            throw new IOException(
                    "the running agent refused the handover: " + m.path("error").asText());
        }
        return m;
    }

    private void run() throws IOException {
        ObjectNode hello = Handover.JSON.createObjectNode();
        hello.put("op", "hello");
        hello.put("version", Handover.VERSION);
        hello.put("pid", ProcessHandle.current().pid());
        control.writeAndFlush(hello + "\n");
        JsonNode st = next();
        if (!"state".equals(st.path("op").asText())) {
            throw new IOException("unexpected answer " + st.path("op"));
        }
        List<Sockets.Key> keys = new ArrayList<>();
        for (JsonNode s : st.path("sockets")) {
            keys.add(
                    new Sockets.Key(
                            Sockets.Kind.valueOf(s.path("kind").asText()),
                            s.path("address").asText()));
        }
        sockets = keys.size();
        Map<String, JsonNode> states = new LinkedHashMap<>();
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = st.path("services").fields();
                it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            states.put(e.getKey(), e.getValue().path("state"));
            counts.put(e.getKey(), e.getValue().path("connections").asInt());
            connections += e.getValue().path("connections").asInt();
        }
        List<Integer> fds = receiveFds(st.path("token").asText(), sockets + connections);
        Map<Sockets.Key, Integer> socks = new LinkedHashMap<>();
        for (int i = 0; i < keys.size(); i++) {
            socks.put(keys.get(i), fds.get(i));
        }
        Sockets.inherit(socks);
        Map<String, Handover.Received> parts = new LinkedHashMap<>();
        int at = sockets;
        for (Map.Entry<String, JsonNode> e : states.entrySet()) {
            int n = counts.get(e.getKey());
            parts.put(
                    e.getKey(),
                    new Handover.Received(e.getValue(), List.copyOf(fds.subList(at, at + n))));
            at += n;
        }
        Handover.receive(parts);
        log.info(
                "handover: received {} socket(s) and {} connection(s) from the running agent",
                sockets,
                connections);
    }

    private List<Integer> receiveFds(String token, int n) throws IOException {
        BlockingQueue<Object> q = new LinkedBlockingQueue<>();
        Path p = Path.of(((DomainSocketAddress) control.remoteAddress()).path());
        try {
            fdChannel =
                    new Bootstrap()
                            .group(group)
                            .channel(EpollDomainSocketChannel.class)
                            .option(
                                    EpollChannelOption.DOMAIN_SOCKET_READ_MODE,
                                    DomainSocketReadMode.FILE_DESCRIPTORS)
                            .handler(
                                    new ChannelInitializer<Channel>() {
                                        @Override
                                        protected void initChannel(Channel ch) {
                                            ch.pipeline()
                                                    .addLast(
                                                            new StringEncoder(
                                                                    StandardCharsets.UTF_8),
                                                            new Queue(q));
                                        }
                                    })
                            .connect(new DomainSocketAddress(p.toFile()))
                            .syncUninterruptibly()
                            .channel();
        } catch (RuntimeException e) {
            throw new IOException("cannot connect for descriptors: " + e.getMessage(), e);
        }
        ObjectNode m = Handover.JSON.createObjectNode();
        m.put("op", "fds");
        m.put("token", token);
        fdChannel.writeAndFlush(m + "\n");
        List<Integer> fds = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (fds.size() < n) {
                Object o = q.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (o instanceof FileDescriptor fd) {
                    fds.add(fd.intValue());
                } else {
                    fds.forEach(Fds::close);
                    throw new IOException(
                            o == null
                                    ? "timed out after " + fds.size() + " of " + n + " descriptors"
                                    : "descriptor connection ended after "
                                            + fds.size()
                                            + " of "
                                            + n);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fds.forEach(Fds::close);
            throw new IOException("interrupted");
        }
        return fds;
    }

    /** Sockets passed. */
    public int sockets() {
        return sockets;
    }

    /** Connections passed. */
    public int connections() {
        return connections;
    }

    /**
     * Everything was adopted: what nobody adopted is closed, the old agent is told and waited for
     * (it has released all and freed the socket path when this returns).
     */
    public void confirm() throws IOException {
        List<Sockets.Key> left = Sockets.closeUnclaimed();
        if (!left.isEmpty()) {
            log.info("handover: not adopted (closed): {}", left);
        }
        Handover.closeUntaken();
        control.writeAndFlush("{\"op\":\"ready\"}\n");
        JsonNode bye = next();
        if (!"bye".equals(bye.path("op").asText())) {
            throw new IOException("unexpected answer " + bye.path("op"));
        }
        Handover.go();
        close();
    }

    /** Taking over failed: the old agent goes on (it sees this connection close). */
    public void abort() {
        close();
        Sockets.closeUnclaimed();
        Handover.closeUntaken();
    }

    @Override
    public void close() {
        control.close().syncUninterruptibly();
        if (fdChannel != null) {
            fdChannel.close().syncUninterruptibly();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
