package io.msm.agent.media;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.identity.Identities;
import io.msm.agent.identity.IdentityLookup;
import io.msm.bpf.maps.PortTable;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The userspace relay on loopback (no root needed): same contract the kernel plane keeps. */
class UserspaceMediaPlaneTest {
    static final InetAddress LO = InetAddress.getLoopbackAddress();
    UserspaceMediaPlane plane;
    final List<DatagramChannel> open = new ArrayList<>();

    @BeforeEach
    void setUp() {
        plane = new UserspaceMediaPlane(new PortTable.Range(41000, 41999), 1);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (DatagramChannel c : open) {
            c.close();
        }
        plane.close();
    }

    DatagramChannel socket() throws Exception {
        DatagramChannel c = DatagramChannel.open().bind(new InetSocketAddress(LO, 0));
        c.configureBlocking(false);
        open.add(c);
        return c;
    }

    static InetSocketAddress addr(DatagramChannel c) throws Exception {
        return (InetSocketAddress) c.getLocalAddress();
    }

    static byte[] rtp(int seq) {
        ByteBuffer b = ByteBuffer.allocate(112);
        b.put((byte) 0x80).put((byte) 96).putShort((short) seq).putInt(seq * 3000).putInt(0x1234);
        return b.array();
    }

    /** Receive up to n datagrams within ms; returns (from, bytes) pairs. */
    static List<Object[]> receive(DatagramChannel c, int n, long ms) throws Exception {
        List<Object[]> out = new ArrayList<>();
        long end = System.nanoTime() + ms * 1_000_000;
        ByteBuffer b = ByteBuffer.allocate(2048);
        while (out.size() < n && System.nanoTime() < end) {
            SocketAddress from = c.receive(b);
            if (from == null) {
                Thread.sleep(2);
                continue;
            }
            b.flip();
            byte[] d = new byte[b.remaining()];
            b.get(d);
            out.add(new Object[] {from, d});
            b.clear();
        }
        return out;
    }

    @Test
    void everySubscriberGetsEveryPacketFromTheRelaysAddress() throws Exception {
        DatagramChannel src = socket();
        DatagramChannel v1 = socket();
        DatagramChannel v2 = socket();
        Relay r =
                plane.open(
                        new InetSocketAddress(LO, 0),
                        RelayOptions.of("test/a").withExpectedSource(addr(src)));
        Relay.Subscriber s1 = r.subscribe(addr(v1));
        r.subscribe(addr(v2));
        assertEquals("userspace", s1.servedBy());
        for (int i = 0; i < 50; i++) {
            if (i != 20) {
                src.send(ByteBuffer.wrap(rtp(i)), r.local());
            }
        }
        for (DatagramChannel v : List.of(v1, v2)) {
            List<Object[]> got = receive(v, 49, 3000);
            assertEquals(49, got.size());
            assertEquals(r.local(), got.get(0)[0], "copies come from the relay's own address");
            assertArrayEquals(rtp(0), (byte[]) got.get(0)[1]);
        }
        assertEquals(49, r.stats().upstreamPackets());
        assertEquals(98, r.stats().copies());
        assertEquals(49, s1.packets());
        assertEquals(1, r.rtpStats().orElseThrow().lost(), "RFC 3550 loss of the upstream");
        assertEquals(0x1234, r.rtpStats().orElseThrow().ssrc());
    }

