package io.msm.cli.status;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.msm.bpf.maps.Attachment;
import io.msm.bpf.maps.Counters;
import io.msm.bpf.maps.Meta;
import io.msm.bpf.maps.Stat;
import io.msm.bpf.maps.TrafficClass;
import io.msm.cli.Failures;
import io.msm.cli.FakeDatapath;
import io.msm.cli.FakeHost;
import io.msm.cli.Run;
import io.msm.cli.source.AgentProbe;
import io.msm.cli.source.MapFill;
import io.msm.cli.source.PinScan;
import io.msm.cli.source.PinnedProgram;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class StatusCommandTest {
    FakeDatapath dp;
    FakeHost host;

    @BeforeEach
    void healthyNode() {
        dp = new FakeDatapath();
        host = new FakeHost();
        host.nowNs = 86_400_000_000_000L; // a day of uptime
        byte[] sha = new byte[32];
        sha[0] = (byte) 0xab;
        dp.meta = new Meta(Meta.MAGIC, Meta.LAYOUT_VERSION, host.nowNs - 3_600_000_000_000L, sha);
        dp.programs.add(
                new PinnedProgram("msm_tc_ingress", FakeDatapath.prog(41, "msm_tc_ingress", 1234)));
        dp.programs.add(new PinnedProgram("msm_xdp", FakeDatapath.prog(42, "msm_xdp", 321)));
        dp.attachments.put(
                3, new Attachment(Attachment.F_TC | Attachment.F_XDP, 0x4d534d, 1, 41, 42, "eth0"));
        host.ifnames.put(3, "eth0");
        host.tc.put(3, 41);
        host.xdp.put(3, 42);
        dp.fills.add(new MapFill("msm_flows", 1234, 65536));
        dp.fills.add(new MapFill("msm_fanout_groups", 2, 256));
        Counters c = Counters.zero();
        c.classPackets()[TrafficClass.RTP.id()] = 1000;
        c.classBytes()[TrafficClass.RTP.id()] = 1_200_000;
        c.stat()[Stat.TC_PACKETS.id()] = 1500;
        c.stat()[Stat.FANOUT_COPIES.id()] = 77;
        dp.totals = c;
    }

    @Test
    void healthyNodeExitsZeroAndShowsEverySection() {
        Run r = Run.of(dp, host, "status");
        assertEquals(0, r.exit(), r.toString());
        String out = r.out();
        assertTrue(out.startsWith("kernel    Linux 6.1.0-test amd64\n"), out);
        assertTrue(
                out.contains(
                        "datapath  layout version "
                                + Meta.LAYOUT_VERSION
                                + " (this msm reads "
                                + Meta.LAYOUT_VERSION
                                + "), object sha256 ab000000"),
                out);
        assertTrue(out.contains("loaded 1h00m ago"), out);
        assertTrue(
                out.contains(
                        "agent     http://127.0.0.1:9469/healthz  reachable (HTTP 200 ok, 2 ms)"),
                out);
        assertTrue(out.contains("  msm_tc_ingress  41            1234"), out);
        assertTrue(out.contains("        3  eth0   tc          41    41  attached\n"), out);
        assertTrue(out.contains("        3  eth0   xdp         42    42  attached\n"), out);
        assertTrue(out.contains("  msm_flows             1234  65536  1.9%\n"), out);
        assertTrue(out.contains("  rtp         1000  1.2 MB\n"), out);
        assertTrue(
                out.contains("  tc_packets       1500  packets seen by the TC classifier\n"), out);
        assertTrue(out.contains("  fanout_copies      77  copies sent to subscribers\n"), out);
        assertFalse(out.contains("problems"), out);
        assertEquals("", r.err());
    }

    @Test
    void jsonCarriesTheSameReport() throws Exception {
        Run r = Run.of(dp, host, "status", "--json");
        assertEquals(0, r.exit(), r.toString());
        JsonNode s = new ObjectMapper().readTree(r.out());
        assertEquals("Linux 6.1.0-test amd64", s.get("kernel").asText());
        assertEquals(Meta.LAYOUT_VERSION, s.get("datapath").get("layout_version").asInt());
        assertTrue(s.get("datapath").get("object_sha256").asText().startsWith("ab00"));
        assertEquals(1234, s.get("programs").get(0).get("verified_insns").asInt());
        assertEquals("attached", s.get("attachments").get(0).get("state").asText());
        assertEquals(41, s.get("attachments").get(0).get("live_prog_id").asInt());
        assertEquals(65536, s.get("maps").get(0).get("max_entries").asLong());
        assertEquals(1000, s.get("classes").get("rtp").get("packets").asLong());
        assertEquals(1500, s.get("counters").get("tc_packets").asLong());
        assertEquals(Stat.values().length, s.get("counters").size());
        assertTrue(s.get("agent").get("reachable").asBoolean());
        assertEquals(0, s.get("problems").size());
        assertEquals(0, s.get("exit_code").asInt());
    }

    @Test
    void agentDownIsExitSixButTheDatapathIsStillShown() {
        Run r = Run.of(dir -> dp, host, Run.AGENT_DOWN, "status");
        assertEquals(6, r.exit(), r.toString());
        assertTrue(r.out().contains("NOT REACHABLE (connection refused)"), r.out());
        assertTrue(r.out().contains("msm_tc_ingress"), r.out());
        assertTrue(
                r.out().contains("msm-agent is not answering at http://127.0.0.1:9469/healthz"),
                r.out());
    }

    @Test
    void agentUrlIsOverridable() {
        String[] asked = new String[1];
        Run r =
                Run.of(
                        dir -> dp,
                        host,
                        (url, timeout) -> {
                            asked[0] = url + " " + timeout.toMillis();
                            return Run.AGENT_UP.probe(url, timeout);
                        },
                        "status",
                        "--agent",
                        "http://127.0.0.1:19469/healthz");
        assertEquals(0, r.exit());
        assertEquals("http://127.0.0.1:19469/healthz 1000", asked[0], "1 s timeout");
        assertEquals(2, Run.of(dp, host, "status", "--agent", "ftp://x/").exit());
        assertEquals(2, Run.of(dp, host, "status", "--agent", "not a url").exit());
    }

    @Test
    void theRelayTreeEdgesOfTheNodeAreListed() throws Exception {
        AgentProbe withTree =
                new AgentProbe() {
                    @Override
                    public Health probe(URI url, Duration timeout) {
                        return Run.AGENT_UP.probe(url, timeout);
                    }

                    @Override
                    public Tree tree(URI url, Duration timeout) {
                        return new Tree(
                                List.of(
                                        new Edge("serves", "node-b", "cam", 1, 81_412),
                                        new Edge("serves", "node-c", "cam", 1, 80_568),
                                        new Edge("takes", "node-c", "show/1", 1, -1)),
                                null);
                    }
                };
        Run r = Run.of(dir -> dp, host, withTree, "status");
        assertEquals(0, r.exit(), r.toString());
        String out = r.out();
        assertTrue(out.contains("relay tree\n"), out);
        assertTrue(out.contains("  EDGE    PEER       PATH    SESSIONS    BYTES\n"), out);
        assertTrue(out.contains("  serves  -> node-b  cam            1  81.4 kB\n"), out);
        assertTrue(out.contains("  takes   <- node-c  show/1         1        -\n"), out);

        JsonNode s =
                new ObjectMapper()
                        .readTree(Run.of(dir -> dp, host, withTree, "status", "--json").out());
        JsonNode tree = s.get("tree");
        assertTrue(tree.get("known").asBoolean());
        assertEquals(3, tree.get("edges").size());
        assertEquals("serves", tree.get("edges").get(0).get("direction").asText());
        assertEquals("node-b", tree.get("edges").get(0).get("peer").asText());
        assertEquals(81_412, tree.get("edges").get(0).get("bytes").asLong());
        assertTrue(tree.get("edges").get(2).get("bytes").isNull(), "not known");
        assertEquals(0, s.get("exit_code").asInt(), "edges are information, not problems");
    }

    @Test
    void treeNotKnownWhenTheAgentIsDown() throws Exception {
        JsonNode s =
                new ObjectMapper()
                        .readTree(
                                Run.of(dir -> dp, host, Run.AGENT_DOWN, "status", "--json").out());
        assertFalse(s.get("tree").get("known").asBoolean());
        assertEquals("the agent is not answering", s.get("tree").get("detail").asText());
        assertEquals(0, s.get("tree").get("edges").size());
    }

    @Test
    void aDetachedProgramIsExitSeven() {
        host.xdp.remove(3);
        host.tc.put(3, 99);
        Run r = Run.of(dp, host, "status");
        assertEquals(7, r.exit(), r.toString());
        assertTrue(r.out().contains("  tc          41    99  REPLACED\n"), r.out());
        assertTrue(r.out().contains("  xdp         42     -  DETACHED\n"), r.out());
        assertTrue(
                r.out()
                        .contains(
                                "xdp program 42 on eth0 (ifindex 3) is detached: restart msm-agent"),
                r.out());
    }

    @Test
    void aVanishedInterfaceIsGone() {
        host.ifnames.clear();
        Run r = Run.of(dp, host, "status", "--json");
        assertEquals(7, r.exit());
        assertTrue(r.out().contains("\"state\" : \"gone\""), r.out());
    }

    @Test
    void missingPinsStillPrintWhatCanBeKnown() throws Exception {
        Path dir = Path.of("/sys/fs/bpf/gone");
        host.pins =
                new PinScan(false, false, true, List.of(), List.of("msm_flows", "msm_counters"));
        Run r =
                Run.of(
                        d -> {
                            throw Failures.notPinned(d);
                        },
                        host,
                        Run.AGENT_DOWN,
                        "--bpffs",
                        dir.toString(),
                        "status");
        assertEquals(3, r.exit(), r.toString());
        assertTrue(r.out().contains("kernel    Linux 6.1.0-test amd64"), r.out());
        assertTrue(
                r.out()
                        .contains(
                                "bpffs     /sys/fs/bpf/gone  (bpf filesystem; directory does not exist)"),
                r.out());
        assertTrue(
                r.out()
                        .contains(
                                "datapath  NOT READABLE: no msm datapath pinned at /sys/fs/bpf/gone"),
                r.out());
        assertTrue(
                r.out().contains("agent     http://127.0.0.1:9469/healthz  NOT REACHABLE"),
                r.out());
        assertEquals(
                "msm: no msm datapath pinned at /sys/fs/bpf/gone (is msm-agent running? see msm status)\n",
                r.err());

        Run j =
                Run.of(
                        d -> {
                            throw Failures.notPinned(d);
                        },
                        host,
                        Run.AGENT_DOWN,
                        "--bpffs",
                        dir.toString(),
                        "status",
                        "--json");
        assertEquals(3, j.exit());
        JsonNode s = new ObjectMapper().readTree(j.out());
        assertFalse(s.get("datapath").get("readable").asBoolean());
        assertEquals(
                "[\"msm_flows\",\"msm_counters\"]", s.get("bpffs").get("pins_missing").toString());
        assertEquals(3, s.get("exit_code").asInt());
        assertEquals(2, s.get("problems").size());
    }

    @Test
    void layoutMismatchIsExitFive() {
        Run r =
                Run.of(
                        d -> {
                            throw Failures.layoutVersion(d, 7);
                        },
                        host,
                        Run.AGENT_UP,
                        "status");
        assertEquals(5, r.exit());
        assertTrue(r.out().contains("layout version 7"), r.out());
    }

    @Test
    void unstampedMetaIsShownNotFatal() {
        dp.meta = null;
        Run r = Run.of(dp, host, "status");
        assertEquals(0, r.exit());
        assertTrue(r.out().contains("layout version unknown (msm_meta not stamped)"), r.out());
    }
}
