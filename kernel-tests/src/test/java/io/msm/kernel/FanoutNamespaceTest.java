package io.msm.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.attach.TcIngress;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.FanoutSub;
import io.msm.bpf.maps.Flow;
import io.msm.bpf.maps.FlowKey;
import io.msm.bpf.maps.GroupStats;
import io.msm.bpf.maps.PortTable;
import io.msm.bpf.maps.SubStats;
import io.msm.bpf.maps.TrafficClass;
import io.msm.testkit.Frame;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Packets;
import io.msm.testkit.StarTopology;
import io.msm.testkit.StarTopology.Receiver;
import io.msm.testkit.Testkit;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The datapath on real interfaces: an ordinary UDP socket in a sender namespace sends RTP to the
 * node, the TC program on the node's ingress fans it out, and ordinary UDP sockets in N receiver
 * namespaces get it — with the right source, destination and checksums (seen by a capture-and-pass
 * program on each receiver). Nothing reaches a socket on the node unless the group asks for it.
 */
@KernelTest
class FanoutNamespaceTest {
    static final int N = 8;
    static final int PACKETS = 200;
    static final int UPSTREAM_PORT = 5004;

    static StarTopology topo;
    static Datapath dp;
    static Testkit kit;
    static List<FanoutSub> subs = new ArrayList<>();
    static List<DatagramChannel> receivers = new ArrayList<>();
    static DatagramChannel nodeSocket;
    static DatagramChannel sender;

    @BeforeAll
    static void setUp() throws IOException {
        topo = StarTopology.create(N);
        dp = Datapath.load(DatapathSpec.DEFAULT.withFlows(4096).withGroups(8).withSubIds(64));
        dp.configure(DatapathConfig.defaults(), PortTable.defaults());
        int inIf = topo.node.ifindex(StarTopology.NODE_IN_IF);
        topo.node.run(
                () ->
                        TcIngress.attach(
                                inIf,
                                dp.progFd(Datapath.PROG_TC),
                                TcIngress.DEFAULT_HANDLE,
                                TcIngress.DEFAULT_PRIORITY,
                                false));
        kit = Testkit.load();
        for (Receiver r : topo.receivers) {
            subs.add(
                    new FanoutSub(
                            topo.node.ifindex(r.nodeIf()),
                            r.index(),
                            r.ns().mac(r.ifname()),
                            topo.node.mac(r.nodeIf()),
                            r.nodeAddr(),
                            r.addr(),
                            UPSTREAM_PORT,
                            6000 + r.index(),
                            0));
            kit.attach(r.ns(), r.ifname(), Testkit.PROG_CAPTURE_PASS);
            receivers.add(
                    r.ns().call(
                                    () -> {
                                        DatagramChannel ch = DatagramChannel.open();
                                        ch.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
                                        ch.bind(new InetSocketAddress(r.addr(), 6000 + r.index()));
                                        ch.configureBlocking(false);
                                        return ch;
                                    }));
        }
        nodeSocket =
                topo.node.call(
                        () -> {
                            DatagramChannel ch = DatagramChannel.open();
                            ch.bind(
                                    new InetSocketAddress(
                                            StarTopology.NODE_IN_ADDR, UPSTREAM_PORT));
                            ch.configureBlocking(false);
                            return ch;
                        });
        sender =
                topo.sender.call(
                        () -> {
                            DatagramChannel ch = DatagramChannel.open();
                            ch.bind(new InetSocketAddress(StarTopology.SENDER_ADDR, 40000));
                            return ch;
                        });
    }

    @AfterAll
    static void tearDown() throws IOException {
        for (DatagramChannel c : receivers) {
            c.close();
        }
        if (nodeSocket != null) {
            nodeSocket.close();
        }
        if (sender != null) {
            sender.close();
        }
        if (kit != null) {
            kit.close();
        }
        if (dp != null) {
            dp.close();
        }
        if (topo != null) {
            topo.close();
        }
    }

