package io.msm.kernel.agent;

import static io.msm.testkit.Timeouts.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.testkit.AgentProcess;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Netns;
import io.msm.testkit.Packets;
import io.msm.testkit.StarTopology;
import io.msm.testkit.StaticStreamBed;
import io.msm.testkit.Timeouts;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A stream whose source reaches the node without passing msm's TC program (here: a sender on the
 * node itself, over loopback) is not lost: the relay notices that its group counts none of the
 * packets its socket gets, serves the kernel's subscribers from userspace and says so; once the
 * source comes in over an attached interface the kernel takes over again, without a copy twice.
 */
@KernelTest
class LoopbackSourceTest {
    static final int N = 2;
    static final String METRICS = "127.0.0.1:19475";
    static StaticStreamBed bed;

    @BeforeAll
    static void setUp() {
        bed =
                StaticStreamBed.create(
                        N, List.of("rtsp-listen: 127.0.0.1:18557", "sip-listen: 127.0.0.1:15063"));
    }

    @AfterAll
    static void tearDown() {
        if (bed != null) {
            bed.close();
        }
    }

    /** Send from ns, bound to from, until stopped; every 5 ms. */
    static Thread sender(Netns ns, InetSocketAddress from, AtomicBoolean on) {
        DatagramChannel ch = ns.call(() -> DatagramChannel.open().bind(from));
        Thread t =
                new Thread(
                        () -> {
                            int seq = 0;
                            try (ch) {
                                while (on.get()) {
                                    ch.send(
                                            ByteBuffer.wrap(
                                                    Packets.rtp(
                                                            seq & 0xffff,
                                                            seq * 450L,
                                                            0xB0B,
                                                            96,
                                                            false,
                                                            200)),
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
        try (AgentProcess agent = AgentProcess.start(bed.topo.node, METRICS, bed.configArgs())) {
            agent.awaitReady(30_000);

            // a sender on the node itself: over lo, where msm has no program
            AtomicBoolean local = new AtomicBoolean(true);
            Thread t =
                    sender(
                            bed.topo.node,
                            new InetSocketAddress(StarTopology.NODE_IN_ADDR, 40000),
                            local);
            try {
                waitFor(
                        () -> bed.min() >= 100,
                        20_000,
                        "100 packets at each subscriber from a loopback source");
            } finally {
                local.set(false);
                t.join();
            }
            assertTrue(agent.log().contains("without passing msm's TC program"), agent.log());
            assertEquals(
                    2,
                    agent.scrape()
                            .value("msm_stream_viewers_userspace", "stream", "static/cam")
                            .orElseThrow()
                            .intValue(),
                    "both subscribers served from userspace while the source bypasses");

            // the same stream from the sender namespace, through n-in: the kernel fans out again
            Thread.sleep(Timeouts.ms(300)); // the last loopback packets delivered
            long[] before = {bed.count(0), bed.count(1)};
            DatagramChannel ch =
                    bed.topo.sender.call(
                            () ->
                                    DatagramChannel.open()
                                            .bind(
                                                    new InetSocketAddress(
                                                            StarTopology.SENDER_ADDR, 40000)));
            try (ch) {
                for (int i = 0; i < 300; i++) {
                    ch.send(
                            ByteBuffer.wrap(Packets.rtp(i, i * 450L, 0xB0B, 96, false, 200)),
                            new InetSocketAddress(StarTopology.NODE_IN_ADDR, 5004));
                    Thread.sleep(5);
                }
            }
            waitFor(
                    () -> bed.count(0) - before[0] >= 295 && bed.count(1) - before[1] >= 295,
                    5000,
                    "the 300 packets through n-in at each subscriber");
            waitFor(
                    () -> agent.log().contains("passes msm's TC program again"),
                    5000,
                    "the switch back logged");
            Thread.sleep(Timeouts.ms(300));
            assertEquals(
                    0,
                    agent.scrape()
                            .value("msm_stream_viewers_userspace", "stream", "static/cam")
                            .orElseThrow()
                            .intValue(),
                    "the kernel serves them again");
            for (int i = 0; i < N; i++) {
                long n = bed.count(i) - before[i];
                assertTrue(n <= 300, "receiver " + i + " got " + n + " of 300: no packet twice");
            }
            assertEquals(0, agent.stop());
        }
    }
}
