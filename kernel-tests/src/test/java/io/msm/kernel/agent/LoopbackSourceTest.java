package io.msm.kernel.agent;

import io.msm.bpf.Bpffs;
import io.msm.testkit.AgentProcess;
import io.msm.testkit.CountingReceiver;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Netns;
import io.msm.testkit.Packets;
import io.msm.testkit.StarTopology;
import io.msm.testkit.Timeouts;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A stream whose source reaches the node without passing msm's TC program
 * (here: a sender on the node itself, over loopback) is not lost: the relay
 * notices that its group counts none of the packets its socket gets, serves
 * the kernel's subscribers from userspace and says so; once the source comes
 * in over an attached interface the kernel takes over again, without a copy
 * twice.
 */
@KernelTest
class LoopbackSourceTest {
    static final int N = 2;
    static StarTopology topo;
    static Path bpffs;
    static Path config;
    static final String METRICS = "127.0.0.1:19475";
    static final CountingReceiver[] got = new CountingReceiver[N];

    @BeforeAll
    static void setUp() throws Exception {
        topo = StarTopology.create(N);
        bpffs = Path.of("/sys/fs/bpf/msmtest-" + topo.id);
        StringBuilder subs = new StringBuilder();
        for (StarTopology.Receiver r : topo.receivers) {
            subs.append(subs.length() == 0 ? "" : ", ").append(r.addr().getHostAddress()).append(":6000");
            got[r.index()] = CountingReceiver.bind(r.ns(), new InetSocketAddress(r.addr(), 6000));
        }
        config = Files.createTempFile("msm-lo", ".yaml");
        Files.writeString(config, String.join("\n",
                "interfaces: [" + StarTopology.NODE_IN_IF + "]",
                "bpffs: " + bpffs,
                "rtsp-listen: 127.0.0.1:18557",
                "sip-listen: 127.0.0.1:15063",
                "streams:",
                "  - name: cam",
                "    listen: " + StarTopology.NODE_IN_ADDR.getHostAddress() + ":5004",
                "    subscribers: [" + subs + "]",
                ""));
    }

    @AfterAll
    static void tearDown() throws Exception {
        for (CountingReceiver c : got) {
            if (c != null) {
                c.close();
            }
        }
        if (topo != null) {
            AgentProcess.run(topo.node, "cleanup", "--bpffs", bpffs.toString());
            topo.close();
        }
        Bpffs.removeTree(bpffs);
        Files.deleteIfExists(config);
    }

    static void waitFor(BooleanSupplier cond, long ms, String what) throws InterruptedException {
        long end = System.nanoTime() + Timeouts.ms(ms) * 1_000_000;
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    static long min() {
        return Math.min(got[0].count(), got[1].count());
    }

    /** Send from ns, bound to from, until stopped; every 5 ms. */
    static Thread sender(Netns ns, InetSocketAddress from, AtomicBoolean on) {
        DatagramChannel ch = ns.call(() -> DatagramChannel.open().bind(from));
        Thread t = new Thread(() -> {
            int seq = 0;
            try (ch) {
                while (on.get()) {
                    ch.send(ByteBuffer.wrap(Packets.rtp(seq & 0xffff, seq * 450L, 0xB0B, 96, false, 200)),
                            new InetSocketAddress(StarTopology.NODE_IN_ADDR, 5004));
                    seq++;
                    Thread.sleep(5);
                }
            } catch (Exception ignored) {
                // stopped
            }
        });
        t.start();
        return t;
    }

    @Test
    void aSourceOverLoopbackIsServedFromUserspaceUntilItPassesTheTcProgram() throws Exception {
        try (AgentProcess agent = AgentProcess.start(topo.node, METRICS, List.of("--config", config.toString()))) {
            agent.awaitReady(30_000);

            // a sender on the node itself: over lo, where msm has no program
            AtomicBoolean local = new AtomicBoolean(true);
            Thread t = sender(topo.node, new InetSocketAddress(StarTopology.NODE_IN_ADDR, 40000), local);
            try {
                waitFor(() -> min() >= 100, 20_000, "100 packets at each subscriber from a loopback source");
            } finally {
                local.set(false);
                t.join();
            }
            assertTrue(agent.log().contains("without passing msm's TC program"), agent.log());
            assertEquals(2, agent.scrape().value("msm_stream_viewers_userspace", "stream", "static/cam")
                    .orElseThrow().intValue(), "both subscribers served from userspace while the source bypasses");

            // the same stream from the sender namespace, through n-in: the kernel fans out again
            Thread.sleep(Timeouts.ms(300)); // the last loopback packets delivered
            long[] before = {got[0].count(), got[1].count()};
            DatagramChannel ch = topo.sender.call(() -> DatagramChannel.open()
                    .bind(new InetSocketAddress(StarTopology.SENDER_ADDR, 40000)));
            try (ch) {
                for (int i = 0; i < 300; i++) {
                    ch.send(ByteBuffer.wrap(Packets.rtp(i, i * 450L, 0xB0B, 96, false, 200)),
                            new InetSocketAddress(StarTopology.NODE_IN_ADDR, 5004));
                    Thread.sleep(5);
                }
            }
            waitFor(() -> got[0].count() - before[0] >= 295 && got[1].count() - before[1] >= 295, 5000,
                    "the 300 packets through n-in at each subscriber");
            waitFor(() -> agent.log().contains("passes msm's TC program again"), 5000, "the switch back logged");
            Thread.sleep(Timeouts.ms(300));
            assertEquals(0, agent.scrape().value("msm_stream_viewers_userspace", "stream", "static/cam")
                    .orElseThrow().intValue(), "the kernel serves them again");
            for (int i = 0; i < N; i++) {
                long n = got[i].count() - before[i];
                assertTrue(n <= 300, "receiver " + i + " got " + n + " of 300: no packet twice");
            }
            assertEquals(0, agent.stop());
        }
    }
}