    @Test
    void othersGoToTheTapAndAreNotReplicated() throws Exception {
        DatagramChannel publisher = socket();
        DatagramChannel viewer = socket();
        Relay r =
                plane.open(
                        new InetSocketAddress(LO, 0),
                        RelayOptions.of("test/rtcp").withExpectedSource(addr(publisher)));
        r.subscribe(addr(viewer));
        List<InetSocketAddress> tapped = new CopyOnWriteArrayList<>();
        r.tap(
                (from, data, upstream) -> {
                    if (!upstream) {
                        tapped.add(from);
                    }
                },
                false);
        viewer.send(
                ByteBuffer.wrap(new byte[] {(byte) 0x81, (byte) 201, 0, 1}),
                r.local()); // a receiver report
        long end = System.nanoTime() + 2_000_000_000L;
        while (tapped.isEmpty() && System.nanoTime() < end) {
            Thread.sleep(5);
        }
        assertEquals(List.of(addr(viewer)), tapped, "the viewer's report reaches the proxy");
        assertEquals(0, receive(viewer, 1, 200).size(), "and is not sent back out");
        assertEquals(0, r.stats().upstreamPackets());
    }

    @Test
    void strictSourceDropsOthers() throws Exception {
        DatagramChannel publisher = socket();
        DatagramChannel intruder = socket();
        DatagramChannel viewer = socket();
        Relay r =
                plane.open(
                        new InetSocketAddress(LO, 0),
                        RelayOptions.of("test/strict")
                                .withExpectedSource(addr(publisher))
                                .withOthers(RelayOptions.Others.DROP));
        r.subscribe(addr(viewer));
        intruder.send(ByteBuffer.wrap(rtp(1)), r.local());
        publisher.send(ByteBuffer.wrap(rtp(2)), r.local());
        List<Object[]> got = receive(viewer, 2, 500);
        assertEquals(1, got.size());
        assertArrayEquals(rtp(2), (byte[]) got.get(0)[1]);
        assertEquals(1, r.stats().droppedOthers());
    }

    @Test
    void copiesCanComeFromAPartnerRelay() throws Exception {
        DatagramChannel a = socket();
        DatagramChannel b = socket();
        Relay toB = plane.open(new InetSocketAddress(LO, 0), RelayOptions.of("call/a-side"));
        Relay toA = plane.open(new InetSocketAddress(LO, 0), RelayOptions.of("call/b-side"));
        // A sends to toB's port; B must see the media coming from toA's port (the address B was
        // given)
        toB.subscribe(addr(b), toA.local());
        a.send(ByteBuffer.wrap(rtp(7)), toB.local());
        List<Object[]> got = receive(b, 1, 2000);
        assertEquals(1, got.size());
        assertEquals(toA.local(), got.get(0)[0]);
    }

    @Test
    void pairsAreEvenAndOddAndClosingUnsubscribes() throws Exception {
        RelayPair p = plane.openPair(LO, RelayOptions.of("t/rtp"), RelayOptions.of("t/rtcp"));
        assertEquals(0, p.rtp().local().getPort() % 2);
        assertEquals(p.rtp().local().getPort() + 1, p.rtcp().local().getPort());
        DatagramChannel src = socket();
        DatagramChannel v = socket();
        Relay.Subscriber s = p.rtp().subscribe(addr(v));
        s.close();
        src.send(ByteBuffer.wrap(rtp(1)), p.rtp().local());
        assertEquals(0, receive(v, 1, 300).size(), "no copies after the subscriber left");
        assertTrue(p.rtp().subscribers().isEmpty());
        p.close();
        assertTrue(plane.relays().isEmpty());
    }

    DatagramChannel socketOn(String host) throws Exception {
        DatagramChannel c =
                DatagramChannel.open().bind(new InetSocketAddress(InetAddress.getByName(host), 0));
        c.configureBlocking(false);
        open.add(c);
        return c;
    }

    /** A directory in a map: the control side's, as the plane sees it. */
    static final class MapLookup implements IdentityLookup {
        final Map<InetAddress, Integer> ids = new ConcurrentHashMap<>();

        @Override
        public int identityOf(InetAddress addr) {
            return ids.getOrDefault(addr, Identities.WORLD);
        }

        @Override
        public Optional<String> nameOf(int identity) {
            return Optional.empty();
        }
    }

