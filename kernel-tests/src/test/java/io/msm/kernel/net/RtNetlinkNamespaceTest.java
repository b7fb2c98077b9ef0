package io.msm.kernel.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.datapath.Interfaces;
import io.msm.agent.net.NextHop;
import io.msm.agent.net.NextHops;
import io.msm.agent.net.netlink.Link;
import io.msm.agent.net.netlink.RtNetlink;
import io.msm.bpf.maps.Addr;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Names;
import io.msm.testkit.Netns;
import io.msm.testkit.Sh;
import io.msm.testkit.Testkit;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What the agent asks the kernel over rtnetlink, against a real kernel: next hops (a namespace with
 * a veth pair, on-link and gatewayed destinations, permanent, failed and missing neighbours, an
 * unreachable prefix, a local address, a non-Ethernet tun interface), the interface list, and
 * whether a clsact hook still holds filters. No packet is sent.
 */
@KernelTest
class RtNetlinkNamespaceTest {
    static Netns ns;
    static byte[] macA;

    @BeforeAll
    static void setUp() {
        ns = Netns.create(Names.runId() + "-nh");
        ns.ip("link", "add", "nha", "type", "veth", "peer", "name", "nhb");
        ns.ip("addr", "add", "10.77.0.1/16", "dev", "nha");
        ns.ip("link", "set", "nha", "up");
        ns.ip("link", "set", "nhb", "up");
        ns.ip(
                "neigh",
                "add",
                "10.77.0.5",
                "lladdr",
                "02:00:00:00:00:05",
                "nud",
                "permanent",
                "dev",
                "nha");
        ns.ip(
                "neigh",
                "add",
                "10.77.0.9",
                "lladdr",
                "02:00:00:00:00:09",
                "nud",
                "permanent",
                "dev",
                "nha");
        ns.ip("neigh", "add", "10.77.0.8", "nud", "failed", "dev", "nha");
        ns.ip("route", "add", "10.99.0.0/16", "via", "10.77.0.9", "dev", "nha");
        ns.ip("route", "add", "unreachable", "10.200.0.0/16");
        macA = ns.mac("nha");
    }

    @AfterAll
    static void tearDown() {
        if (ns != null) {
            ns.close();
        }
    }

    private static NextHop resolve(String dst, Runnable probe, long waitMs) {
        return ns.call(() -> NextHops.resolve(InetAddress.getByName(dst), probe, waitMs));
    }

    private static String unresolved(String dst, long waitMs) {
        return ns.call(
                () ->
                        assertThrows(
                                        NextHops.Unresolved.class,
                                        () ->
                                                NextHops.resolve(
                                                        InetAddress.getByName(dst), null, waitMs))
                                .getMessage());
    }

    @Test
    void onLinkDestinationGoesToItsOwnNeighbour() throws Exception {
        NextHop h = resolve("10.77.0.5", null, 0);
        assertEquals("nha", h.ifname());
        assertEquals(ns.ifindex("nha"), h.ifindex());
        assertEquals(InetAddress.getByName("10.77.0.1"), h.preferredSource());
        assertArrayEquals(macA, h.srcMac(), "source MAC is the egress interface's");
        assertArrayEquals(Addr.parseMac("02:00:00:00:00:05"), h.dstMac());
        assertFalse(h.local());
    }

    @Test
    void gatewayedDestinationGoesToTheGatewaysMac() {
        NextHop h = resolve("10.99.3.4", null, 0);
        assertEquals("nha", h.ifname());
        assertArrayEquals(
                Addr.parseMac("02:00:00:00:00:09"),
                h.dstMac(),
                "the gateway's MAC, not the destination's");
    }

    @Test
    void localAddressIsServedLocally() {
        NextHop h = resolve("10.77.0.1", null, 0);
        assertTrue(h.local());
        assertEquals("lo", h.ifname());
    }

    @Test
    void unreachableMissingAndFailedAreUnresolvedWithTheReason() {
        assertTrue(
                unresolved("10.200.1.1", 0).contains("no route to 10.200.1.1"),
                unresolved("10.200.1.1", 0));
        String missing = unresolved("10.77.0.77", 60);
        assertTrue(
                missing.contains("no neighbour entry for 10.77.0.77 on nha after 60 ms"), missing);
        String failed = unresolved("10.77.0.8", 0);
        assertTrue(failed.contains("no neighbour entry for 10.77.0.8"), failed);
    }

