package io.msm.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

/** The XDP program: source deny-list and the per-source new-flow token bucket. */
@KernelTest
class XdpTest {
    static final int XDP_DROP = 1;
    static final int XDP_PASS = 2;
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
}