    @Test
    void onlyAllowedIdentitiesFeedTheRelayAsTheKernelRules() throws Exception {
        MapLookup dir = new MapLookup();
        plane.identityLookup(dir);
        DatagramChannel camera = socketOn("127.0.0.2"); // identity 7: allowed
        DatagramChannel other = socketOn("127.0.0.3"); // identity 8: not allowed
        DatagramChannel outsider = socketOn("127.0.0.4"); // no identity
        dir.ids.put(InetAddress.getByName("127.0.0.2"), 7);
        dir.ids.put(InetAddress.getByName("127.0.0.3"), 8);
        DatagramChannel viewer = socket();
        Relay r =
                plane.open(
                        new InetSocketAddress(LO, 0),
                        RelayOptions.of("test/identity").withOthers(RelayOptions.Others.DROP));
        r.allowIdentities(Set.of(7));
        r.subscribe(addr(viewer));

        other.send(ByteBuffer.wrap(rtp(1)), r.local());
        outsider.send(ByteBuffer.wrap(rtp(2)), r.local());
        camera.send(ByteBuffer.wrap(rtp(3)), r.local());
        List<Object[]> got = receive(viewer, 3, 500);
        assertEquals(1, got.size(), "only the allowed identity's packet is copied");
        assertArrayEquals(rtp(3), (byte[]) got.get(0)[1]);
        assertEquals(1, r.stats().identityDenied());
        assertEquals(1, r.stats().identityUnknown());
        assertEquals(1, r.stats().upstreamPackets());

        // WORLD admitted: senders with no identity pass, other identities still not
        r.allowIdentities(Set.of(7, Identities.WORLD));
        outsider.send(ByteBuffer.wrap(rtp(4)), r.local());
        other.send(ByteBuffer.wrap(rtp(5)), r.local());
        got = receive(viewer, 2, 500);
        assertEquals(1, got.size());
        assertArrayEquals(rtp(4), (byte[]) got.get(0)[1]);

        // the camera's address is freed and given to a pod of another identity: not trusted
        r.allowIdentities(Set.of(7));
        dir.ids.remove(InetAddress.getByName("127.0.0.2"));
        dir.ids.put(InetAddress.getByName("127.0.0.2"), 8);
        camera.send(ByteBuffer.wrap(rtp(6)), r.local());
        assertEquals(0, receive(viewer, 1, 300).size(), "a reused address is not trusted");
        assertEquals(3, r.stats().identityDenied());

        // no check any more: everyone feeds it
        r.allowIdentities(null);
        other.send(ByteBuffer.wrap(rtp(7)), r.local());
        assertEquals(1, receive(viewer, 1, 1000).size());
    }

    @Test
    void refusedSendersReachTheTapAsOthersWhenOthersAreDelivered() throws Exception {
        MapLookup dir = new MapLookup();
        plane.identityLookup(dir);
        DatagramChannel viewerPod = socketOn("127.0.0.5"); // identity 9: a viewer, not a publisher
        dir.ids.put(InetAddress.getByName("127.0.0.5"), 9);
        Relay r =
                plane.open(
                        new InetSocketAddress(LO, 0),
                        RelayOptions.of("test/identity-rtcp")
                                .withOthers(RelayOptions.Others.DELIVER_LOCAL)
                                .withAllowedIdentities(Set.of(7)));
        r.subscribe(addr(viewerPod));
        List<Boolean> tapped = new CopyOnWriteArrayList<>();
        r.tap((from, data, upstream) -> tapped.add(upstream), true);
        viewerPod.send(ByteBuffer.wrap(new byte[] {(byte) 0x81, (byte) 201, 0, 1}), r.local());
        long end = System.nanoTime() + 2_000_000_000L;
        while (tapped.isEmpty() && System.nanoTime() < end) {
            Thread.sleep(5);
        }
        assertEquals(List.of(false), tapped, "the report reaches the proxy, not as upstream");
        assertEquals(0, receive(viewerPod, 1, 200).size(), "and is not copied");
        assertEquals(1, r.stats().identityDenied());
    }
}
