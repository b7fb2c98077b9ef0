package io.msm.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.config.AgentConfig;
import io.msm.agent.config.ConfigLoader;
import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.DenyKey;
import io.msm.bpf.maps.PortTable;
import io.msm.bpf.maps.RateLimitKey;
import io.msm.bpf.maps.Stat;
import io.msm.bpf.testrun.ProgTestRun;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Packets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The XDP program: source deny-list (on the IP header, whatever follows), IPv6 extension chains
 * longer than the parser follows, and the per-source new-flow token bucket (IPv6 per /64).
 */
@KernelTest
class XdpTest {
    static final int XDP_DROP = 1;
    static final int XDP_PASS = 2;
    static final int TC_ACT_OK = 0;
    static final int HOPOPTS = 0;
    static final int ROUTING = 43;
    static final int FRAGMENT = 44;
    static final int DSTOPTS = 60;
    static Datapath dp;

    @BeforeAll
    static void load() {
        dp = Datapath.load(DatapathSpec.DEFAULT.withFlows(1024));
        dp.configure(DatapathConfig.defaults(), PortTable.defaults());
    }

    @AfterAll
    static void close() {
        if (dp != null) {
            dp.close();
        }
    }

    @BeforeEach
    void reset() {
        var deny = dp.denyList();
        deny.keys().forEach(deny::delete);
        var rl = dp.rateLimits();
        rl.keys().forEach(rl::delete);
        var flows = dp.flows();
        flows.keys().forEach(flows::delete);
        dp.config().update(0, DatapathConfig.defaults());
    }

    static byte[] udp(String src, int sport) {
        return Packets.builder()
                .ip(src, src.contains(":") ? "2001:db8::2" : "10.2.0.2")
                .udp(sport, 6004)
                .payload(Packets.rtp(1, 0, 1, 96, false, 40))
                .build();
    }

    static int xdp(byte[] p) {
        ProgTestRun.Result r = ProgTestRun.run(dp.progFd(Datapath.PROG_XDP), p);
        if (r.retval() == XDP_PASS) {
            assertArrayEquals(p, r.packet(), "XDP passes packets untouched");
        }
        return r.retval();
    }

    @Test
    void deniedPrefixesAreDroppedAndCounted() {
        dp.denyList().update(DenyKey.parse("10.66.0.0/16"), 0L);
        dp.denyList().update(DenyKey.parse("2001:db8:bad::/48"), 0L);
        long before = dp.totals().get(Stat.XDP_DENY);
        assertEquals(XDP_DROP, xdp(udp("10.66.3.4", 1000)));
        assertEquals(XDP_DROP, xdp(udp("10.66.200.1", 1001)));
        assertEquals(XDP_PASS, xdp(udp("10.67.0.1", 1000)));
        assertEquals(XDP_DROP, xdp(udp("2001:db8:bad::7", 1000)));
        assertEquals(XDP_PASS, xdp(udp("2001:db8:900d::7", 1000)));
        assertEquals(3, dp.totals().get(Stat.XDP_DENY) - before);
        assertEquals(
                2L,
                dp.denyList().lookup(DenyKey.parse("10.66.0.0/16")).orElseThrow(),
                "per-prefix hits");
    }

    @Test
    void aHostRouteDeniesOneAddressOnly() {
        dp.denyList().update(DenyKey.parse("10.5.5.5"), 0L);
        assertEquals(XDP_DROP, xdp(udp("10.5.5.5", 1)));
        assertEquals(XDP_PASS, xdp(udp("10.5.5.6", 1)));
    }

    @Test
    void newFlowsPerSourceAreRateLimited() {
        dp.config().update(0, DatapathConfig.defaults().withNewflowLimit(5, 5));
        int passed = 0;
        for (int i = 0; i < 20; i++) {
            if (xdp(udp("10.1.0.1", 2000 + i)) == XDP_PASS) {
                passed++;
            }
        }
        // a burst of 5, plus at most a token refilled while the loop ran (5/s)
        assertTrue(passed >= 5 && passed <= 6, "burst of 5 new flows allowed, got " + passed);
        assertTrue(dp.totals().get(Stat.XDP_RATELIMIT) >= 14);
        assertTrue(
                dp.rateLimits()
                                .lookup(new RateLimitKey(Packets.addr("10.1.0.1")))
                                .orElseThrow()
                                .dropped()
                        >= 14);
        assertEquals(XDP_PASS, xdp(udp("10.1.0.2", 2000)), "another source has its own bucket");
    }

