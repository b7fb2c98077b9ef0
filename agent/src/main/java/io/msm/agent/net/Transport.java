package io.msm.agent.net;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * Netty's native epoll transport where it loads (Linux), NIO otherwise — one place that decides,
 * for the media relays and both proxies.
 */
public final class Transport {
    private static final boolean EPOLL = !Boolean.getBoolean("msm.nio") && Epoll.isAvailable();

    private Transport() {}

    /** "epoll" or "nio" (with the reason epoll is unavailable). */
    public static String name() {
        if (EPOLL) {
            return "epoll";
        }
        Throwable why = Epoll.unavailabilityCause();
        return "nio"
                + (why != null && !Boolean.getBoolean("msm.nio")
                        ? " (epoll unavailable: " + why.getMessage() + ")"
                        : "");
    }

    public static boolean epoll() {
        return EPOLL;
    }

    public static EventLoopGroup group(int threads, String name) {
        IoHandlerFactory f = EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), f);
    }

    public static Class<? extends Channel> datagram() {
        return EPOLL ? EpollDatagramChannel.class : NioDatagramChannel.class;
    }

    public static Class<? extends ServerChannel> server() {
        return EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    public static Class<? extends Channel> socket() {
        return EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
    }
}
