package io.msm.kernel.game;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.game.GameTables;
import io.msm.agent.game.GameTables.Backend;
import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.attach.TcIngress;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.GameService;
import io.msm.bpf.maps.GameSession;
import io.msm.bpf.maps.PortTable;
import io.msm.testkit.KernelTest;
import io.msm.testkit.KernelTestCondition;
import io.msm.testkit.StarTopology;
import io.msm.testkit.StarTopology.Receiver;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Real KCP: kcptun's client (sender namespace) and servers (two backend namespaces) through a game
 * service keyed by KCP conversation id. A TCP stream tunnelled over KCP arrives intact, and keeps
 * arriving on the same backend after the client's UDP source port changes mid-stream — the client
 * reaches the service through a small UDP forwarder in its namespace that switches to a new source
 * port halfway, as a NAT rebinding does.
 *
 * <p>kcptun runs with --crypt none (kcp-go's NoneBlockCrypt: a 16-byte nonce and a CRC32 before the
 * KCP segment, so the conversation id is at offset 20) and no FEC (--datashard 0 --parityshard 0,
 * no FEC header).
 */
// real processes (agents, players, kcptun) in real time: too slow under TCG for the CI VM run
@Tag("vm-slow")
@KernelTest
class KcptunRebindTest {
    static final int SVC_PORT = 4000;
    static final int KCP_PORT = 4000;
    static final int SINK_PORT = 5000;
    static final int CLIENT_TCP = 6000;
    static final int FWD_PORT = 7000;
    static final int MB = 4;

    static StarTopology topo;
    static Datapath dp;
    static GameTables tables;
    static final List<Process> procs = new ArrayList<>();
    static final List<ServerSocket> sinks = new ArrayList<>();
    static final List<AtomicReference<byte[]>> digests = new ArrayList<>();

    @BeforeAll
    static void setUp() throws IOException {
        KernelTestCondition.requireTools("kcptun-client", "kcptun-server");
        topo = StarTopology.create(2);
        dp = Datapath.load(DatapathSpec.DEFAULT.withFlows(4096).withGroups(8).withSubIds(64));
        DatapathConfig d = DatapathConfig.defaults();
        dp.configure(
                new DatapathConfig(
                        d.flags() | DatapathConfig.F_GAME,
                        d.newflowRate(),
                        d.newflowBurst(),
                        d.clockRates()),
                PortTable.defaults());
        attach(StarTopology.NODE_IN_IF);
        List<Backend> backends = new ArrayList<>();
        for (Receiver r : topo.receivers) {
            attach(r.nodeIf());
            r.ns().ip("route", "add", "default", "via", r.nodeAddr().getHostAddress());
            r.ns().ip("link", "set", "lo", "up");
            AtomicReference<byte[]> digest = new AtomicReference<>();
            digests.add(digest);
            ServerSocket ss =
                    r.ns().call(
                                    () ->
                                            new ServerSocket(
                                                    SINK_PORT,
                                                    4,
                                                    InetAddress.getLoopbackAddress()));
            sinks.add(ss);
            Thread t = new Thread(() -> sink(ss, digest), "sink-" + r.index());
            t.setDaemon(true);
            t.start();
            procs.add(
                    start(
                            r.ns().name(),
                            "kcptun-server",
                            "-l",
                            r.addr().getHostAddress() + ":" + KCP_PORT,
                            "-t",
                            "127.0.0.1:" + SINK_PORT));
            backends.add(new Backend(r.addr(), KCP_PORT, 1, null));
        }
        tables = new GameTables(dp);
        tables.apply(
                List.of(
                        new GameTables.Service(
                                "games/kcp",
                                StarTopology.NODE_IN_ADDR,
                                SVC_PORT,
                                GameService.F_KCP,
                                20,
                                0,
                                Duration.ofSeconds(60),
                                backends)));
        topo.sender.ip("link", "set", "lo", "up");
        procs.add(
                start(
                        topo.sender.name(),
                        "kcptun-client",
                        "-l",
                        "127.0.0.1:" + CLIENT_TCP,
                        "-r",
                        "127.0.0.1:" + FWD_PORT));
    }

