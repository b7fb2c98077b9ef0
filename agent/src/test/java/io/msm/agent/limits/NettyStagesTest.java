package io.msm.agent.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.LineBasedFrameDecoder;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class NettyStagesTest {
    final SimpleMeterRegistry reg = new SimpleMeterRegistry();
    final Refusals refusals =
            new Refusals(
                    reg,
                    "test",
                    Set.of(
                            ConnectionGate.PER_SOURCE,
                            ConnectionGate.TOTAL,
                            RequestDeadline.REASON));

    /** True when the server closed the connection (read gives EOF), false when it is still open. */
    static boolean closedByServer(Socket s) throws Exception {
        s.setSoTimeout(300);
        InputStream in = s.getInputStream(); // not closed here: that would close the socket
        try {
            return in.read() == -1;
        } catch (SocketTimeoutException e) {
            return false;
        }
    }

    @Test
    void connectionsOverASourcesCapAreClosedWhileAnotherSourceIsServed() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ConnectionGate gate = new ConnectionGate(new SourceLimiter(3, 100), refusals);
        List<Socket> open = new ArrayList<>();
        try {
            Channel server =
                    new ServerBootstrap()
                            .group(group)
                            .channel(NioServerSocketChannel.class)
                            .childHandler(
                                    new ChannelInitializer<>() {
                                        @Override
                                        protected void initChannel(Channel ch) {
                                            ch.pipeline()
                                                    .addLast(
                                                            gate,
                                                            new ChannelInboundHandlerAdapter());
                                        }
                                    })
                            .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                            .sync()
                            .channel();
            int port = ((InetSocketAddress) server.localAddress()).getPort();
            for (int i = 0; i < 3; i++) {
                open.add(new Socket(InetAddress.getLoopbackAddress(), port));
            }
            Socket fourth = new Socket(InetAddress.getLoopbackAddress(), port);
            open.add(fourth);
            assertTrue(closedByServer(fourth), "the fourth connection from 127.0.0.1 is closed");
            Socket other = new Socket();
            other.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.2"), 0));
            other.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            open.add(other);
            assertFalse(closedByServer(other), "127.0.0.2 has its own share");
            assertEquals(1, refusals.count(ConnectionGate.PER_SOURCE));
            open.get(0).close();
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (gate.limiter().total() != 3 && System.nanoTime() < until) {
                Thread.sleep(10);
            }
            assertEquals(3, gate.limiter().total(), "a closed connection gives its lease back");
            Socket again = new Socket(InetAddress.getLoopbackAddress(), port);
            open.add(again);
            assertFalse(closedByServer(again), "room again after one closed");
            server.close().sync();
        } finally {
            for (Socket s : open) {
                s.close();
            }
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void aRequestNotWholeByItsDeadlineClosesTheConnectionAndAWholeOneStopsTheClock() {
        RequestDeadline deadline = new RequestDeadline(Duration.ofSeconds(5), refusals);
        List<Object> got = new ArrayList<>();
        RequestDeadline.Stages st = deadline.stages();
        EmbeddedChannel ch =
                new EmbeddedChannel(
                        st.before(),
                        new LineBasedFrameDecoder(1024),
                        st.after(),
                        new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                got.add(msg);
                            }
                        });
        ch.writeInbound(Unpooled.copiedBuffer("OPTIONS * RTSP/1.0\n", StandardCharsets.US_ASCII));
        assertEquals(1, got.size());
        ch.advanceTimeBy(6, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        assertTrue(ch.isOpen(), "a whole request stops the clock");
        ch.writeInbound(Unpooled.copiedBuffer("OPTIONS * RT", StandardCharsets.US_ASCII));
        ch.advanceTimeBy(4, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        ch.writeInbound(Unpooled.copiedBuffer("S", StandardCharsets.US_ASCII));
        assertTrue(ch.isOpen(), "within the deadline");
        ch.advanceTimeBy(2, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        assertFalse(ch.isOpen(), "bytes trickling in do not move the deadline");
        assertEquals(1, refusals.count(RequestDeadline.REASON));
    }
}