    @Test
    void packetsOfKnownFlowsAreNeverLimited() {
        byte[] known = udp("10.1.0.9", 3000);
        ProgTestRun.run(dp.progFd(Datapath.PROG_TC), known); // the classifier records the flow
        dp.config().update(0, DatapathConfig.defaults().withNewflowLimit(1, 1));
        xdp(udp("10.1.0.9", 3001)); // spends the only token
        assertEquals(XDP_DROP, xdp(udp("10.1.0.9", 3002)), "no token for another new flow");
        for (int i = 0; i < 10; i++) {
            assertEquals(XDP_PASS, xdp(known), "a flow in the table passes");
        }
    }

    @Test
    void nonIpAndMalformedPass() {
        assertEquals(
                XDP_PASS,
                xdp(Packets.builder().etherType(Packets.ETH_P_ARP).payload(new byte[28]).build()));
        assertEquals(
                XDP_PASS,
                xdp(Packets.builder().ip("10.1.0.1", "10.2.0.2").udp(1, 2).udpLength(3).build()));
    }

    static byte[] icmp(String src) {
        boolean v6 = src.contains(":");
        return Packets.builder()
                .ip(src, v6 ? "2001:db8::2" : "10.2.0.2")
                .proto(v6 ? 58 : 1)
                .payload(new byte[] {8, 0, 0, 0, 0, 1, 0, 1}) // an echo request, say
                .build();
    }

    static byte[] udp6WithExtensions(String src, int sport, int... ext) {
        return Packets.builder()
                .ip(src, "2001:db8::2")
                .v6Extensions(ext)
                .udp(sport, 6004)
                .payload(Packets.rtp(1, 0, 1, 96, false, 40))
                .build();
    }

    @Test
    void theDenyListJudgesTheIpHeaderWhateverFollows() {
        dp.denyList().update(DenyKey.parse("10.66.0.0/16"), 0L);
        dp.denyList().update(DenyKey.parse("2001:db8:bad::/48"), 0L);
        long before = dp.totals().get(Stat.XDP_DENY);
        assertEquals(XDP_DROP, xdp(icmp("10.66.3.4")), "ICMP");
        assertEquals(XDP_DROP, xdp(icmp("2001:db8:bad::7")), "ICMPv6");
        assertEquals(
                XDP_DROP,
                xdp(
                        Packets.builder()
                                .ip("10.66.3.4", "10.2.0.2")
                                .proto(47)
                                .payload(new byte[24])
                                .build()),
                "an L4 the parser does not know (GRE)");
        assertEquals(
                XDP_DROP,
                xdp(Packets.builder().ip("10.66.3.4", "10.2.0.2").udp(1, 2).udpLength(3).build()),
                "a malformed UDP header");
        assertEquals(
                XDP_DROP,
                xdp(Packets.builder().ip("10.66.3.4", "10.2.0.2").ihl(4).udp(1, 2).build()),
                "an IPv4 header with a bad IHL");
        assertEquals(
                XDP_DROP,
                xdp(
                        Packets.builder()
                                .ip("10.66.3.4", "10.2.0.2")
                                .fragment(100, false)
                                .udp(1, 2)
                                .payload(new byte[16])
                                .build()),
                "a non-first fragment");
        assertEquals(
                XDP_DROP,
                xdp(
                        udp6WithExtensions(
                                "2001:db8:bad::7",
                                1000,
                                HOPOPTS,
                                DSTOPTS,
                                ROUTING,
                                FRAGMENT,
                                DSTOPTS)),
                "IPv6 with a chain longer than the parser follows");
        assertEquals(7, dp.totals().get(Stat.XDP_DENY) - before, "all counted as denied");
        assertEquals(XDP_PASS, xdp(icmp("10.67.0.1")), "ICMP from elsewhere passes");
        assertEquals(XDP_PASS, xdp(icmp("2001:db8:900d::7")));
    }

