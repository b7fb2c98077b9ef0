package io.msm.kernel.cli;

import static io.msm.testkit.Packets.addr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.msm.bpf.Bpffs;
import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.ProgInfo;
import io.msm.bpf.attach.TcIngress;
import io.msm.bpf.attach.Xdp;
import io.msm.bpf.attach.XdpMode;
import io.msm.bpf.libbpf.Native;
import io.msm.bpf.maps.Attachment;
import io.msm.bpf.maps.BpfMap;
import io.msm.bpf.maps.Codec;
import io.msm.bpf.maps.Counters;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.FanoutSub;
import io.msm.bpf.maps.Flow;
import io.msm.bpf.maps.FlowKey;
import io.msm.bpf.maps.GameBackend;
import io.msm.bpf.maps.GameService;
import io.msm.bpf.maps.GameServiceKey;
import io.msm.bpf.maps.GameSession;
import io.msm.bpf.maps.GameSessionKey;
import io.msm.bpf.maps.GroupStats;
import io.msm.bpf.maps.Meta;
import io.msm.bpf.maps.PortTable;
import io.msm.bpf.maps.RtpStats;
import io.msm.bpf.maps.Stat;
import io.msm.bpf.maps.SubStats;
import io.msm.bpf.maps.TrafficClass;
import io.msm.bpf.testrun.ProgTestRun;
import io.msm.cli.Main;
import io.msm.cli.source.Sources;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Names;
import io.msm.testkit.Netns;
import io.msm.testkit.Packets;
import io.msm.testkit.Sh;
import io.msm.testkit.Timeouts;
import io.msm.testkit.Veth;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The msm CLI against a real datapath: loaded, pinned to a private bpffs directory, fed packets
 * through the TC program (BPF_PROG_TEST_RUN inside a private network namespace, so fan-out copies
 * stay on its loopback), with a fan-out group of three subscribers. The CLI runs in-process on the
 * pins and its output is checked against the maps read directly.
 */