    @Test
    void probeIsRunOnceAndTheEntryItCausesIsPickedUp() {
        AtomicInteger probes = new AtomicInteger();
        NextHop h =
                resolve(
                        "10.77.0.66",
                        () -> {
                            probes.incrementAndGet();
                            // what a probe datagram's ARP exchange would leave behind
                            ns.ip(
                                    "neigh",
                                    "add",
                                    "10.77.0.66",
                                    "lladdr",
                                    "02:00:00:00:00:66",
                                    "nud",
                                    "reachable",
                                    "dev",
                                    "nha");
                        },
                        5000);
        assertEquals(1, probes.get());
        assertArrayEquals(Addr.parseMac("02:00:00:00:00:66"), h.dstMac());
    }

    @Test
    void tunnelWithoutEthernetIsLeftToUserspace() throws Exception {
        Path tun = Path.of("/dev/net/tun");
        if (!Files.exists(
                tun)) { // a bare guest without udev: the kernel loads tun when its node is opened
            Files.createDirectories(tun.getParent());
            Sh.run("mknod", tun.toString(), "c", "10", "200");
        }
        ns.ip("tuntap", "add", "dev", "nht", "mode", "tun");
        try {
            ns.ip("addr", "add", "10.66.0.1/24", "dev", "nht");
            ns.ip("link", "set", "nht", "up");
            String why = unresolved("10.66.0.5", 0);
            assertTrue(why.contains("leaves by nht, which has no Ethernet address"), why);
            Link l =
                    ns.call(
                            () -> {
                                try (RtNetlink nl = RtNetlink.open()) {
                                    return nl.link(ns.ifindex("nht")).orElseThrow();
                                }
                            });
            assertFalse(l.ethernet());
            assertNull(l.address());
        } finally {
            ns.ip("link", "del", "nht");
        }
    }

    private static boolean hasFilters(String dev, int parent) {
        return ns.call(
                () -> {
                    try (RtNetlink nl = RtNetlink.open()) {
                        return nl.hasFilters(ns.ifindex(dev), parent);
                    }
                });
    }

    @Test
    void filtersOnAClsactHookAreSeenWhoeverOwnsThem() {
        assertFalse(hasFilters("nhb", RtNetlink.CLSACT_INGRESS), "no clsact qdisc: no filters");
        try (Testkit kit = Testkit.load()) {
            kit.attach(ns, "nhb", Testkit.PROG_SINK); // somebody else's filter, ingress
            assertTrue(hasFilters("nhb", RtNetlink.CLSACT_INGRESS));
            assertFalse(
                    hasFilters("nhb", RtNetlink.CLSACT_EGRESS), "the egress hook is still empty");
            assertFalse(
                    hasFilters("nha", RtNetlink.CLSACT_INGRESS), "the other interface has none");
            Sh.run("tc", "-n", ns.name(), "filter", "del", "dev", "nhb", "ingress");
            assertFalse(hasFilters("nhb", RtNetlink.CLSACT_INGRESS), "the qdisc stays, empty");
        } finally {
            Sh.exec("tc", "-n", ns.name(), "qdisc", "del", "dev", "nhb", "clsact");
        }
        assertFalse(
                ns.call(
                        () -> {
                            try (RtNetlink nl = RtNetlink.open()) {
                                return nl.hasFilters(999_999, RtNetlink.CLSACT_INGRESS);
                            }
                        }),
                "an interface that does not exist has no filters");
    }

    @Test
    void linksAreTheNamespacesOwnAsIpShowsThem() {
        List<String> set = ns.call(Interfaces::defaultSet);
        assertEquals(List.of("nha", "nhb"), set, "up, not loopback, sorted");
        List<Link> links =
                ns.call(
                        () -> {
                            try (RtNetlink nl = RtNetlink.open()) {
                                return nl.links();
                            }
                        });
        assertEquals(List.of("lo", "nha", "nhb"), links.stream().map(Link::name).sorted().toList());
        Link a = links.stream().filter(l -> l.name().equals("nha")).findFirst().orElseThrow();
        assertEquals(ns.ifindex("nha"), a.index());
        assertArrayEquals(macA, a.address());
        assertTrue(a.up() && a.ethernet());
        assertTrue(
                links.stream()
                        .filter(l -> l.name().equals("lo"))
                        .findFirst()
                        .orElseThrow()
                        .loopback());
        assertTrue(
                ns.call(
                        () -> {
                            try (RtNetlink nl = RtNetlink.open()) {
                                return nl.link(999_999).isEmpty();
                            }
                        }),
                "an index nobody has is empty, not an error");
        // a socket opened outside the namespace sees the host's links, not these
        assertFalse(Interfaces.defaultSet().contains("nha"));
    }
}