    static Process start(String ns, String prog, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, prog));
        cmd.addAll(List.of(args));
        cmd.addAll(
                List.of(
                        "--crypt",
                        "none",
                        "--datashard",
                        "0",
                        "--parityshard",
                        "0",
                        "--nocomp",
                        "--quiet"));
        return new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
    }

    static void attach(String ifname) {
        int ifindex = topo.node.ifindex(ifname);
        topo.node.run(
                () ->
                        TcIngress.attach(
                                ifindex,
                                dp.progFd(Datapath.PROG_TC),
                                TcIngress.DEFAULT_HANDLE,
                                TcIngress.DEFAULT_PRIORITY,
                                false));
    }

    static void sink(ServerSocket ss, AtomicReference<byte[]> digest) {
        try (Socket s = ss.accept();
                InputStream in = s.getInputStream()) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] b = new byte[65536];
            long total = 0;
            int n;
            while (total < MB << 20 && (n = in.read(b)) > 0) {
                md.update(b, 0, n);
                total += n;
            }
            digest.set(md.digest());
        } catch (Exception e) {
            // the test sees no digest
        }
    }

    @AfterAll
    static void tearDown() throws IOException {
        for (Process p : procs) {
            p.destroy();
        }
        for (ServerSocket s : sinks) {
            s.close();
        }
        if (dp != null) {
            dp.close();
        }
        if (topo != null) {
            topo.close();
        }
    }

    /** The client's NAT: kcptun-client -> 127.0.0.1:FWD_PORT -> service, from a port it changes. */
    static final class Rebinder implements AutoCloseable {
        final DatagramSocket local;
        volatile DatagramSocket out;
        volatile SocketAddress client;
        final List<Thread> threads = new ArrayList<>();
        volatile boolean closed;

        Rebinder() {
            local =
                    topo.sender.call(
                            () -> new DatagramSocket(new InetSocketAddress("127.0.0.1", FWD_PORT)));
            out = outSocket(41000);
            Thread up = new Thread(this::up, "rebinder-up");
            up.setDaemon(true);
            up.start();
            threads.add(up);
            down(out);
        }

        DatagramSocket outSocket(int port) {
            return topo.sender.call(
                    () ->
                            new DatagramSocket(
                                    new InetSocketAddress(StarTopology.SENDER_ADDR, port)));
        }

        void up() {
            byte[] b = new byte[2048];
            InetSocketAddress svc = new InetSocketAddress(StarTopology.NODE_IN_ADDR, SVC_PORT);
            try {
                while (!closed) {
                    DatagramPacket p = new DatagramPacket(b, b.length);
                    local.receive(p);
                    client = p.getSocketAddress();
                    out.send(new DatagramPacket(b, p.getLength(), svc));
                }
            } catch (IOException e) {
                // closed
            }
        }

        void down(DatagramSocket s) {
            Thread t =
                    new Thread(
                            () -> {
                                byte[] b = new byte[2048];
                                try {
                                    while (!closed) {
                                        DatagramPacket p = new DatagramPacket(b, b.length);
                                        s.receive(p);
                                        SocketAddress c = client;
                                        if (c != null) {
                                            local.send(new DatagramPacket(b, p.getLength(), c));
                                        }
                                    }
                                } catch (IOException e) {
                                    // closed
                                }
                            },
                            "rebinder-down");
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }

        /** a new source port; the old socket stays open a moment (late replies go nowhere) */
        void rebind(int port) {
            DatagramSocket old = out;
            DatagramSocket n = outSocket(port);
            down(n);
            out = n;
            old.close();
        }

        @Override
        public void close() {
            closed = true;
            local.close();
            out.close();
        }
    }

    @Test
    void tcpOverKcpArrivesIntactAcrossASourcePortChange() throws Exception {
        byte[] data = new byte[MB << 20];
        new Random(18).nextBytes(data);
        byte[] want = MessageDigest.getInstance("SHA-256").digest(data);
        try (Rebinder nat = new Rebinder()) {
            Socket s =
                    topo.sender.call(
                            () -> {
                                for (int i = 0; ; i++) {
                                    try {
                                        return new Socket("127.0.0.1", CLIENT_TCP);
                                    } catch (SocketException e) {
                                        if (i > 50) {
                                            throw e;
                                        }
                                        Thread.sleep(100);
                                    }
                                }
                            });
            CompletableFuture<Void> w =
                    CompletableFuture.runAsync(
                            () -> {
                                try (OutputStream o = s.getOutputStream()) {
                                    int half = data.length / 2;
                                    o.write(data, 0, half);
                                    o.flush();
                                    Thread.sleep(300);
                                    nat.rebind(42000);
                                    o.write(data, half, data.length - half);
                                    o.flush();
                                    Thread.sleep(2000);
                                } catch (Exception e) {
                                    throw new IllegalStateException(e);
                                }
                            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (digests.stream().allMatch(d -> d.get() == null)
                    && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            w.get(60, TimeUnit.SECONDS);
            s.close();
        }
        int got = digests.get(0).get() != null ? 0 : 1;
        assertArrayEquals(want, digests.get(got).get(), "stream intact on backend " + got);
        List<GameSession> sessions = new ArrayList<>();
        dp.gameSessions().forEach((k, v) -> sessions.add(v));
        assertEquals(1, sessions.size(), sessions.toString());
        GameSession g = sessions.get(0);
        assertEquals(41000, g.origPort());
        assertEquals(42000, g.curPort());
        assertTrue(g.rebinds() >= 1);
        assertEquals(
                tables.backendId("games/kcp", topo.receivers.get(got).addr(), KCP_PORT),
                g.backend());
    }
}
