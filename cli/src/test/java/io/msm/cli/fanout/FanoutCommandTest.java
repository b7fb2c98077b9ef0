package io.msm.cli.fanout;

import static io.msm.cli.FakeDatapath.ip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.FanoutSub;
import io.msm.bpf.maps.GroupStats;
import io.msm.bpf.maps.RewriteState;
import io.msm.bpf.maps.SubStats;
import io.msm.cli.FakeDatapath;
import io.msm.cli.FakeHost;
import io.msm.cli.Run;
import java.net.Inet4Address;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class FanoutCommandTest {
    FakeDatapath dp;
    FakeHost host;

    static Inet4Address v4(String s) {
        return (Inet4Address) ip(s);
    }

    static FanoutSub sub(int ifindex, int id, String dst, int dport, int flags) {
        return new FanoutSub(
                ifindex,
                id,
                new byte[] {2, 0, 0, 0, 0, (byte) id},
                new byte[6],
                v4("10.9.0.1"),
                v4(dst),
                7000 + id,
                dport,
                flags);
    }

    @BeforeEach
    void groups() {
        dp = new FakeDatapath();
        host = new FakeHost();
        host.ifnames.put(1, "lo");
        host.ifnames.put(7, "eth0");
        // put the later address first: output is ordered by upstream address
        dp.groups.put(
                new FanoutKey(v4("10.9.0.2"), 5004),
                new FanoutGroup(
                        4,
                        FanoutGroup.F_LOCAL | FanoutGroup.F_STRICT,
                        v4("192.0.2.1"),
                        0,
                        List.of()));
        dp.groups.put(
                new FanoutKey(v4("10.9.0.1"), 5004),
                new FanoutGroup(
                        3,
                        0,
                        null,
                        0,
                        List.of(
                                sub(1, 10, "10.1.0.1", 6000, 0),
                                sub(7, 11, "10.1.0.2", 6002, FanoutSub.F_INGRESS),
                                sub(99, 12, "10.1.0.3", 6004, 0))));
        dp.groupStats.put(3, new GroupStats(100, 120_000, 297, 3, 0));
        dp.groupStats.put(4, new GroupStats(5, 500, 0, 0, 2));
        dp.subStats.put(10, new SubStats(100, 120_000, 0));
        dp.subStats.put(11, new SubStats(99, 118_800, 1));
        dp.subStats.put(12, new SubStats(98, 117_600, 2));
    }

    @Test
    void jsonListsGroupsWithSubscribersAndSummedCounters() throws Exception {
        Run r = Run.of(dp, host, "fanout", "--json");
        assertEquals(0, r.exit(), r.toString());
        JsonNode all = new ObjectMapper().readTree(r.out());
        assertEquals(2, all.size());
        JsonNode g = all.get(0);
        assertEquals("10.9.0.1:5004", g.get("upstream").asText());
        assertEquals(3, g.get("group_id").asInt());
        assertEquals(100, g.get("packets").asLong());
        assertEquals(297, g.get("copies").asLong());
        assertEquals(3, g.get("errors").asLong());
        JsonNode subs = g.get("subscribers");
        assertEquals(3, subs.size());
        JsonNode s0 = subs.get(0);
        assertEquals("10.1.0.1:6000", s0.get("destination").asText());
        assertEquals(1, s0.get("ifindex").asInt());
        assertEquals("lo", s0.get("ifname").asText());
        assertEquals("10.9.0.1:7010", s0.get("source").asText());
        assertEquals(100, s0.get("packets").asLong());
        assertEquals("02:00:00:00:00:0a", s0.get("dmac").asText());
        assertEquals(true, subs.get(1).get("ingress").asBoolean());
        assertEquals(1, subs.get(1).get("errors").asLong());
        assertTrue(subs.get(2).get("ifname").isNull(), "no interface 99 here");

        JsonNode strict = all.get(1);
        assertEquals("10.9.0.2:5004", strict.get("upstream").asText());
        assertEquals("[\"local\",\"strict\"]", strict.get("flags").toString());
        assertEquals("192.0.2.1:*", strict.get("source_filter").asText());
        assertEquals(2, strict.get("strict_drops").asLong());
        assertEquals(0, strict.get("subscribers").size());
    }

    @Test
    void aRelayTreeGroupSaysWhatFeedsIt() throws Exception {
        dp.labels.put(3, "rtsp/cam/track0/rtp <- node node-a's agent");
        dp.labels.put(4, "rtsp/door/track0/rtp");
        JsonNode all = new ObjectMapper().readTree(Run.of(dp, host, "fanout", "--json").out());
        assertEquals("rtsp/cam/track0/rtp", all.get(0).get("label").asText(), "as metrics name it");
        assertEquals("node node-a's agent", all.get(0).get("fed_by").asText());
        assertEquals("rtsp/door/track0/rtp", all.get(1).get("label").asText());
        assertTrue(all.get(1).get("fed_by") == null, "not said: no field");
        Run t = Run.of(dp, host, "fanout");
        assertTrue(t.out().contains("rtsp/cam/track0/rtp <- node node-a's agent"), t.out());
    }

    @Test
    void tableShowsEachGroupThenItsSubscribers() {
        Run r = Run.of(dp, host, "fanout");
        assertEquals(0, r.exit(), r.toString());
        String out = r.out();
        assertTrue(
                out.startsWith(
                        "udp 10.9.0.1:5004  group 3\n  in 100 packets (120.0 kB)  copies out 297  errors 3\n"),
                out);
        assertTrue(
                out.contains(
                        "  DESTINATION    IFINDEX  IFACE           SOURCE         PACKETS     BYTES  ERRORS\n"),
                out);
        assertTrue(
                out.contains(
                        "  10.1.0.1:6000        1  lo              10.9.0.1:7010      100  120.0 kB       0\n"),
                out);
        assertTrue(out.contains("eth0 (ingress)"), out);
        assertTrue(out.contains("      99  ?  "), "unknown interface shown as ?: " + out);
        assertTrue(
                out.contains("udp 10.9.0.2:5004  group 4  [local, strict from 192.0.2.1:*]\n"),
                out);
        assertTrue(out.contains("strict drops 2"), out);
        assertTrue(out.contains("  no subscribers\n"), out);
        assertTrue(out.endsWith("2 groups, 3 subscribers\n"), out);
    }

    @Test
    void noGroups() {
        dp.groups.clear();
        Run r = Run.of(dp, host, "fanout");
        assertEquals(0, r.exit());
        assertEquals("no fan-out groups\n", r.out());
        Run j = Run.of(dp, host, "fanout", "--json");
        assertEquals("[ ]\n", j.out());
    }

    void identityGroup() {
        dp.groups.put(
                new FanoutKey(v4("10.9.0.3"), 5004),
                new FanoutGroup(5, FanoutGroup.F_IDENTITY, null, 0, List.of()));
        dp.groupStats.put(5, new GroupStats(40, 4000, 0, 0, 0, 3, 17));
        dp.allowed.put(5, new TreeSet<>(List.of(0, 7, 9)));
        dp.identityNames.put(7, "spiffe://cluster.local/ns/media/sa/camera");
    }

    @Test
    void identityGroupsListWhoTheyAdmitAndWhatTheyRefused() throws Exception {
        identityGroup();
        Run r = Run.of(dp, host, "fanout");
        assertEquals(0, r.exit(), r.toString());
        assertTrue(
                r.out()
                        .contains(
                                "udp 10.9.0.3:5004  group 5  [identity]\n"
                                        + "  in 40 packets (4.0 kB)  copies out 0  errors 0\n"
                                        + "  admits world, spiffe://cluster.local/ns/media/sa/camera,"
                                        + " identity 9  refused: unknown 3, denied 17\n"),
                r.out());

        JsonNode g = new ObjectMapper().readTree(Run.of(dp, host, "fanout", "--json").out()).get(2);
        assertEquals("[\"identity\"]", g.get("flags").toString());
        assertEquals(3, g.get("identity_unknown").asLong());
        assertEquals(17, g.get("identity_denied").asLong());
        JsonNode allowed = g.get("allowed_identities");
        assertEquals(3, allowed.size());
        assertEquals("world", allowed.get(0).get("name").asText());
        assertEquals(7, allowed.get(1).get("id").asInt());
        assertEquals(
                "spiffe://cluster.local/ns/media/sa/camera", allowed.get(1).get("name").asText());
    }

    @Test
    void aRewritingGroupShowsItsSourceSwitchesAndStandby() {
        FanoutGroup g = new FanoutGroup(3, FanoutGroup.F_REWRITE, null, 0, List.of());
        long now = 50_000_000_000L;
        RewriteState rw =
                new RewriteState(
                        RewriteState.F_PRIMED,
                        3,
                        0xAB,
                        0xCD,
                        90000,
                        0xfffe,
                        5,
                        1000,
                        9000,
                        now - 3_000_000_000L,
                        1,
                        42,
                        0,
                        (Inet4Address) ip("10.1.0.6"),
                        40000,
                        true,
                        300_000_000L,
                        now - 3_000_000_000L);
        String line = FanoutCommand.continuity(g, rw, now);
        assertTrue(line.contains("source ssrc 000000cd as 000000ab"), line);
        assertTrue(line.contains("seq -2"), line);
        assertTrue(line.contains("switches 1"), line);
        assertTrue(line.contains("source silent 3 s (publisher in grace?)"), line);
        assertTrue(line.contains("hot standby: 10.1.0.6:40000 (standby active)"), line);
        assertTrue(line.contains("300 ms of silence"), line);
        FanoutGroup rtcp = new FanoutGroup(4, FanoutGroup.F_REWRITE, null, 0, List.of());
        assertTrue(
                FanoutCommand.continuity(rtcp, rw, now)
                        .startsWith("sender reports follow group 3"));
    }
}