    @BeforeEach
    void reset() throws IOException {
        var g = dp.fanoutGroups();
        g.keys().forEach(g::delete);
        var flows = dp.flows();
        flows.keys().forEach(flows::delete); // each test's RTP stream starts at sequence 0
        drain(nodeSocket);
        for (DatagramChannel c : receivers) {
            drain(c);
        }
        kit.drain();
    }

    static int drain(DatagramChannel c) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(2048);
        int n = 0;
        while (c.receive(b) != null) {
            b.clear();
            n++;
        }
        return n;
    }

    static FanoutKey key() {
        return new FanoutKey(StarTopology.NODE_IN_ADDR, UPSTREAM_PORT);
    }

    static byte[] payload(int seq) {
        return Packets.rtp(seq, seq * 3000L, 0x5eed, 96, false, 1188);
    }

    void send(int count) throws Exception {
        InetSocketAddress to = new InetSocketAddress(StarTopology.NODE_IN_ADDR, UPSTREAM_PORT);
        for (int i = 0; i < count; i++) {
            sender.send(ByteBuffer.wrap(payload(i)), to);
            if (i % 10 == 9) {
                Thread.sleep(1); // gentle: readers on a busy 2-core machine must keep up
            }
        }
    }

    /** Receive until count datagrams arrived or 5 s passed (waits in select, not in sleeps). */
    static List<byte[]> receive(DatagramChannel c, int count, InetSocketAddress[] from)
            throws Exception {
        List<byte[]> got = new ArrayList<>();
        ByteBuffer b = ByteBuffer.allocate(2048);
        long end = System.nanoTime() + 5_000_000_000L;
        try (Selector sel = Selector.open()) {
            c.register(sel, SelectionKey.OP_READ);
            while (got.size() < count) {
                long left = (end - System.nanoTime()) / 1_000_000;
                if (left <= 0) {
                    break;
                }
                SocketAddress a = c.receive(b);
                if (a == null) {
                    sel.select(left);
                    sel.selectedKeys().clear();
                    continue;
                }
                from[0] = (InetSocketAddress) a;
                b.flip();
                byte[] d = new byte[b.remaining()];
                b.get(d);
                got.add(d);
                b.clear();
            }
        }
        return got;
    }

    /** Readers started before sending, so socket buffers never overflow. */
    static final class Readers {
        final List<CompletableFuture<List<byte[]>>> got = new ArrayList<>();
        final InetSocketAddress[][] from = new InetSocketAddress[N][1];

        Readers(int count) {
            for (int i = 0; i < N; i++) {
                int idx = i;
                got.add(
                        CompletableFuture.supplyAsync(
                                () -> {
                                    try {
                                        return receive(receivers.get(idx), count, from[idx]);
                                    } catch (Exception e) {
                                        throw new IllegalStateException(e);
                                    }
                                },
                                Executors.newSingleThreadExecutor()));
            }
        }
    }

    void checkReceivers(Readers readers, int count) throws Exception {
        for (Receiver r : topo.receivers) {
            InetSocketAddress[] from = readers.from[r.index()];
            List<byte[]> got = readers.got.get(r.index()).get();
            assertEquals(count, got.size(), "receiver " + r.index() + " got every packet");
            assertEquals(
                    new InetSocketAddress(r.nodeAddr(), UPSTREAM_PORT),
                    from[0],
                    "receiver " + r.index() + " sees the node's address on its link as the source");
            for (int i = 0; i < count; i++) {
                assertArrayEquals(
                        payload(i),
                        got.get(i),
                        "receiver " + r.index() + " packet " + i + " intact, in order");
            }
        }
    }

    void checkCaptures(int count, boolean fullChecksums) throws Exception {
        List<Testkit.Captured> caps = kit.await(N * count, 5000);
        assertEquals(N * count, caps.size(), "every copy captured on the receivers' ingress");
        for (Testkit.Captured c : caps) {
            Frame f = c.frame();
            Receiver r = topo.receivers.get(f.dport() - 6000);
            assertEquals(r.addr(), f.dst());
            assertEquals(r.nodeAddr(), f.src());
            assertTrue(f.ipChecksumOk(), "IPv4 checksum of the copy to " + f.dstString());
            if (fullChecksums) {
                assertTrue(f.udpChecksumOk(), "UDP checksum of the copy to " + f.dstString());
            } else {
                assertTrue(
                        f.udpPartialChecksumOk(),
                        "offloaded UDP checksum (pseudo header) of the copy to " + f.dstString());
            }
        }
    }

    @Test
    void everyReceiverGetsEveryPacketAndTheNodeNone() throws Exception {
        dp.fanoutGroups().update(key(), new FanoutGroup(1, 0, null, 0, subs));
        FlowKey flow =
                FlowKey.udp(
                        StarTopology.SENDER_ADDR, 40000, StarTopology.NODE_IN_ADDR, UPSTREAM_PORT);
        long flowBefore = dp.flows().lookup(flow).map(Flow::packets).orElse(0L);
        GroupStats g0 = GroupStats.sum(dp.groupStats().lookupPerCpu(1).orElseThrow());

        Readers readers = new Readers(PACKETS);
        send(PACKETS);

        checkReceivers(readers, PACKETS);
        checkCaptures(PACKETS, false);
        assertEquals(
                0, drain(nodeSocket), "the node's own socket sees none of the fanned-out packets");
        Flow f = dp.flows().lookup(flow).orElseThrow();
        assertEquals(PACKETS, f.packets() - flowBefore, "flow table counts what was sent");
        assertEquals(TrafficClass.RTP, f.trafficClass());
        assertTrue(f.fannedOut());
        assertEquals(0, f.rtp().lost());
        GroupStats g = GroupStats.sum(dp.groupStats().lookupPerCpu(1).orElseThrow());
        assertEquals(PACKETS, g.packets() - g0.packets());
        assertEquals((long) PACKETS * N, g.copies() - g0.copies());
        assertEquals(0, g.errors() - g0.errors());
        for (FanoutSub s : subs) {
            assertTrue(
                    SubStats.sum(dp.subStats().lookupPerCpu(s.subId()).orElseThrow()).packets()
                            >= PACKETS);
        }
    }

    @Test
    void fullChecksumsWhenTheSenderComputesThem() throws Exception {
        topo.sender.exec("ethtool", "-K", StarTopology.SENDER_IF, "tx", "off");
        try {
            dp.fanoutGroups().update(key(), new FanoutGroup(2, 0, null, 0, subs));
            Readers readers = new Readers(20);
            send(20);
            checkReceivers(readers, 20);
            checkCaptures(20, true);
        } finally {
            topo.sender.exec("ethtool", "-K", StarTopology.SENDER_IF, "tx", "on");
        }
    }

    @Test
    void aLocalGroupAlsoDeliversToTheNode() throws Exception {
        dp.fanoutGroups().update(key(), new FanoutGroup(3, FanoutGroup.F_LOCAL, null, 0, subs));
        Readers readers = new Readers(30);
        send(30);
        checkReceivers(readers, 30);
        InetSocketAddress[] from = new InetSocketAddress[1];
        List<byte[]> atNode = receive(nodeSocket, 30, from);
        assertEquals(30, atNode.size(), "the node's socket gets the originals");
        assertEquals(
                new InetSocketAddress(StarTopology.SENDER_ADDR, 40000),
                from[0],
                "unchanged source");
        assertArrayEquals(payload(29), atNode.get(29));
    }

    @Test
    void withoutAGroupPacketsReachTheNodeNormally() throws Exception {
        send(10);
        InetSocketAddress[] from = new InetSocketAddress[1];
        assertEquals(10, receive(nodeSocket, 10, from).size());
        for (DatagramChannel c : receivers) {
            assertEquals(0, drain(c));
        }
    }

    @Test
    void removingASubscriberStopsItsCopiesOnly() throws Exception {
        List<FanoutSub> fewer = new ArrayList<>(subs);
        fewer.remove(3);
        dp.fanoutGroups().update(key(), new FanoutGroup(4, 0, null, 0, fewer));
        send(10);
        Thread.sleep(200);
        for (Receiver r : topo.receivers) {
            int got = drain(receivers.get(r.index()));
            assertEquals(r.index() == 3 ? 0 : 10, got, "receiver " + r.index());
        }
    }
}
