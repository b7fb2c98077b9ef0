package io.msm.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.identity.IdentitySink;
import io.msm.agent.media.KernelMediaPlane;
import io.msm.agent.media.Relay;
import io.msm.agent.media.RelayOptions;
import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.attach.TcIngress;
import io.msm.bpf.maps.AllowKey;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.IdentityKey;
import io.msm.bpf.maps.IdentityName;
import io.msm.bpf.maps.PortTable;
import io.msm.bpf.maps.SourceIdentity;
import io.msm.bpf.maps.Stat;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Netns;
import io.msm.testkit.Packets;
import io.msm.testkit.StarTopology;
import io.msm.testkit.Veth;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Workload identities enforced in TC, through the agent's kernel media plane on real interfaces:
 * two sender namespaces (two "pods") send RTP to one relay's port on the node; the relay admits
 * only the first one's identity. The allowed sender's packets reach the subscriber in its own
 * namespace; the other's are dropped by TC before any copy and counted as denied; an address freed
 * and given to a workload of another identity is not trusted.
 *
 * <pre>
 *  [camera] s0 10.77.1.2 ── n-in  10.77.1.1 [node: TC + relay 10.77.1.1:5004] ── [viewer r0]
 *  [intruder] s1 10.77.2.2 ── n-in2 10.77.2.1
 * </pre>
 */
@KernelTest
class IdentityNamespaceTest {
    static final int PORT = 5004;
    static final int CAMERA = 7;
    static final int OTHER = 8;
    static final Inet4Address INTRUDER_ADDR = (Inet4Address) Packets.addr("10.77.2.2");

    static StarTopology topo;
    static Netns intruderNs;
    static Datapath dp;
    static KernelMediaPlane plane;
    static DatagramChannel camera;
    static DatagramChannel intruder;
    static DatagramChannel viewer;

    @BeforeAll
    static void setUp() throws Exception {
        topo = StarTopology.create(1);
        intruderNs = Netns.create(topo.id + "-snd2");
        Veth.create(intruderNs, "s1", "10.77.2.2/24", topo.node, "n-in2", "10.77.2.1/24");
        intruderNs.exec("ip", "route", "add", "default", "via", "10.77.2.1");
        dp = Datapath.load(DatapathSpec.DEFAULT.withFlows(1024).withGroups(8).withSubIds(64));
        dp.configure(DatapathConfig.defaults(), PortTable.defaults());
        for (String ifname : List.of(StarTopology.NODE_IN_IF, "n-in2")) {
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
        // created in the node's namespace: the plane's threads (relay sockets, control thread
        // resolving next hops) start from here and stay in it
        plane =
                topo.node.call(
                        () ->
                                new KernelMediaPlane(
                                        dp,
                                        8,
                                        64,
                                        new PortTable.Range(5000, 5100),
                                        Duration.ofSeconds(5),
                                        1));
        StarTopology.Receiver r = topo.receivers.get(0);
        viewer = r.ns().call(() -> open(new InetSocketAddress(r.addr(), 6000)));
        camera =
                topo.sender.call(
                        () -> open(new InetSocketAddress(StarTopology.SENDER_ADDR, 40000)));
        intruder = intruderNs.call(() -> open(new InetSocketAddress(INTRUDER_ADDR, 40000)));
    }

    static DatagramChannel open(InetSocketAddress bind) throws IOException {
        DatagramChannel ch = DatagramChannel.open();
        ch.bind(bind);
        ch.configureBlocking(false);
        return ch;
    }

    @AfterAll
    static void tearDown() throws IOException {
        for (DatagramChannel c : new DatagramChannel[] {camera, intruder, viewer}) {
            if (c != null) {
                c.close();
            }
        }
        if (plane != null) {
            plane.close();
        }
        if (dp != null) {
            dp.close();
        }
        if (intruderNs != null) {
            intruderNs.close();
        }
        if (topo != null) {
            topo.close();
        }
    }

    /** RTP whose SSRC says who sent it. */
    static byte[] rtp(int ssrc, int seq) {
        return Packets.rtp(seq, seq * 3000L, ssrc, 96, false, 200);
    }

    static void send(DatagramChannel from, int ssrc, int count) throws Exception {
        InetSocketAddress to = new InetSocketAddress(StarTopology.NODE_IN_ADDR, PORT);
        for (int i = 0; i < count; i++) {
            from.send(ByteBuffer.wrap(rtp(ssrc, i)), to);
        }
    }

    /** SSRCs of what the viewer receives until `ms` pass without anything new. */
    static List<Integer> received(long ms) throws Exception {
        List<Integer> ssrcs = new ArrayList<>();
        ByteBuffer b = ByteBuffer.allocate(2048);
        try (Selector sel = Selector.open()) {
            viewer.register(sel, SelectionKey.OP_READ);
            while (true) {
                if (viewer.receive(b) != null) {
                    if (b.position() >= 12) { // not the plane's neighbour probe (empty)
                        ssrcs.add(b.getInt(8));
                    }
                    b.clear();
                    continue;
                }
                if (sel.select(ms) == 0) {
                    return ssrcs;
                }
                sel.selectedKeys().clear();
            }
        }
    }

    static void waitFor(LongSupplier value, long want, String what) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (value.getAsLong() != want && System.nanoTime() < end) {
            Thread.sleep(20);
        }
        assertEquals(want, value.getAsLong(), what);
    }