@KernelTest
class CliTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int RTP_PACKETS = 10;

    static String runId;
    static Path dir;
    static final List<Path> dirs = new ArrayList<>();
    static Datapath dp;
    static Netns ns;
    static long rtpBytes;

    static final FlowKey RTP = FlowKey.udp(addr("10.1.0.1"), 5004, addr("10.2.0.2"), 6004);
    static final FlowKey CONTROL = FlowKey.tcp(addr("10.1.0.1"), 40000, addr("10.2.0.2"), 8554);
    static final FlowKey STUN = FlowKey.udp(addr("10.1.0.3"), 3478, addr("10.2.0.2"), 40000);
    static final FlowKey RTP6 = FlowKey.udp(addr("2001:db8::1"), 5004, addr("2001:db8::2"), 6004);

    record Run(int exit, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exit + "\n--- out\n" + out + "--- err\n" + err;
        }
    }

    static Run msm(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(Sources.live(), new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out.toString(), err.toString());
    }

    static Run msmAt(Path pins, String... args) {
        String[] full = new String[args.length + 2];
        full[0] = "--bpffs";
        full[1] = pins.toString();
        System.arraycopy(args, 0, full, 2, args.length);
        return msm(full);
    }

    @BeforeAll
    static void populate() {
        runId = Names.runId();
        dir = Path.of(Bpffs.DEFAULT_ROOT, "msmtest-" + runId);
        dirs.add(dir);
        dp = Datapath.load(DatapathSpec.DEFAULT.withFlows(4096));
        dp.configure(
                DatapathConfig.defaults(),
                PortTable.build(
                        PortTable.DEFAULT_CONTROL_TCP,
                        PortTable.DEFAULT_CONTROL_UDP,
                        List.of(new PortTable.Range(27015, 27030))));
        dp.pin(dir);
        dp.writeMeta(System.nanoTime());

        // the group first, so the RTP packets are fanned out and counted by it
        List<FanoutSub> subs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            subs.add(
                    new FanoutSub(
                            1,
                            10 + i,
                            new byte[6],
                            new byte[6],
                            v4("127.0.0.1"),
                            v4("127.0.0.1"),
                            7000,
                            6001 + i,
                            0));
        }
        dp.fanoutGroups()
                .update(new FanoutKey(v4("10.2.0.2"), 6004), new FanoutGroup(2, 0, null, 0, subs));

        ns = Netns.create(runId);
        ns.run(
                () -> {
                    int prog = dp.progFd(Datapath.PROG_TC);
                    int[] seqs = {1, 2, 3, 4, 6, 7, 8, 9, 10, 11}; // 5 is lost
                    for (int i = 0; i < RTP_PACKETS; i++) {
                        byte[] p =
                                Packets.builder()
                                        .ip("10.1.0.1", "10.2.0.2")
                                        .udp(5004, 6004)
                                        .payload(
                                                Packets.rtp(
                                                        seqs[i],
                                                        3000L * seqs[i],
                                                        0x1234abcdL,
                                                        96,
                                                        false,
                                                        100 + i))
                                        .build();
                        rtpBytes += p.length;
                        ProgTestRun.run(prog, p);
                    }
                    for (int i = 0; i < 3; i++) {
                        ProgTestRun.run(
                                prog,
                                Packets.builder()
                                        .ip("10.1.0.1", "10.2.0.2")
                                        .tcp(40000, 8554)
                                        .payload(
                                                "OPTIONS * RTSP/1.0\r\n"
                                                        .getBytes(StandardCharsets.US_ASCII))
                                        .build());
                    }
                    for (int i = 0; i < 2; i++) {
                        ProgTestRun.run(
                                prog,
                                Packets.builder()
                                        .ip("10.1.0.3", "10.2.0.2")
                                        .udp(3478, 40000)
                                        .payload(Packets.stunBindingRequest())
                                        .build());
                    }
                    ProgTestRun.run(
                            prog,
                            Packets.builder()
                                    .ip("2001:db8::1", "2001:db8::2")
                                    .udp(5004, 6004)
                                    .payload(Packets.rtp(9, 0, 77, 96, false, 40))
                                    .build());
                });
    }

    static Inet4Address v4(String s) {
        return (Inet4Address) addr(s);
    }

    @AfterAll
    static void cleanUp() {
        RuntimeException first = null;
        for (Path d : dirs) {
            try {
                Bpffs.removeTree(d);
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
        }
        if (ns != null) {
            ns.close();
        }
        if (dp != null) {
            dp.close();
        }
        if (first != null) {
            throw first;
        }
    }

    static JsonNode flowFrom(JsonNode all, String src) {
        for (JsonNode n : all) {
            if (n.get("src").asText().equals(src)) {
                return n;
            }
        }
        throw new AssertionError("no flow from " + src + " in " + all);
    }

    @Test
    void flowsJsonMatchesTheFlowTable() throws Exception {
        Run r = msmAt(dir, "flows", "--json");
        assertEquals(0, r.exit(), r.toString());
        JsonNode all = JSON.readTree(r.out());
        assertEquals(4, all.size(), r.out());

        Flow kernel = dp.flows().lookup(RTP).orElseThrow();
        JsonNode rtp = flowFrom(all, "10.1.0.1:5004");
        assertEquals("10.2.0.2:6004", rtp.get("dst").asText());
        assertEquals("udp", rtp.get("proto").asText());
        assertEquals("rtp", rtp.get("class").asText());
        assertEquals(RTP_PACKETS, rtp.get("packets").asLong());
        assertEquals(rtpBytes, rtp.get("bytes").asLong());
        assertEquals(
                3, rtp.get("fanout").asInt(), "the group on 10.2.0.2:6004 has three subscribers");
        long ageMs = rtp.get("age_ms").asLong();
        assertTrue(ageMs >= 0 && ageMs < 600_000, "age from CLOCK_MONOTONIC: " + ageMs);
        assertTrue(rtp.get("idle_ms").asLong() <= ageMs);
        JsonNode s = rtp.get("rtp");
        RtpStats k = kernel.rtp();
        assertEquals(0x1234abcdL, s.get("ssrc").asLong());
        assertEquals(11, s.get("highest_seq").asLong(), "extended highest sequence number");
        assertEquals(k.extendedHighestSeq(), s.get("highest_seq").asLong());
        assertEquals(1, s.get("lost").asLong(), "sequence number 5 never came");
        assertEquals(Math.round(k.jitterMs() * 1000) / 1000.0, s.get("jitter_ms").asDouble(), 1e-9);
        assertEquals(90000, s.get("clock_rate").asLong());

        JsonNode control = flowFrom(all, "10.1.0.1:40000");
        assertEquals("tcp", control.get("proto").asText());
        assertEquals("control", control.get("class").asText());
        assertEquals(3, control.get("packets").asLong());
        assertEquals(
                dp.flows().lookup(CONTROL).orElseThrow().bytes(), control.get("bytes").asLong());
        assertFalse(control.has("rtp"));
        assertEquals(0, control.get("fanout").asInt());

        JsonNode stun = flowFrom(all, "10.1.0.3:3478");
        assertEquals("stun", stun.get("class").asText());
        assertEquals(2, stun.get("packets").asLong());

        JsonNode v6 = flowFrom(all, "[2001:db8::1]:5004");
        assertEquals("[2001:db8::2]:6004", v6.get("dst").asText());
        assertEquals("rtp", v6.get("class").asText());
        assertEquals(1, v6.get("packets").asLong());
        assertEquals(0, v6.get("fanout").asInt(), "groups are IPv4 only");
        assertTrue(dp.flows().lookup(RTP6).isPresent());
    }

    @Test
    void flowsFiltersAndSortsRealFlows() throws Exception {
        JsonNode rtpOnly = JSON.readTree(msmAt(dir, "flows", "--json", "--class", "rtp").out());
        assertEquals(2, rtpOnly.size());
        JsonNode top =
                JSON.readTree(
                        msmAt(dir, "flows", "--json", "--sort", "packets", "--limit", "1").out());
        assertEquals(1, top.size());
        assertEquals("10.1.0.1:5004", top.get(0).get("src").asText());
    }

    @Test
    void flowsTable() {
        Run r = msmAt(dir, "flows");
        assertEquals(0, r.exit(), r.toString());
        String[] lines = r.out().split("\n");
        assertTrue(lines[0].startsWith("PROTO  SRC"), r.out());
        String rtp = lines[1];
        assertTrue(rtp.startsWith("udp    10.1.0.1:5004"), "most packets first:\n" + r.out());
        for (String cell : new String[] {"10.2.0.2:6004", "rtp", " 10 ", "1 (10.00%)", " ms"}) {
            assertTrue(rtp.contains(cell), "'" + cell + "' in " + rtp);
        }
        assertTrue(rtp.endsWith(" 3"), "fan-out count: " + rtp);
        assertTrue(r.out().contains("[2001:db8::1]:5004"), r.out());
        assertEquals("4 flows, by packets", lines[lines.length - 1]);
    }

    @Test
    void gamesShowsASessionWithItsServiceAndBackend() throws Exception {
        Inet4Address c = (Inet4Address) Packets.addr("198.51.100.7");
        dp.gameServices()
                .update(
                        new GameServiceKey((Inet4Address) Packets.addr("192.0.2.10"), 7777),
                        new GameService(5, GameService.F_KCP, 0, 0, 0));
        dp.gameBackends()
                .update(
                        9,
                        new GameBackend(
                                (Inet4Address) Packets.addr("10.1.0.2"),
                                7000,
                                GameBackend.F_LIVE,
                                5));
        GameSessionKey k = new GameSessionKey(5, GameSessionKey.KIND_KCP, 0x1234abcd, 0, 0, 0);
        dp.gameSessions().update(k, new GameSession(9, c, 41000, c, 42000, 1, 2, 10, 9, 1));
        try {
            Run r = msmAt(dir, "games");
            assertEquals(0, r.exit(), r.toString());
            for (String cell :
                    new String[] {
                        "192.0.2.10:7777",
                        "kcp conv 1234abcd",
                        "198.51.100.7:42000 (first 198.51.100.7:41000)",
                        "10.1.0.2:7000"
                    }) {
                assertTrue(r.out().contains(cell), "'" + cell + "' in " + r.out());
            }
        } finally {
            dp.gameSessions().delete(k);
        }
    }

    @Test
    void fanoutShowsTheGroupWithCountersSummedOverCpus() throws Exception {
        Run r = msmAt(dir, "fanout", "--json");
        assertEquals(0, r.exit(), r.toString());
        JsonNode all = JSON.readTree(r.out());
        assertEquals(1, all.size(), r.out());
        JsonNode g = all.get(0);
        GroupStats gs = GroupStats.sum(dp.groupStats().lookupPerCpu(2).orElseThrow());
        assertEquals("10.2.0.2:6004", g.get("upstream").asText());
        assertEquals(2, g.get("group_id").asInt());
        assertEquals(RTP_PACKETS, g.get("packets").asLong(), "every RTP packet hit the group");
        assertEquals(gs.packets(), g.get("packets").asLong());
        assertEquals(gs.copies(), g.get("copies").asLong());
        assertEquals(gs.errors(), g.get("errors").asLong());
        assertTrue(gs.copies() > 0, "copies were made: " + gs);
        JsonNode subs = g.get("subscribers");
        assertEquals(3, subs.size());
        for (int i = 0; i < 3; i++) {
            JsonNode s = subs.get(i);
            SubStats ss = SubStats.sum(dp.subStats().lookupPerCpu(10 + i).orElseThrow());
            assertEquals("127.0.0.1:" + (6001 + i), s.get("destination").asText());
            assertEquals(1, s.get("ifindex").asInt());
            assertEquals("lo", s.get("ifname").asText());
            assertEquals("127.0.0.1:7000", s.get("source").asText());
            assertEquals(10 + i, s.get("sub_id").asInt());
            assertEquals(ss.packets(), s.get("packets").asLong());
            assertEquals(ss.errors(), s.get("errors").asLong());
        }

        Run t = msmAt(dir, "fanout");
        assertEquals(0, t.exit(), t.toString());
        assertTrue(t.out().startsWith("udp 10.2.0.2:6004  group 2\n  in 10 packets"), t.out());
        assertTrue(t.out().contains("  127.0.0.1:6001        1  lo     127.0.0.1:7000"), t.out());
        assertTrue(t.out().endsWith("1 group, 3 subscribers\n"), t.out());
    }

    @Test
    void statusReportsThePinnedDatapath() throws Exception {
        HttpServer agent =
                HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        agent.createContext(
                "/healthz",
                ex -> {
                    byte[] b = "ok".getBytes(StandardCharsets.US_ASCII);
                    ex.sendResponseHeaders(200, b.length);
                    ex.getResponseBody().write(b);
                    ex.close();
                });
        agent.start();
        try {
            String url = "http://127.0.0.1:" + agent.getAddress().getPort() + "/healthz";
            Run r =
                    msmAt(
                            dir,
                            "status",
                            "--json",
                            "--agent",
                            url,
                            "--agent-timeout",
                            Long.toString(Timeouts.ms(1000)));
            assertEquals(0, r.exit(), r.toString());
            JsonNode s = JSON.readTree(r.out());
            assertTrue(s.get("kernel").asText().startsWith("Linux "), s.get("kernel").asText());
            assertEquals(dir.toString(), s.get("bpffs").get("dir").asText());
            assertTrue(s.get("bpffs").get("on_bpffs").asBoolean());
            assertEquals(0, s.get("bpffs").get("pins_missing").size());
            assertEquals(
                    Datapath.PINNED_MAPS.size() + Datapath.PROGRAMS.size(),
                    s.get("bpffs").get("pins_present").size());
            JsonNode d = s.get("datapath");
            assertTrue(d.get("readable").asBoolean());
            assertEquals(Meta.LAYOUT_VERSION, d.get("layout_version").asInt());
            assertEquals(
                    HexFormat.of().formatHex(dp.objectSha256()), d.get("object_sha256").asText());
            assertEquals(d.get("object_sha256").asText(), d.get("shipped_object_sha256").asText());
            ProgInfo tc = dp.progInfo(Datapath.PROG_TC);
            JsonNode p0 = s.get("programs").get(0);
            assertEquals(Datapath.PROG_TC, p0.get("pin").asText());
            assertEquals(tc.id(), p0.get("id").asInt());
            assertEquals(tc.verifiedInsns(), p0.get("verified_insns").asInt());
            assertTrue(tc.verifiedInsns() > 0);
            JsonNode flows = s.get("maps").get(0);
            assertEquals("msm_flows", flows.get("name").asText());
            assertEquals(4, flows.get("entries").asLong());
            assertEquals(4096, flows.get("max_entries").asLong());
            assertEquals(1, s.get("maps").get(1).get("entries").asLong(), "one fan-out group");
            Counters c = dp.totals();
            assertEquals(RTP_PACKETS + 1, s.get("classes").get("rtp").get("packets").asLong());
            assertEquals(
                    c.bytes(TrafficClass.RTP), s.get("classes").get("rtp").get("bytes").asLong());
            for (Stat st : Stat.values()) {
                assertEquals(c.get(st), s.get("counters").get(st.label()).asLong(), st.label());
            }
            assertTrue(
                    s.get("counters").get("tc_packets").asLong() >= 16,
                    "the 16 test packets (and any the " + "attachment test's veth carried)");
            assertTrue(s.get("agent").get("reachable").asBoolean());
            assertEquals("ok", s.get("agent").get("detail").asText());
            assertEquals(0, s.get("problems").size(), s.get("problems").toString());

            Run text = msmAt(dir, "status", "--agent", url);
            assertEquals(0, text.exit(), text.toString());
            assertTrue(
                    text.out()
                            .contains(
                                    "(bpf filesystem, all "
                                            + (Datapath.PINNED_MAPS.size()
                                                    + Datapath.PROGRAMS.size())
                                            + " pins present)"),
                    text.out());
            assertTrue(
                    text.out()
                            .contains(
                                    "layout version "
                                            + Meta.LAYOUT_VERSION
                                            + " (this msm reads "
                                            + Meta.LAYOUT_VERSION
                                            + ")"),
                    text.out());
            assertTrue(text.out().contains("(the one this msm ships)"), text.out());
            assertTrue(text.out().contains("nothing recorded in msm_attachments"), text.out());
        } finally {
            agent.stop(0);
        }
    }

    /** Attach for real on a veth in the test's namespace, and let status check it there. */
    @Test
    void statusChecksRecordedAttachmentsAgainstTheKernel() throws Exception {
        Veth veth = Veth.create(ns, runId + "a", null, ns, runId + "b", null);
        int ifindex = veth.ifindexA();
        BpfMap<Integer, Attachment> att = dp.attachments();
        try {
            int[] ids =
                    ns.call(
                            () -> {
                                TcIngress.Attached t =
                                        TcIngress.attach(
                                                ifindex,
                                                dp.progFd(Datapath.PROG_TC),
                                                TcIngress.DEFAULT_HANDLE,
                                                TcIngress.DEFAULT_PRIORITY,
                                                false);
                                Xdp.Attached x =
                                        Xdp.attach(
                                                ifindex,
                                                dp.progFd(Datapath.PROG_XDP),
                                                XdpMode.GENERIC,
                                                -1);
                                return new int[] {t.progId(), x.progId()};
                            });
            att.update(
                    ifindex,
                    new Attachment(
                            Attachment.F_TC
                                    | Attachment.F_TC_QDISC
                                    | Attachment.F_XDP
                                    | Attachment.F_XDP_GENERIC,
                            TcIngress.DEFAULT_HANDLE,
                            TcIngress.DEFAULT_PRIORITY,
                            ids[0],
                            ids[1],
                            runId + "a"));

            JsonNode s = JSON.readTree(ns.call(() -> msmAt(dir, "status", "--json").out()));
            JsonNode hooks = s.get("attachments");
            assertEquals(2, hooks.size(), hooks.toString());
            assertEquals("tc", hooks.get(0).get("hook").asText());
            assertEquals(runId + "a", hooks.get(0).get("ifname").asText());
            assertEquals(ids[0], hooks.get(0).get("live_prog_id").asInt());
            assertEquals("attached", hooks.get(0).get("state").asText());
            assertEquals("xdp-generic", hooks.get(1).get("hook").asText());
            assertEquals(ids[1], hooks.get(1).get("live_prog_id").asInt());
            assertEquals("attached", hooks.get(1).get("state").asText());
            assertEquals(
                    s.get("agent").get("reachable").asBoolean() ? 0 : 6,
                    s.get("exit_code").asInt(),
                    "healthy attachments: only the agent can make status fail");

            ns.run(
                    () ->
                            TcIngress.detach(
                                    ifindex, TcIngress.DEFAULT_HANDLE, TcIngress.DEFAULT_PRIORITY));
            Run r = ns.call(() -> msmAt(dir, "status"));
            assertEquals(7, r.exit(), r.toString());
            assertTrue(
                    Pattern.compile(
                                    "\\s"
                                            + ifindex
                                            + "\\s+"
                                            + runId
                                            + "a\\s+tc\\s+"
                                            + ids[0]
                                            + "\\s+-\\s+DETACHED\n")
                            .matcher(r.out())
                            .find(),
                    r.out());
            assertTrue(
                    r.out()
                            .contains(
                                    "tc program "
                                            + ids[0]
                                            + " on "
                                            + runId
                                            + "a (ifindex "
                                            + ifindex
                                            + ") is detached: restart msm-agent to re-attach"),
                    r.out());
        } finally {
            att.delete(ifindex);
            ns.ip("link", "del", runId + "a");
        }
    }

    @Test
    void notPinnedIsExitThreeWithTheDirectory() {
        Path none = Path.of(Bpffs.DEFAULT_ROOT, "msmtest-" + runId + "-none");
        Run r = msmAt(none, "flows", "--json");
        assertEquals(3, r.exit(), r.toString());
        assertEquals(
                "msm: no msm datapath pinned at "
                        + none
                        + " (is msm-agent running? see msm status)\n",
                r.err());
        assertEquals("", r.out());

        Run s = msmAt(none, "status");
        assertEquals(3, s.exit(), s.toString());
        assertTrue(
                s.out().startsWith("kernel    Linux "), "status prints what it can:\n" + s.out());
        assertTrue(s.out().contains("directory does not exist"), s.out());
    }

    @Test
    void incompletePinsNameWhatIsMissing() {
        Path partial = dir("partial");
        pin(dp.mapFd(Datapath.MAP_FLOWS), partial.resolve(Datapath.MAP_FLOWS));
        Run r = msmAt(partial, "fanout");
        assertEquals(3, r.exit(), r.toString());
        assertTrue(r.err().contains("missing pins: msm_counters, msm_config"), r.err());
        assertFalse(r.err().contains("missing pins: msm_flows"), r.err());
    }

    @Test
    void aMapOfAnotherLayoutIsExitFive() {
        Path other = dir("layout");
        pinAllBut(other, Datapath.MAP_FLOWS);
        Sh.run(
                "bpftool",
                "map",
                "create",
                other.resolve(Datapath.MAP_FLOWS).toString(),
                "type",
                "hash",
                "key",
                "40",
                "value",
                "80",
                "entries",
                "16",
                "name",
                "msm_flows");
        Run r = msmAt(other, "flows", "--json");
        assertEquals(5, r.exit(), r.toString());
        assertTrue(
                r.err().contains("msm_flows: key/value size 40/80, this msm expects 40/88"),
                r.err());
        assertTrue(r.err().contains("it says layout version " + Meta.LAYOUT_VERSION), r.err());
        assertTrue(r.err().contains("restart msm-agent from this release"), r.err());
        assertEquals(5, msmAt(other, "status").exit());
    }

    @Test
    void anotherLayoutVersionIsExitFive() {
        Path other = dir("version");
        pinAllBut(other, Datapath.MAP_META);
        Sh.run(
                "bpftool",
                "map",
                "create",
                other.resolve(Datapath.MAP_META).toString(),
                "type",
                "array",
                "key",
                "4",
                "value",
                "48",
                "entries",
                "1",
                "name",
                "msm_meta");
        try (BpfMap<Integer, Meta> meta =
                BpfMap.openPinned(
                        other.resolve(Datapath.MAP_META).toString(), Codec.U32, Meta.CODEC)) {
            meta.update(0, new Meta(Meta.MAGIC, Meta.LAYOUT_VERSION + 1, 0, new byte[32]));
        }
        Run r = msmAt(other, "fanout");
        assertEquals(5, r.exit(), r.toString());
        assertTrue(
                r.err()
                        .contains(
                                "has layout version "
                                        + (Meta.LAYOUT_VERSION + 1)
                                        + " but this msm understands layout version "
                                        + Meta.LAYOUT_VERSION),
                r.err());
    }

    static Path dir(String suffix) {
        Path d = Path.of(Bpffs.DEFAULT_ROOT, "msmtest-" + runId + "-" + suffix);
        dirs.add(d);
        return Bpffs.ensure(d.toString());
    }

    static void pin(int fd, Path at) {
        Native n = Native.get();
        int rc = n.bpf.bpf_obj_pin(fd, at.toString());
        assertEquals(0, rc, "pin " + at + ": " + n.describe(rc));
    }

    /** The test datapath's maps and programs pinned again under d, except one map. */
    static void pinAllBut(Path d, String skip) {
        for (String m : Datapath.PINNED_MAPS) {
            if (!m.equals(skip)) {
                pin(dp.mapFd(m), d.resolve(m));
            }
        }
        for (String p : Datapath.PROGRAMS) {
            pin(dp.progFd(p), d.resolve(Datapath.progPin(p)));
        }
    }
}
