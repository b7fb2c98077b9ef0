package io.msm.kernel.agent;

import static io.msm.testkit.Timeouts.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.bpf.Datapath;
import io.msm.bpf.attach.TcIngress;
import io.msm.bpf.attach.Xdp;
import io.msm.bpf.attach.XdpMode;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.testkit.AgentProcess;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Netns;
import io.msm.testkit.Packets;
import io.msm.testkit.PromText;
import io.msm.testkit.Sh;
import io.msm.testkit.StarTopology;
import io.msm.testkit.StaticStreamBed;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The agent as a real process in the node namespace, with a static fan-out from its config: packets
 * keep reaching every receiver while the agent is killed with SIGKILL and after it restarts; the
 * restarted agent adopts the pinned datapath and its group instead of duplicating them; /metrics
 * parses and matches the traffic; cleanup leaves nothing behind.
 */
@KernelTest
class AgentRestartTest {
    static final int N = 4;
    static final String METRICS = "127.0.0.1:19469";
    static StaticStreamBed bed;
    static StarTopology topo;
    static Path bpffs;

    @BeforeAll
    static void setUp() {
        bed =
                StaticStreamBed.create(
                        N,
                        List.of(
                                "rtsp-listen: 127.0.0.1:18554",
                                "sip-listen: 127.0.0.1:15060",
                                "flows: {idle-timeout: 30s, expiry-interval: 1s}",
                                "datapath: {orphan-grace: 20s}"),
                        "source: " + StarTopology.SENDER_ADDR.getHostAddress());
        topo = bed.topo;
        bpffs = bed.bpffs;
    }

    @AfterAll
    static void tearDown() {
        if (bed != null) {
            bed.close();
        }
    }

