package io.msm.agent.media;

import io.msm.agent.upgrade.Sockets;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.DatagramPacket;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;

/** The UDP socket of one relay (Netty epoll, NIO fallback). */
final class RelaySocket {
    interface Receiver {
        void onDatagram(DatagramPacket p);

        /** End of a read burst: flush what was written. */
        default void onReadComplete() {}
    }

    final Channel channel;

    private RelaySocket(Channel channel) {
        this.channel = channel;
    }

    static RelaySocket bind(EventLoopGroup group, InetSocketAddress addr, Receiver receiver)
            throws IOException {
        Bootstrap b =
                new Bootstrap()
                        .group(group)
                        .option(ChannelOption.SO_RCVBUF, 4 << 20)
                        .option(ChannelOption.SO_SNDBUF, 4 << 20)
                        // a packet's copies go out as one burst (N x 1.2 kB): let Netty hold up to
                        // 2 MB of them
                        // while the socket's send buffer (net.core.wmem_max, often 208 kB) drains,
                        // instead of
                        // dropping copies whenever the kernel is a little late; past that, copies
                        // are dropped
                        .option(
                                ChannelOption.WRITE_BUFFER_WATER_MARK,
                                new WriteBufferWaterMark(512 << 10, 2 << 20))
                        .handler(
                                new SimpleChannelInboundHandler<DatagramPacket>() {
                                    @Override
                                    protected void channelRead0(
                                            ChannelHandlerContext ctx, DatagramPacket msg) {
                                        receiver.onDatagram(msg);
                                    }

                                    @Override
                                    public void channelReadComplete(ChannelHandlerContext ctx) {
                                        receiver.onReadComplete();
                                    }

                                    @Override
                                    public void exceptionCaught(
                                            ChannelHandlerContext ctx, Throwable cause) {
                                        // ICMP port unreachable and friends: a viewer went away;
                                        // nothing to do here
                                    }
                                });
        try {
            return new RelaySocket(Sockets.bind(b, Sockets.Kind.RELAY, addr));
        } catch (Exception e) {
            if (e instanceof BindException
                    || e.getCause() instanceof BindException
                    || String.valueOf(e.getMessage()).contains("Address already in use")) {
                throw new BindException("cannot bind UDP " + addr + ": " + e.getMessage());
            }
            throw new IOException("cannot bind UDP " + addr + ": " + e.getMessage(), e);
        }
    }

    /**
     * Queue one copy of content to viewer on out (the relay's own channel, flushed at the end of
     * the read burst, or a partner relay's, flushed now). A burst that fills the outbound buffer (2
     * MB, ~1700 copies of 1200 bytes) is flushed and goes on; a copy that still finds no room is
     * dropped — real-time media is not queued further. Returns false when dropped.
     */
    boolean writeCopy(Channel out, ByteBuf content, InetSocketAddress viewer) {
        if (out != null && !out.isWritable()) {
            out.flush();
        }
        if (out == null || !out.isWritable()) {
            return false;
        }
        out.write(new DatagramPacket(content.retainedDuplicate(), viewer));
        if (out != channel) {
            out.flush();
        }
        return true;
    }

    InetSocketAddress local() {
        return (InetSocketAddress) channel.localAddress();
    }

    void send(ByteBuf data, InetSocketAddress to) {
        channel.writeAndFlush(new DatagramPacket(data, to));
    }

    void close() {
        channel.close().syncUninterruptibly();
    }
}
