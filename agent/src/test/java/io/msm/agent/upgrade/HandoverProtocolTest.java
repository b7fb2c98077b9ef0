package io.msm.agent.upgrade;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.msm.agent.net.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The handover protocol between two agents (here both in this JVM): a listening socket passes and
 * keeps accepting, garbage and a second handover are refused, and an old agent whose successor goes
 * away or never confirms goes on.
 */
class HandoverProtocolTest {
    static final InetAddress LO = InetAddress.getLoopbackAddress();

    @TempDir Path dir;
    final List<AutoCloseable> closers = new ArrayList<>();
    EventLoopGroup group;

    /** A participant that counts what the handover asked of it. */
    static final class Counting implements Handover.Participant {
        final AtomicInteger quiesced = new AtomicInteger();
        final AtomicInteger resumed = new AtomicInteger();
        final AtomicInteger released = new AtomicInteger();

        @Override
        public String name() {
            return "test";
        }

        @Override
        public Handover.Offer quiesce() {
            quiesced.incrementAndGet();
            return new Handover.Offer(
                    JsonNodeFactory.instance.objectNode().put("hello", "world"), List.of());
        }

        @Override
        public void resume() {
            resumed.incrementAndGet();
        }

        @Override
        public void release() {
            released.incrementAndGet();
        }
    }

    @BeforeEach
    void setUp() {
        assumeTrue(Sockets.supported(), "epoll");
        group = Transport.group(1, "handover-test");
    }