    /** The 'drops' column of /proc/net/udp for the socket bound to port, inside ns. */
    static long udpDrops(Netns ns, int port) {
        String hexPort = String.format(":%04X", port);
        for (String line : ns.exec("cat", "/proc/net/udp").split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length > 12 && f[1].endsWith(hexPort)) {
                return Long.parseLong(f[f.length - 1]);
            }
        }
        return 0;
    }

    @Test
    void forwardingSurvivesKillAndRestartAndIsAdopted() throws Exception {
        AtomicBoolean sending = new AtomicBoolean(true);
        AtomicLong sent = new AtomicLong();
        DatagramChannel snd =
                topo.sender.call(
                        () ->
                                DatagramChannel.open()
                                        .bind(
                                                new InetSocketAddress(
                                                        StarTopology.SENDER_ADDR, 40000)));
        Thread sender =
                new Thread(
                        () -> {
                            int seq = 0;
                            try {
                                while (sending.get()) {
                                    snd.send(
                                            ByteBuffer.wrap(
                                                    Packets.rtp(
                                                            seq & 0xffff,
                                                            seq * 450L,
                                                            0xCAFE,
                                                            96,
                                                            false,
                                                            1000)),
                                            new InetSocketAddress(StarTopology.NODE_IN_ADDR, 5004));
                                    seq++;
                                    sent.incrementAndGet();
                                    Thread.sleep(5);
                                }
                            } catch (Exception ignored) {
                                // stop
                            }
                        });
        try (AgentProcess first = AgentProcess.start(topo.node, METRICS, bed.configArgs())) {
            first.awaitReady(30_000);
            assertTrue(first.log().contains("datapath=fresh"), first.log());
            // subscribers are resolved (route, neighbour) asynchronously: start once all are in the
            // kernel
            waitFor(
                    () -> {
                        try (Datapath dp = Datapath.openPinned(bpffs)) {
                            return dp.fanoutGroups().entries().stream()
                                    .anyMatch(e -> e.getValue().subs().size() == N);
                        }
                    },
                    10_000,
                    "all subscribers in the kernel group");
            sender.start();
            waitFor(() -> bed.min() >= 100, 10_000, "copies at every receiver");
            long delivered = bed.min();

            PromText m = first.scrape();
            assertEquals(
                    N,
                    m.value("msm_stream_viewers", "stream", "static/cam").orElseThrow().intValue());
            double rtp = m.value("msm_class_packets_total", "class", "rtp").orElseThrow();
            double copies =
                    m.value("msm_stream_copies_total", "stream", "static/cam").orElseThrow();
            // the kernel counts before it delivers: at least what every receiver already read
            // (give or take a packet still in flight on another CPU's counters)
            assertTrue(
                    rtp >= delivered - 2,
                    "rtp packets counted: " + rtp + ", delivered " + delivered);
            assertTrue(
                    copies >= N * (delivered - 2),
                    "copies counted: " + copies + ", delivered " + delivered);
            assertEquals("counter", m.types().get("msm_class_packets_total"));
            assertTrue(m.value("jvm_memory_used_bytes", "area", "heap").isPresent(), "JVM metrics");

            first.kill();
            assertFalse(first.alive());
            long atKill = bed.min();
            long sentAtKill = sent.get();
            // a second of sending (however slow the sender: under emulation it is)
            waitFor(() -> sent.get() > sentAtKill + 100, 10_000, "the sender to go on");
            waitFor(() -> bed.min() > atKill + 90, 5_000, "copies while the agent is down");
            assertTrue(
                    bed.min() > atKill + 90,
                    "packets keep arriving while the agent is down: "
                            + atKill
                            + " -> "
                            + bed.min()
                            + "\n"
                            + Sh.exec(
                                            "ip",
                                            "-n",
                                            topo.node.name(),
                                            "-d",
                                            "link",
                                            "show",
                                            StarTopology.NODE_IN_IF)
                                    .out()
                            + Sh.exec(
                                            "tc",
                                            "-n",
                                            topo.node.name(),
                                            "filter",
                                            "show",
                                            "dev",
                                            StarTopology.NODE_IN_IF,
                                            "ingress")
                                    .out()
                            + "\n"
                            + first.log());
        }

        try (AgentProcess second = AgentProcess.start(topo.node, METRICS, bed.configArgs())) {
            second.awaitReady(30_000);
            assertTrue(second.log().contains("datapath=adopted"), second.log());
            assertTrue(second.log().contains("reclaimed fan-out group"), second.log());
            long atRestart = bed.min();
            waitFor(() -> bed.min() > atRestart + 90, 10_000, "copies after the restart");
            try (Datapath dp = Datapath.openPinned(bpffs)) {
                var groups = dp.fanoutGroups().entries();
                assertEquals(1, groups.size(), "one group, not a second one");
                FanoutGroup g = groups.get(0).getValue();
                assertEquals(N, g.subs().size(), "subscribers adopted, not duplicated");
            }
            PromText m = second.scrape();
            assertEquals(
                    N,
                    m.value("msm_stream_viewers", "stream", "static/cam").orElseThrow().intValue());
            sending.set(false);
            sender.join(2000);
            Thread.sleep(300);
            long s = sent.get();
            for (StarTopology.Receiver r : topo.receivers) {
                // what the kernel delivered: read by the socket, or dropped by a full socket buffer
                // (a receiver thread starved on a loaded 2-core machine is not a datapath loss)
                long read = bed.count(r.index());
                long socketDrops = udpDrops(r.ns(), 6000);
                assertTrue(
                        read + socketDrops >= s * 0.995,
                        "receiver "
                                + r.index()
                                + ": "
                                + read
                                + " read + "
                                + socketDrops
                                + " dropped by its socket, of "
                                + s
                                + " sent");
                assertTrue(
                        read >= s * 0.95, "receiver " + r.index() + " read " + read + " of " + s);
            }
            assertEquals(0, second.stop(), "SIGTERM stops cleanly");
        } finally {
            sending.set(false);
            snd.close();
        }
        // stopped agents leave the datapath attached
        int nIn = topo.node.ifindex(StarTopology.NODE_IN_IF);
        assertTrue(
                topo.node
                        .call(() -> TcIngress.query(nIn, TcIngress.DEFAULT_HANDLE, 1))
                        .isPresent());

        Sh.Result c = AgentProcess.run(topo.node, "cleanup", "--bpffs", bpffs.toString());
        assertEquals(0, c.exit(), c.out() + c.err());
        assertTrue(c.out().contains(StarTopology.NODE_IN_IF), c.out());
        assertEquals(
                0,
                (int) topo.node.call(() -> Xdp.queryId(nIn, XdpMode.AUTO)),
                "no XDP program left");
        assertFalse(Files.exists(bpffs), "no pins left");
        String qdisc =
                Sh.run(
                        "tc",
                        "-n",
                        topo.node.name(),
                        "qdisc",
                        "show",
                        "dev",
                        StarTopology.NODE_IN_IF);
        assertFalse(
                qdisc.contains("clsact"),
                "the clsact qdisc msm created is gone (and its filters): " + qdisc);
    }
}