    @Test
    void onlyTheAllowedIdentityFeedsTheGroupAndAReusedAddressIsNotTrusted() throws Exception {
        IdentitySink sink = plane.identitySink();
        sink.name(CAMERA, "spiffe://cluster.local/ns/media/sa/camera");
        sink.name(OTHER, "spiffe://cluster.local/ns/web/sa/default");
        sink.put(StarTopology.SENDER_ADDR, CAMERA);
        sink.put(INTRUDER_ADDR, OTHER);
        assertEquals(
                new SourceIdentity(CAMERA),
                dp.identities().lookup(new IdentityKey(StarTopology.SENDER_ADDR)).orElseThrow());
        assertEquals(
                "spiffe://cluster.local/ns/media/sa/camera",
                dp.identityNames().lookup(CAMERA).map(IdentityName::name).orElseThrow());

        Relay relay =
                topo.node.call(
                        () ->
                                plane.open(
                                        new InetSocketAddress(StarTopology.NODE_IN_ADDR, PORT),
                                        RelayOptions.of("test/identity/rtp")
                                                .withOthers(RelayOptions.Others.DROP)));
        try {
            relay.allowIdentities(Set.of(CAMERA));
            StarTopology.Receiver r = topo.receivers.get(0);
            Relay.Subscriber sub = relay.subscribe(new InetSocketAddress(r.addr(), 6000));
            sub.ready().toCompletableFuture().get(10, TimeUnit.SECONDS);
            assertEquals("kernel", sub.servedBy(), "the kernel serves the viewer");
            waitFor(
                    () -> dp.groupAllow().keys().size(),
                    1,
                    "one allow entry: the camera's identity for this group");
            long denied = dp.totals().get(Stat.IDENT_DENIED);

            send(camera, 0xca, 20);
            send(intruder, 0xbad, 20);
            List<Integer> got = received(500);
            assertEquals(20, got.size(), "the camera's 20 packets arrive: " + got);
            assertTrue(got.stream().allMatch(s -> s == 0xca), "and nothing of the intruder's");
            waitFor(
                    () -> relay.stats().identityDenied(),
                    20,
                    "the intruder's packets, counted as denied");
            assertEquals(0, relay.stats().identityUnknown());
            assertEquals(20, dp.totals().get(Stat.IDENT_DENIED) - denied);
            assertEquals(20, relay.stats().upstreamPackets(), "refused packets are not upstream");

            // the camera pod goes; its address is given to a pod of another identity
            sink.remove(StarTopology.SENDER_ADDR);
            sink.put(StarTopology.SENDER_ADDR, OTHER);
            send(camera, 0xca, 10);
            assertEquals(List.of(), received(300), "a reused address is not trusted");
            waitFor(() -> relay.stats().identityDenied(), 30, "counted as denied too");

            // the policy widens to the other identity: the group admits it from the next packet
            relay.allowIdentities(Set.of(CAMERA, OTHER));
            waitFor(() -> dp.groupAllow().keys().size(), 2, "two allow entries");
            send(intruder, 0xbad, 5);
            assertEquals(5, received(500).size(), "now admitted");

            // and narrows: the removed identity is refused again, its entry gone
            relay.allowIdentities(Set.of(CAMERA));
            waitFor(() -> dp.groupAllow().keys().size(), 1, "one allow entry again");
            assertEquals(
                    Set.of(new AllowKey(groupOf(relay), CAMERA)),
                    Set.copyOf(dp.groupAllow().keys()));
            send(intruder, 0xbad, 5);
            assertEquals(List.of(), received(300));
        } finally {
            relay.close();
        }
        assertEquals(List.of(), dp.groupAllow().keys(), "closing the relay removes its entries");
    }

    /** The group id of the relay's allow entries (the only group here). */
    static int groupOf(Relay relay) {
        return dp.groupAllow().keys().get(0).groupId();
    }
}
