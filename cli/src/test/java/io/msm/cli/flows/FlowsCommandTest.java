package io.msm.cli.flows;

import static io.msm.cli.FakeDatapath.ip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.FanoutSub;
import io.msm.bpf.maps.Flow;
import io.msm.bpf.maps.FlowKey;
import io.msm.bpf.maps.GameSession;
import io.msm.bpf.maps.GameSessionKey;
import io.msm.bpf.maps.TrafficClass;
import io.msm.cli.FakeDatapath;
import io.msm.cli.FakeHost;
import io.msm.cli.Run;
import io.msm.cli.source.DatapathView.GameSessionView;
import java.net.Inet4Address;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class FlowsCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final long S = 1_000_000_000L;
    static final long MS = 1_000_000L;

    FakeHost host;
    FakeDatapath dp;
    FlowKey rtp1;
    FlowKey control;
    FlowKey stun6;
    FlowKey rtp2;

    @BeforeEach
    void flows() {
        host = new FakeHost();
        long now = host.nowNs;
        dp = new FakeDatapath();
        rtp1 = FlowKey.udp(ip("10.0.0.1"), 5004, ip("10.0.0.9"), 6000);
        control = FlowKey.tcp(ip("10.0.0.2"), 40000, ip("10.0.0.9"), 554);
        stun6 = FlowKey.udp(ip("2001:db8::1"), 3478, ip("2001:db8::2"), 40000);
        rtp2 = FlowKey.udp(ip("10.0.0.3"), 5004, ip("10.0.0.9"), 7000);
        // expected = 65536 + 100 - 1 + 1 = 65636, received 65600: 36 lost; jitter 900 units at 90
        // kHz = 10 ms
        dp.flows.put(
                rtp1,
                FakeDatapath.rtpFlow(
                        1000,
                        1_200_000,
                        now - 10 * S,
                        now - 20 * MS,
                        0xdeadbeefL,
                        100,
                        65536,
                        1,
                        65600,
                        16 * 900,
                        90000));
        dp.flows.put(
                control, FakeDatapath.flow(TrafficClass.CONTROL, 20, 2000, now - 60 * S, now - S));
        dp.flows.put(stun6, FakeDatapath.flow(TrafficClass.STUN, 5, 500, now - 5 * S, now - 5 * S));
        dp.flows.put(
                rtp2,
                FakeDatapath.rtpFlow(
                        5000, 700_000, now - 2 * S, now, 7, 5000, 0, 1, 5000, 0, 90000));
        List<FanoutSub> subs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            subs.add(
                    new FanoutSub(
                            1,
                            i,
                            new byte[6],
                            new byte[6],
                            (Inet4Address) ip("10.0.0.9"),
                            (Inet4Address) ip("10.0.1." + (i + 1)),
                            7000,
                            6000,
                            0));
        }
        dp.groups.put(
                new FanoutKey((Inet4Address) ip("10.0.0.9"), 6000),
                new FanoutGroup(0, 0, null, 0, subs));
    }

    JsonNode json(String... args) throws Exception {
        Run r = Run.of(dp, host, args);
        assertEquals(0, r.exit(), r.toString());
        JsonNode n = JSON.readTree(r.out());
        assertTrue(n.isArray(), r.out());
        return n;
    }

    static JsonNode bySrc(JsonNode arr, String src) {
        for (JsonNode n : arr) {
            if (n.get("src").asText().equals(src)) {
                return n;
            }
        }
        throw new AssertionError("no flow from " + src + " in " + arr);
    }

    @Test
    void jsonHasTheSchemaAndTheKernelsValues() throws Exception {
        JsonNode all = json("flows", "--json");
        assertEquals(4, all.size());

        JsonNode f = bySrc(all, "10.0.0.1:5004");
        assertEquals("10.0.0.9:6000", f.get("dst").asText());
        assertEquals("udp", f.get("proto").asText());
        assertEquals("rtp", f.get("class").asText());
        assertEquals(1000, f.get("packets").asLong());
        assertEquals(1_200_000, f.get("bytes").asLong());
        assertEquals(10_000, f.get("age_ms").asLong());
        assertEquals(20, f.get("idle_ms").asLong());
        assertEquals(
                3,
                f.get("fanout").asInt(),
                "the group keyed by this flow's destination has 3 subscribers");
        JsonNode rtp = f.get("rtp");
        assertEquals(0xdeadbeefL, rtp.get("ssrc").asLong());
        assertEquals(65636, rtp.get("highest_seq").asLong());
        assertEquals(36, rtp.get("lost").asLong());
        assertEquals(10.0, rtp.get("jitter_ms").asDouble(), 1e-9);
        assertEquals(96, rtp.get("payload_type").asInt());
        assertEquals(90000, rtp.get("clock_rate").asLong());
        assertFalse(f.has("pps"), "rates only while watching");

        JsonNode c = bySrc(all, "10.0.0.2:40000");
        assertEquals("tcp", c.get("proto").asText());
        assertEquals("control", c.get("class").asText());
        assertEquals("10.0.0.9:554", c.get("dst").asText());
        assertEquals(0, c.get("fanout").asInt());
        assertFalse(c.has("rtp"), "rtp only for RTP flows");

        JsonNode v6 = bySrc(all, "[2001:db8::1]:3478");
        assertEquals("[2001:db8::2]:40000", v6.get("dst").asText());
        assertEquals("stun", v6.get("class").asText());
        assertEquals(0, v6.get("fanout").asInt());

        assertEquals(
                0, bySrc(all, "10.0.0.3:5004").get("fanout").asInt(), "no group for port 7000");
    }

    @Test
    void jsonPutsOneFlowPerLine() {
        Run r = Run.of(dp, host, "flows", "--json");
        String[] lines = r.out().split("\n");
        assertEquals("[", lines[0]);
        assertEquals("]", lines[lines.length - 1]);
        assertEquals(4 + 2, lines.length, r.out());
        assertTrue(lines[1].startsWith("{\"src\":") && lines[1].endsWith("},"), lines[1]);
    }

    @Test
    void emptyTableIsAnEmptyArray() throws Exception {
        dp.flows.clear();
        assertEquals(0, json("flows", "--json").size());
        Run t = Run.of(dp, host, "flows");
        assertEquals(0, t.exit());
        assertTrue(t.out().endsWith("0 flows, by packets\n"), t.out());
    }

    @Test
    void classFilterKeepsOnlyThoseClasses() throws Exception {
        JsonNode rtp = json("flows", "--json", "--class", "rtp");
        assertEquals(2, rtp.size());
        rtp.forEach(n -> assertEquals("rtp", n.get("class").asText()));
        JsonNode two = json("flows", "--json", "--class", "STUN,control");
        assertEquals(2, two.size());
        assertEquals(0, json("flows", "--json", "--class", "game").size());
    }

    @Test
    void sortAndLimit() throws Exception {
        assertEquals(
                List.of("10.0.0.3:5004", "10.0.0.1:5004", "10.0.0.2:40000", "[2001:db8::1]:3478"),
                srcs(json("flows", "--json", "--sort", "packets")));
        assertEquals(
                List.of("10.0.0.1:5004", "10.0.0.3:5004"),
                srcs(json("flows", "--json", "--sort", "bytes", "--limit", "2")));
        assertEquals(
                "10.0.0.1:5004",
                srcs(json("flows", "--json", "--sort", "loss")).get(0),
                "36 lost beats 0");
        assertEquals("10.0.0.1:5004", srcs(json("flows", "--json", "--sort", "jitter")).get(0));
        assertEquals(
                List.of("10.0.0.2:40000", "10.0.0.1:5004", "[2001:db8::1]:3478", "10.0.0.3:5004"),
                srcs(json("flows", "--json", "--sort", "age")),
                "oldest first");
        // unsorted JSON streams in map order and stops at the limit
        assertEquals(
                List.of("10.0.0.1:5004", "10.0.0.2:40000"),
                srcs(json("flows", "--json", "--limit", "2")));
    }

    static List<String> srcs(JsonNode arr) {
        List<String> out = new ArrayList<>();
        arr.forEach(n -> out.add(n.get("src").asText()));
        return out;
    }

    @Test
    void tableShowsUnitsAlignedAndSortedByPackets() {
        Run r = Run.of(dp, host, "flows");
        assertEquals(0, r.exit(), r.toString());
        String[] lines = r.out().split("\n");
        assertEquals(
                List.of(
                        "PROTO", "SRC", "DST", "CLASS", "PACKETS", "BYTES", "LOST", "JITTER", "AGE",
                        "IDLE", "FANOUT"),
                List.of(lines[0].trim().split("\\s{2,}")));
        assertTrue(lines[1].startsWith("udp    10.0.0.3:5004"), "most packets first:\n" + r.out());
        String rtp1Line = lines[2];
        for (String cell :
                new String[] {
                    "10.0.0.1:5004",
                    "10.0.0.9:6000",
                    "rtp",
                    "1000",
                    "1.2 MB",
                    "36 (0.05%)",
                    "10.00 ms",
                    "10.0 s",
                    "20 ms"
                }) {
            assertTrue(rtp1Line.contains(cell), "'" + cell + "' in: " + rtp1Line);
        }
        assertTrue(rtp1Line.endsWith(" 3"), "fan-out count last: " + rtp1Line);
        assertTrue(r.out().contains("[2001:db8::1]:3478"), r.out());
        // right-aligned numbers: every row ends at the same column as the header
        int width = lines[0].length();
        for (int i = 1; i <= 4; i++) {
            assertEquals(width, lines[i].length(), "row " + i + " aligned:\n" + r.out());
        }
        assertEquals("4 flows, by packets", lines[5]);
    }

    @Test
    void tableLimitSaysHowManyWereLeftOut() {
        Run r = Run.of(dp, host, "flows", "--limit", "1", "--sort", "age");
        assertTrue(r.out().endsWith("1 of 4 flows, by age\n"), r.out());
        assertTrue(r.out().split("\n")[1].startsWith("tcp"), r.out());
    }

    @Test
    void watchRedrawsInPlaceWithRatesBetweenRefreshes() {
        host.tickNs = S; // each refresh reads the clock once: one second apart
        int[] reads = {0};
        dp.beforeFlowRead =
                () -> {
                    if (++reads[0] == 2) {
                        Flow f = dp.flows.get(rtp1);
                        dp.flows.put(
                                rtp1,
                                new Flow(
                                        f.classId(),
                                        f.flags(),
                                        f.classMask(),
                                        f.packets() + 100,
                                        f.bytes() + 100_000,
                                        f.firstNs(),
                                        f.lastNs(),
                                        f.rtp()));
                    }
                };
        Run r = Run.of(dp, host, "flows", "--watch", "--count", "2", "--interval", "0.05");
        assertEquals(0, r.exit(), r.toString());
        String[] frames = r.out().split(Pattern.quote(FlowsCommand.CLEAR), -1);
        assertEquals(3, frames.length, "two frames, each after a clear: " + r.out());
        assertTrue(frames[1].contains("RATE") && frames[1].contains("BITRATE"), frames[1]);
        String first = line(frames[1], "10.0.0.1:5004");
        assertTrue(first.matches(".*\\s-\\s+-\\s.*"), "no rate before a second sample: " + first);
        String second = line(frames[2], "10.0.0.1:5004");
        assertTrue(second.contains("100 pps") && second.contains("800.0 kbit/s"), second);
        assertTrue(line(frames[2], "10.0.0.2:40000").contains("0 pps"), frames[2]);
        assertEquals(2, dp.flowReads);
    }

    private static String line(String text, String containing) {
        for (String l : text.split("\n")) {
            if (l.contains(containing)) {
                return l;
            }
        }
        throw new AssertionError("no line with " + containing + " in:\n" + text);
    }

    @Test
    void badOptionsAreUsageErrors() {
        Run r = Run.of(dp, host, "flows", "--class", "video");
        assertEquals(2, r.exit());
        assertTrue(
                r.err()
                        .contains(
                                "unknown class 'video' (one of: rtp, rtcp, stun, dtls, game, control, other)"),
                r.err());
        assertEquals(2, Run.of(dp, host, "flows", "--sort", "colour").exit());
        assertEquals(2, Run.of(dp, host, "flows", "--limit", "-1").exit());
        Run both = Run.of(dp, host, "flows", "--watch", "--json");
        assertEquals(2, both.exit());
        assertTrue(both.err().contains("--watch draws a table for a terminal"), both.err());
        Run count = Run.of(dp, host, "flows", "--count", "3");
        assertEquals(2, count.exit());
        assertTrue(
                count.err().contains("--interval and --count only apply with --watch"),
                count.err());
        assertEquals(2, Run.of(dp, host, "flows", "--watch", "--interval", "0").exit());
        assertEquals(0, dp.flowReads, "nothing read for a bad command line");
    }

    @Test
    void sortKeysAreCaseInsensitive() throws Exception {
        assertEquals(4, json("flows", "--json", "--sort", "PACKETS").size());
    }

    @Test
    void theDatapathIsClosedAfterReading() {
        Run.of(dp, host, "flows", "--json");
        assertTrue(dp.closed);
    }

    @Test
    void eachFlowShowsItsSourcesIdentityWhenTheNodeKnowsIdentities() throws Exception {
        JsonNode before = json("flows", "--json");
        assertEquals("world", bySrc(before, "10.0.0.1:5004").get("identity").asText());
        Run plain = Run.of(dp, host, "flows");
        assertTrue(!plain.out().contains("IDENTITY"), "no column without identities");

        dp.identities.put(ip("10.0.0.1"), 7);
        dp.identities.put(ip("10.0.0.2"), 9); // no name given
        dp.identityNames.put(7, "spiffe://cluster.local/ns/media/sa/camera");
        JsonNode all = json("flows", "--json");
        assertEquals(
                "spiffe://cluster.local/ns/media/sa/camera",
                bySrc(all, "10.0.0.1:5004").get("identity").asText());
        assertEquals("identity 9", bySrc(all, "10.0.0.2:40000").get("identity").asText());
        assertEquals("world", bySrc(all, "10.0.0.3:5004").get("identity").asText());

        Run r = Run.of(dp, host, "flows");
        assertEquals(0, r.exit(), r.toString());
        String[] lines = r.out().split("\n");
        assertTrue(lines[0].trim().endsWith("FANOUT  IDENTITY"), lines[0]);
        for (String line : lines) {
            if (line.contains("10.0.0.1:5004")) {
                assertTrue(line.trim().endsWith("spiffe://cluster.local/ns/media/sa/camera"), line);
            }
        }
    }

    @Test
    void aGameSessionsClientFlowShowsItsBackend() throws Exception {
        Run plain = Run.of(dp, host, "flows");
        assertTrue(!plain.out().contains("BACKEND"), "no column without game sessions");

        long now = host.nowNs;
        FlowKey client = FlowKey.udp(ip("198.51.100.7"), 42000, ip("192.0.2.10"), 7777);
        dp.flows.put(client, FakeDatapath.flow(TrafficClass.GAME, 30, 3000, now - 5 * S, now));
        Inet4Address c = (Inet4Address) ip("198.51.100.7");
        // the session moved from port 41000 to 42000: the flow of its current address
        dp.games.add(
                new GameSessionView(
                        "192.0.2.10:7777",
                        new GameSessionKey(0, GameSessionKey.KIND_KCP, 0x1234abcd, 0, 0, 0),
                        new GameSession(3, c, 41000, c, 42000, 1, 2, 10, 9, 1),
                        "10.1.0.2:7000"));
        JsonNode all = json("flows", "--json");
        assertEquals("10.1.0.2:7000", bySrc(all, "198.51.100.7:42000").get("backend").asText());
        assertTrue(bySrc(all, "10.0.0.1:5004").get("backend") == null, "only game flows");

        Run r = Run.of(dp, host, "flows");
        assertEquals(0, r.exit(), r.toString());
        String[] lines = r.out().split("\n");
        assertTrue(lines[0].trim().endsWith("FANOUT  BACKEND"), lines[0]);
        for (String line : lines) {
            if (line.contains("198.51.100.7:42000")) {
                assertTrue(line.trim().endsWith("10.1.0.2:7000"), line);
            } else if (line.contains("10.0.0.1:5004")) {
                assertTrue(line.trim().endsWith("-"), line);
            }
        }
    }
}
