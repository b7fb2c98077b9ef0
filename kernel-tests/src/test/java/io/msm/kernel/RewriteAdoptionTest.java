package io.msm.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.media.KernelMediaPlane;
import io.msm.agent.media.Relay;
import io.msm.agent.media.RelayOptions;
import io.msm.agent.media.RtpContinuity;
import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.attach.TcIngress;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.PortTable;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Packets;
import io.msm.testkit.StarTopology;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A restart or seamless upgrade (issue 15) carries the continuity state: the next agent's media
 * plane reclaims a group that rewrote (MSM_GROUP_F_REWRITE) with its pinned msm_rewrites entry, so
 * a stream that had already switched sources goes on with the same deltas — no sequence jump at the
 * viewer — where a fresh state would take the current source as the first one.
 *
 * <pre>
 *  [publishers] s0 10.77.1.2 ── n-in 10.77.1.1 [node: TC + relay 10.77.1.1:5014] ── [viewer r0]
 * </pre>
 */
@KernelTest
class RewriteAdoptionTest {
    static final int PORT = 5014;

    static StarTopology topo;
    static Datapath dp;
    static DatagramChannel first;
    static DatagramChannel second;
    static DatagramChannel viewer;

    @BeforeAll
    static void setUp() throws Exception {
        topo = StarTopology.create(1);
        dp = Datapath.load(DatapathSpec.DEFAULT.withFlows(1024).withGroups(8).withSubIds(64));
        dp.configure(DatapathConfig.defaults(), PortTable.defaults());
        int ifindex = topo.node.ifindex(StarTopology.NODE_IN_IF);
        topo.node.run(
                () ->
                        TcIngress.attach(
                                ifindex,
                                dp.progFd(Datapath.PROG_TC),
                                TcIngress.DEFAULT_HANDLE,
                                TcIngress.DEFAULT_PRIORITY,
                                false));
        StarTopology.Receiver r = topo.receivers.get(0);
        viewer = r.ns().call(() -> open(new InetSocketAddress(r.addr(), 6000)));
        first =
                topo.sender.call(
                        () -> open(new InetSocketAddress(StarTopology.SENDER_ADDR, 40000)));
        second =
                topo.sender.call(
                        () -> open(new InetSocketAddress(StarTopology.SENDER_ADDR, 40002)));
    }

    static DatagramChannel open(InetSocketAddress bind) throws IOException {
        DatagramChannel ch = DatagramChannel.open();
        ch.bind(bind);
        ch.configureBlocking(false);
        return ch;
    }

    @AfterAll
    static void tearDown() throws IOException {
        for (DatagramChannel c : new DatagramChannel[] {first, second, viewer}) {
            if (c != null) {
                c.close();
            }
        }
        if (dp != null) {
            dp.close();
        }
        if (topo != null) {
            topo.close();
        }
    }

    static KernelMediaPlane plane() {
        return topo.node.call(
                () ->
                        new KernelMediaPlane(
                                dp,
                                8,
                                64,
                                new PortTable.Range(5000, 5100),
                                Duration.ofSeconds(5),
                                1));
    }

    static Relay relay(KernelMediaPlane plane) {
        return topo.node.call(
                () ->
                        plane.open(
                                new InetSocketAddress(StarTopology.NODE_IN_ADDR, PORT),
                                RelayOptions.of("test/adopt/rtp")
                                        .withOthers(RelayOptions.Others.DROP)));
    }

    static void send(DatagramChannel from, int ssrc, int seq, int count) throws Exception {
        InetSocketAddress to = new InetSocketAddress(StarTopology.NODE_IN_ADDR, PORT);
        for (int i = 0; i < count; i++) {
            from.send(
                    ByteBuffer.wrap(Packets.rtp(seq + i, (seq + i) * 3000L, ssrc, 96, false, 200)),
                    to);
        }
    }

    /** Sequence numbers the viewer receives until `ms` pass without anything new. */
    static List<Integer> received(long ms) throws Exception {
        List<Integer> seqs = new ArrayList<>();
        ByteBuffer b = ByteBuffer.allocate(2048);
        try (Selector sel = Selector.open()) {
            viewer.register(sel, SelectionKey.OP_READ);
            while (true) {
                if (viewer.receive(b) != null) {
                    if (b.position() >= 12) { // not the plane's neighbour probe (empty)
                        seqs.add(b.getShort(2) & 0xffff);
                    }
                    b.clear();
                    continue;
                }
                if (sel.select(ms) == 0) {
                    return seqs;
                }
                sel.selectedKeys().clear();
            }
        }
    }

    @Test
    void aStreamThatSwitchedSourcesGoesOnWithoutAJumpAfterTheUpgrade() throws Exception {
        StarTopology.Receiver r = topo.receivers.get(0);
        InetSocketAddress to = new InetSocketAddress(r.addr(), 6000);
        FanoutKey key = new FanoutKey(StarTopology.NODE_IN_ADDR, PORT);

        KernelMediaPlane old = plane();
        Relay a = relay(old);
        a.continuity(RtpContinuity.Config.rtp(90000));
        a.subscribe(to).ready().toCompletableFuture().get(10, TimeUnit.SECONDS);
        send(first, 0xA, 100, 5);
        assertEquals(List.of(100, 101, 102, 103, 104), received(300));
        send(second, 0xB, 7000, 5); // the publisher came back as another source
        assertEquals(List.of(105, 106, 107, 108, 109), received(300), "continued");

        old.close(); // the old agent stops; the groups stay in the kernel
        KernelMediaPlane next = plane();
        try {
            assertTrue(
                    (dp.fanoutGroups().lookup(key).orElseThrow().flags() & FanoutGroup.F_REWRITE)
                            != 0,
                    "the group still rewrites between the agents");
            Relay b = relay(next);
            assertTrue(
                    (dp.fanoutGroups().lookup(key).orElseThrow().flags() & FanoutGroup.F_REWRITE)
                            != 0,
                    "and once reclaimed, before its owner configures it");
            b.continuity(RtpContinuity.Config.rtp(90000)); // what the RTSP hand-over restores
            b.subscribe(to).ready().toCompletableFuture().get(10, TimeUnit.SECONDS);
            send(second, 0xB, 7005, 5);
            assertEquals(
                    List.of(110, 111, 112, 113, 114),
                    received(300),
                    "the same deltas after the upgrade: no jump at the viewer");
            assertEquals(1, b.continuityState().orElseThrow().switches(), "one switch, kept");
        } finally {
            next.close();
            dp.fanoutGroups().keys().forEach(dp.fanoutGroups()::delete);
        }
    }
}