    @AfterEach
    void tearDown() {
        for (int i = closers.size() - 1; i >= 0; i--) {
            try {
                closers.get(i).close();
            } catch (Exception ignored) {
                // best effort
            }
        }
        Sockets.closeUnclaimed();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    /** Answers each connection with one letter. */
    @ChannelHandler.Sharable
    static final class Answer extends ChannelInboundHandlerAdapter {
        final String answer;

        Answer(String answer) {
            this.answer = answer;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(
                    ctx.alloc().buffer().writeBytes(answer.getBytes(StandardCharsets.US_ASCII)));
        }
    }

    /** A listener bound through {@link Sockets}, answering each connection with "A" or "B". */
    Channel listener(int port, String answer) {
        Channel ch =
                Sockets.bind(
                        new ServerBootstrap().group(group).childHandler(new Answer(answer)),
                        Sockets.Kind.TCP_LISTEN,
                        new InetSocketAddress(LO, port));
        closers.add(() -> ch.close().syncUninterruptibly());
        return ch;
    }

    static String answer(int port) throws IOException {
        try (Socket s = new Socket(LO, port)) {
            s.setSoTimeout(3000);
            return new String(s.getInputStream().readNBytes(1), StandardCharsets.US_ASCII);
        }
    }

    static int freePort() throws IOException {
        try (var s = new ServerSocket(0, 1, LO)) {
            return s.getLocalPort();
        }
    }

    HandoverServer server(Path sock, Counting p, Duration timeout, Runnable onReleased)
            throws IOException {
        HandoverServer s = new HandoverServer(sock, timeout, List.of(p), onReleased);
        closers.add(s);
        return s;
    }

    @Test
    void aListenerIsHandedOverAndTheOldAgentIsReleased() throws Exception {
        int port = freePort();
        Channel old = listener(port, "A");
        assertEquals("A", answer(port));
        Path sock = dir.resolve("handover.sock");
        Counting p = new Counting();
        CountDownLatch released = new CountDownLatch(1);
        server(sock, p, Duration.ofSeconds(5), released::countDown);
        assertEquals(
                "rw-------",
                PosixFilePermissions.toString(Files.getPosixFilePermissions(sock)),
                "only the agent's uid may connect");

        HandoverClient c = HandoverClient.takeOver(sock, Duration.ofSeconds(5));
        assertTrue(c != null, "an agent listens");
        assertEquals(1, p.quiesced.get());
        Handover.Received r = Handover.take("test");
        assertEquals("world", r.state().path("hello").asText());
        // while the handover runs, connecting is not refused: the kernel queues the connection
        // until the new agent accepts on the same socket
        Socket early = new Socket(LO, port);
        closers.add(early);
        listener(port, "B"); // adopts the passed socket instead of binding
        c.confirm();
        assertTrue(released.await(5, TimeUnit.SECONDS), "the old agent was told to stop");
        assertEquals(1, p.released.get());
        assertEquals(0, p.resumed.get());
        old.close().syncUninterruptibly(); // the old agent closes its copy: the socket stays
        early.setSoTimeout(3000);
        assertEquals(
                "B", new String(early.getInputStream().readNBytes(1), StandardCharsets.US_ASCII));
        assertEquals("B", answer(port));
        assertTrue(Files.notExists(sock), "the old agent freed the socket path");
    }

    @Test
    void noAgentThereMeansAFreshStart() throws Exception {
        assertNull(HandoverClient.takeOver(dir.resolve("none.sock"), Duration.ofSeconds(1)));
        // a stale file nobody listens on
        Path stale = dir.resolve("stale.sock");
        try (ServerSocketChannel srv = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            srv.bind(UnixDomainSocketAddress.of(stale));
        }
        assertNull(HandoverClient.takeOver(stale, Duration.ofSeconds(1)));
    }

    @Test
    void theOldAgentGoesOnWhenTheNewOneGoesAway() throws Exception {
        int port = freePort();
        listener(port, "A");
        Path sock = dir.resolve("handover.sock");
        Counting p = new Counting();
        HandoverServer s = server(sock, p, Duration.ofSeconds(10), () -> {});
        HandoverClient c = HandoverClient.takeOver(sock, Duration.ofSeconds(5));
        c.abort(); // dies before it confirms
        waitFor(() -> p.resumed.get() == 1, "resumed");
        assertEquals(0, p.released.get());
        assertEquals(1, s.aborted);
        assertEquals("A", answer(port), "the old listener accepts again");
        // and a later handover may run
        HandoverClient again = HandoverClient.takeOver(sock, Duration.ofSeconds(5));
        again.abort();
        waitFor(() -> p.resumed.get() == 2, "resumed twice");
    }

    @Test
    void theOldAgentGoesOnWhenNoConfirmationComesInTime() throws Exception {
        int port = freePort();
        listener(port, "A");
        Path sock = dir.resolve("handover.sock");
        Counting p = new Counting();
        HandoverServer s = server(sock, p, Duration.ofMillis(300), () -> {});
        HandoverClient c = HandoverClient.takeOver(sock, Duration.ofSeconds(5));
        closers.add(c);
        waitFor(() -> p.resumed.get() == 1, "resumed after the timeout");
        assertEquals(1, s.aborted);
        assertEquals("A", answer(port));
        assertThrows(IOException.class, c::confirm, "too late");
        assertEquals(0, p.released.get());
    }

    @Test
    void aSecondHandoverAtTheSameTimeIsRefused() throws Exception {
        Path sock = dir.resolve("handover.sock");
        Counting p = new Counting();
        HandoverServer s = server(sock, p, Duration.ofSeconds(10), () -> {});
        HandoverClient first = HandoverClient.takeOver(sock, Duration.ofSeconds(5));
        closers.add(first);
        IOException e =
                assertThrows(
                        IOException.class,
                        () -> HandoverClient.takeOver(sock, Duration.ofSeconds(5)));
        assertTrue(e.getMessage().contains("busy"), e.getMessage());
        assertEquals(1, p.quiesced.get(), "the second did not quiesce anything");
        assertEquals(1, s.refusals);
    }

    @Test
    void garbageIsRefusedAndChangesNothing() throws Exception {
        Path sock = dir.resolve("handover.sock");
        Counting p = new Counting();
        HandoverServer s = server(sock, p, Duration.ofSeconds(10), () -> {});
        assertTrue(raw(sock, "this is not json\n").contains("not JSON"));
        assertTrue(raw(sock, "{\"op\":\"ready\"}\n").contains("nothing to confirm"));
        assertTrue(raw(sock, "{\"op\":\"fds\",\"token\":\"x\"}\n").contains("no handover"));
        assertTrue(raw(sock, "{\"op\":\"hello\",\"version\":99}\n").contains("protocol version"));
        assertTrue(raw(sock, "{\"op\":\"format c:\"}\n").contains("unknown request"));
        String longLine = "x".repeat(HandoverServer.MAX_LINE + 10) + "\n";
        raw(sock, longLine); // closed
        assertEquals(0, p.quiesced.get());
        assertTrue(s.refusals >= 5);
        // still serves a real handover
        HandoverClient c = HandoverClient.takeOver(sock, Duration.ofSeconds(5));
        assertEquals(1, p.quiesced.get());
        c.abort();
    }

    @Test
    void aStrangersUidIsRefused() throws Exception {
        assumeTrue(HandoverServer.ownUid() == 0, "needs root to act as another uid");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "python3");
        Path sock = dir.resolve("handover.sock");
        Counting p = new Counting();
        server(sock, p, Duration.ofSeconds(10), () -> {});
        // the file mode keeps others out; past it (a copy of the socket's path with wider
        // permissions would be), SO_PEERCRED does
        Files.setPosixFilePermissions(sock, PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Process py =
                new ProcessBuilder(
                                "/usr/bin/python3",
                                "-c",
                                "import os,socket,sys\n"
                                        + "os.setgid(65534); os.setuid(65534)\n"
                                        + "s=socket.socket(socket.AF_UNIX)\n"
                                        + "s.connect(sys.argv[1])\n"
                                        + "print(s.recv(4096).decode())\n",
                                sock.toString())
                        .redirectErrorStream(true)
                        .start();
        String out = new String(py.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        py.waitFor(10, TimeUnit.SECONDS);
        assertTrue(out.contains("uid 65534 may not take over"), out);
        assertEquals(0, p.quiesced.get());
    }

    static String raw(Path sock, String line) throws IOException {
        try (SocketChannel s = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
            s.write(ByteBuffer.wrap(line.getBytes(StandardCharsets.UTF_8)));
            BufferedReader in =
                    new BufferedReader(
                            new InputStreamReader(
                                    Channels.newInputStream(s), StandardCharsets.UTF_8));
            String l = in.readLine();
            return l == null ? "" : l;
        } catch (IOException e) {
            return "closed: " + e.getMessage();
        }
    }

    static void waitFor(BooleanSupplier c, String what) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting: " + what);
            }
            Thread.sleep(20);
        }
    }
}
