package io.msm.agent.upgrade;

import io.msm.agent.net.Transport;
import io.netty.bootstrap.AbstractBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.unix.UnixChannel;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's bound sockets — listeners (RTSP, RTSPS, SIP, HTTP) and UDP sockets (SIP, media
 * relays) — as a handover sees them: every service binds through {@link #bind}, so the running
 * agent knows which sockets to pass to its successor, and the successor adopts a passed socket
 * instead of binding a new one (which would fail: the old agent still holds the port).
 *
 * <p>One per process (the agent is one per node); tests that run two agents in one JVM cannot hand
 * over between them.
 */
public final class Sockets {
    private static final Logger log = LoggerFactory.getLogger(Sockets.class);

    /** What a socket is. */
    public enum Kind {
        TCP_LISTEN,
        UDP,
        /**
         * a media relay's UDP socket: the old agent reads it until the new one confirmed (its
         * interleaved viewers are served meanwhile); the new one reads it from then on
         */
        RELAY
    }

    /** A bound socket by what it was asked to bind: {@code kind host:port}. */
    public record Key(Kind kind, String address) {
        static Key of(Kind kind, InetSocketAddress requested, InetSocketAddress actual) {
            int port = requested.getPort() != 0 ? requested.getPort() : actual.getPort();
            return new Key(kind, requested.getAddress().getHostAddress() + ":" + port);
        }

        @Override
        public String toString() {
            return kind.name().toLowerCase(Locale.ROOT) + " " + address;
        }
    }

    /** sockets this agent bound (or adopted) and has not closed */
    private static final Map<Channel, Key> bound = new ConcurrentHashMap<>();

    /** relay sockets adopted, not reading until the old agent stopped reading them */
    private static final List<Channel> held = new CopyOnWriteArrayList<>();

    /** sockets passed by the previous agent, not yet adopted */
    private static final Map<Key, Integer> inherited = new ConcurrentHashMap<>();

    private Sockets() {}

    /**
     * Bind {@code b} (whose channel type this sets: {@link Transport#server()} or {@link
     * Transport#datagram()}) to {@code addr}, or adopt the socket the previous agent passed for it;
     * the channel is remembered until it closes. Blocks until bound; failures are thrown as Netty
     * throws them.
     */
    @SuppressWarnings("unchecked")
    public static <B extends AbstractBootstrap<B, C>, C extends Channel> Channel bind(
            AbstractBootstrap<B, C> b, Kind kind, InetSocketAddress addr) {
        Integer fd = addr.getPort() == 0 ? null : inherited.remove(Key.of(kind, addr, addr));
        Channel ch;
        if (fd != null) {
            int f = fd;
            b.channelFactory(
                    () ->
                            (C)
                                    (kind == Kind.TCP_LISTEN
                                            ? new EpollServerSocketChannel(f)
                                            : new EpollDatagramChannel(f)));
            if (kind == Kind.RELAY) {
                b.option(ChannelOption.AUTO_READ, false);
            }
            ChannelFuture cf = b.register().syncUninterruptibly();
            ch = cf.channel();
            if (kind == Kind.RELAY) {
                held.add(ch);
            }
            log.debug("adopted {} from the previous agent (fd {})", Key.of(kind, addr, addr), f);
        } else {
            b.channel(
                    (Class<? extends C>)
                            (kind == Kind.TCP_LISTEN ? Transport.server() : Transport.datagram()));
            ch = b.bind(addr).syncUninterruptibly().channel();
        }
        remember(ch, Key.of(kind, addr, (InetSocketAddress) ch.localAddress()));
        return ch;
    }

    private static void remember(Channel ch, Key key) {
        if (!(ch instanceof UnixChannel)) {
            return; // NIO: nothing to pass
        }
        bound.put(ch, key);
        ch.closeFuture().addListener(f -> bound.remove(ch));
    }

    /** A bound socket and its file descriptor. */
    public record Bound(Channel channel, Key key, int fd) {}

    /** The sockets to pass to a successor. */
    public static List<Bound> bound() {
        List<Bound> out = new ArrayList<>();
        bound.forEach(
                (ch, k) -> {
                    if (ch.isOpen()) {
                        out.add(new Bound(ch, k, ((UnixChannel) ch).fd().intValue()));
                    }
                });
        return out;
    }

    /** The previous agent passed these sockets: {@link #bind} adopts them. */
    public static void inherit(Map<Key, Integer> fds) {
        inherited.putAll(fds);
    }

    /** The old agent stopped reading: the adopted relay sockets read from now on. */
    public static void startReading() {
        for (Channel ch : held) {
            ch.config().setAutoRead(true);
        }
        held.clear();
    }

    /** Sockets the previous agent passed that nobody adopted: closed (returned for the log). */
    public static List<Key> closeUnclaimed() {
        List<Key> out = new ArrayList<>();
        for (Map.Entry<Key, Integer> e : Map.copyOf(inherited).entrySet()) {
            if (inherited.remove(e.getKey(), e.getValue())) {
                Fds.close(e.getValue());
                out.add(e.getKey());
            }
        }
        return out;
    }

    /** Whether handing sockets over is possible here (epoll: sockets have descriptors). */
    public static boolean supported() {
        return Transport.epoll();
    }
}