    @Test
    void ipv6ChainsLongerThanTheParserFollowsAreDroppedAndCounted() {
        long before = dp.totals().get(Stat.XDP_V6_EXT);
        long denied = dp.totals().get(Stat.XDP_DENY);
        byte[] four =
                udp6WithExtensions("2001:db8:1::1", 1000, HOPOPTS, DSTOPTS, ROUTING, FRAGMENT);
        assertEquals(XDP_PASS, xdp(four), "four headers: the parser reaches UDP");
        byte[] five =
                udp6WithExtensions(
                        "2001:db8:1::1", 1001, HOPOPTS, DSTOPTS, ROUTING, FRAGMENT, DSTOPTS);
        assertEquals(XDP_DROP, xdp(five), "five: the ports are out of reach");
        assertEquals(
                XDP_DROP,
                xdp(
                        udp6WithExtensions(
                                "2001:db8:1::1",
                                1002,
                                DSTOPTS,
                                DSTOPTS,
                                DSTOPTS,
                                DSTOPTS,
                                DSTOPTS,
                                DSTOPTS,
                                DSTOPTS,
                                DSTOPTS)));
        assertEquals(2, dp.totals().get(Stat.XDP_V6_EXT) - before);
        assertEquals(denied, dp.totals().get(Stat.XDP_DENY), "nothing is denied here");

        long notIp = dp.totals().get(Stat.NOT_IP);
        assertEquals(
                TC_ACT_OK,
                ProgTestRun.run(dp.progFd(Datapath.PROG_TC), five).retval(),
                "TC passes what it does not understand, as before");
        assertEquals(1, dp.totals().get(Stat.NOT_IP) - notIp);
    }

    @Test
    void ipv6SourcesShareABucketPerSlash64() {
        dp.config().update(0, DatapathConfig.defaults().withNewflowLimit(5, 5));
        int passed = 0;
        for (int i = 0; i < 10; i++) {
            // one host, ten addresses of its /64 (privacy addresses, or a scan of them)
            if (xdp(udp("2001:db8:1:2::" + Integer.toHexString(i + 1), 2000 + i)) == XDP_PASS) {
                passed++;
            }
        }
        assertTrue(passed >= 5 && passed <= 6, "one burst of 5 for the /64, got " + passed);
        assertTrue(
                dp.rateLimits()
                                .lookup(RateLimitKey.of(Packets.addr("2001:db8:1:2::77")))
                                .orElseThrow()
                                .dropped()
                        >= 4);
        assertEquals(
                RateLimitKey.of(Packets.addr("2001:db8:1:2::1")),
                new RateLimitKey(Packets.addr("2001:db8:1:2::")),
                "the key is the /64");
        assertEquals(1, dp.rateLimits().keys().size(), "one bucket for the ten addresses");
        assertEquals(
                XDP_PASS, xdp(udp("2001:db8:1:3::1", 2000)), "the next /64 has its own bucket");
        assertEquals(2, dp.rateLimits().keys().size());
    }

    @Test
    void theAgentsDefaultConfigLimitsNewFlowsWithoutBotheringANormalSource() {
        AgentConfig.Protection p =
                ConfigLoader.load(null, ConfigLoader.Overrides.NONE).protection();
        assertTrue(p.newFlowsPerSecond() > 0, "the limit is on by default");
        assertTrue(p.newFlowsPerSecond() >= 1000, "thousands a second per source");
        dp.config()
                .update(
                        0,
                        DatapathConfig.defaults()
                                .withNewflowLimit(p.newFlowsPerSecond(), p.newFlowBurst()));
        int burst = Math.max(p.newFlowBurst(), p.newFlowsPerSecond());
        // a busy but normal source: a thousand new flows at once all pass
        for (int i = 0; i < 1000; i++) {
            assertEquals(XDP_PASS, xdp(udp("10.1.0.1", 1000 + i)), "flow " + i);
        }
        // a flood from one source stops once the burst is spent
        int dropped = 0;
        int flood = burst + 10 * p.newFlowsPerSecond();
        long t0 = System.nanoTime();
        for (int i = 0; i < flood; i++) {
            byte[] p2 =
                    Packets.builder()
                            .ip("10.1.0.3", "10.2.0.2")
                            .udp(1 + i % 60000, 7000 + i / 60000)
                            .payload(new byte[8])
                            .build();
            if (ProgTestRun.run(dp.progFd(Datapath.PROG_XDP), p2).retval() == XDP_DROP) {
                dropped++;
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertTrue(dropped > 0, "a flood of new flows from one source is limited");
        assertTrue(
                flood - dropped <= burst + p.newFlowsPerSecond() * seconds + 2,
                "at most the burst and the rate passed: "
                        + (flood - dropped)
                        + " in "
                        + seconds
                        + " s");
        assertEquals(XDP_PASS, xdp(udp("10.1.0.4", 1)), "while another source still opens flows");
    }
}
