package io.msm.kernel.rtsp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.msm.bpf.Bpffs;
import io.msm.cli.Main;
import io.msm.cli.source.Sources;
import io.msm.testkit.AgentProcess;
import io.msm.testkit.KernelTestCondition;
import io.msm.testkit.Netns;
import io.msm.testkit.PromText;
import io.msm.testkit.Sh;
import io.msm.testkit.StarTopology;
import io.msm.testkit.Timeouts;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The RTSP proxy with real players in a namespace "cluster": ffmpeg publishes an H.264 test pattern
 * from the sender namespace to the agent in the node namespace; ffmpeg (UDP and TCP) and GStreamer
 * rtspsrc in nine viewer namespaces decode it; VLC in the sender namespace serves a clip for a
 * pulled path. Subclasses run it on the kernel plane and in --userspace mode.
 *
 * <p>Under an emulated CPU (the VM runner: a time scale above 1, see {@link Timeouts}) the
 * published path has four viewers, one of each kind plus a second ffmpeg over UDP, instead of nine:
 * ten real-time H.264 codecs do not keep up on two emulated CPUs. The setup says so.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Tag("vm-slow") // a dozen H.264 encoders and decoders: minutes under an emulated CPU
// (kernel-tests/vm)
// under the VM runner the waits below are scaled (Timeouts) and this limit is off (run.sh:
// timeout.mode)
@Timeout(value = 150, unit = TimeUnit.SECONDS)
abstract class RtspPlayersSuite {
    /** viewers of the published path: nine on the host, four under an emulated CPU */
    static final int VIEWERS = Timeouts.scale() > 1 ? 4 : 9;

    static final String NODE = StarTopology.NODE_IN_ADDR.getHostAddress();
    static final String ORIGIN = StarTopology.SENDER_ADDR.getHostAddress();
    static final int RTSP_PORT = 8554;
    static final int VLC_PORT = 8555;
    static final String METRICS = "127.0.0.1:9469";

    /**
     * rtsp.upstream-linger, scaled with the waits that observe it; long enough that "still open a
     * quarter of the way in" holds on a loaded machine, where one scrape can take a second
     */
    static final long LINGER_MS = 4000;

    static final Player.Kind[] MIX =
            VIEWERS == 9
                    ? new Player.Kind[] {
                        Player.Kind.FFMPEG_UDP,
                        Player.Kind.FFMPEG_UDP,
                        Player.Kind.FFMPEG_UDP,
                        Player.Kind.FFMPEG_TCP,
                        Player.Kind.FFMPEG_TCP,
                        Player.Kind.FFMPEG_TCP,
                        Player.Kind.GST_UDP,
                        Player.Kind.GST_UDP,
                        Player.Kind.GST_UDP
                    }
                    : new Player.Kind[] {
                        Player.Kind.FFMPEG_UDP,
                        Player.Kind.FFMPEG_TCP,
                        Player.Kind.GST_UDP,
                        Player.Kind.FFMPEG_UDP
                    };

    StarTopology topo;
    Path bpffs;
    Path dir;
    AgentProcess agent;
    final List<Process> background = new ArrayList<>();
    final List<Player> players = new ArrayList<>();

    abstract boolean userspace();

    String mode() {
        return userspace() ? "userspace" : "kernel";
    }

    @BeforeAll
    void setUp() throws Exception {
        KernelTestCondition.requireTools("ffmpeg", "gst-launch-1.0", "cvlc", "setpriv");
        topo = StarTopology.create(VIEWERS);
        // replies (RTCP receiver reports) go to the relay's address on the publisher side: viewers
        // need a route
        for (StarTopology.Receiver r : topo.receivers) {
            r.ns().ip("route", "add", "default", "via", r.nodeAddr().getHostAddress());
        }
        topo.sender.ip("route", "add", "default", "via", NODE);
        bpffs = Path.of("/sys/fs/bpf/msmtest-" + topo.id);
        dir =
                Files.createTempDirectory(
                        "msm-rtsp-" + topo.id,
                        PosixFilePermissions.asFileAttribute(
                                PosixFilePermissions.fromString("rwxr-xr-x")));
        Path config = dir.resolve("agent.yaml");
        // named, not the default set: links created a moment ago may not be "running" yet
        // (operstate lags)
        List<String> ifaces = new ArrayList<>(List.of(StarTopology.NODE_IN_IF));
        topo.receivers.forEach(r -> ifaces.add(r.nodeIf()));
        Files.writeString(
                config,
                String.join(
                        "\n",
                        "interfaces: [" + String.join(", ", ifaces) + "]",
                        "bpffs: " + bpffs,
                        "rtsp-listen: 0.0.0.0:" + RTSP_PORT,
                        "sip-listen: 127.0.0.1:15060",
                        "rtsp:",
                        // the camera's network may publish (nobody may by default)
                        "  defaults: {publish: {from: [" + ORIGIN + "/32]}}",
                        "  upstream-linger: " + Timeouts.config(LINGER_MS),
                        "  session-timeout: " + Timeouts.config(20_000),
                        "  paths:",
                        "    vod: {source: \"rtsp://" + ORIGIN + ":" + VLC_PORT + "/vod\"}",
                        ""));
        List<String> args = new ArrayList<>(List.of("--config", config.toString()));
        if (userspace()) {
            args.add("--userspace");
        }
        String note = Timeouts.note("the waits, pauses, rtsp.upstream-linger and session-timeout");
        if (!note.isEmpty()) {
            System.out.println(
                    "rtsp-players: "
                            + note
                            + "; the published path has "
                            + VIEWERS
                            + " viewers, not 9 (an emulated CPU)");
        }
        agent = AgentProcess.start(topo.node, METRICS, args).awaitReady(60_000);
    }

    @AfterAll
    void tearDown() throws Exception {
        for (Player p : players) {
            p.close();
        }
        for (Process p : background) {
            if (p.isAlive()) {
                Sh.exec("kill", "-KILL", Long.toString(p.pid()));
                p.waitFor(5, TimeUnit.SECONDS);
            }
        }
        if (agent != null) {
            agent.stop();
        }
        if (topo != null) {
            if (!userspace()) {
                AgentProcess.run(topo.node, "cleanup", "--bpffs", bpffs.toString());
            }
            topo.close();
        }
        if (bpffs != null) {
            Bpffs.removeTree(bpffs);
        }
        if (dir != null) {
            try (var s = Files.list(dir)) {
                for (Path p : s.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    Process background(Netns ns, Path log, String... cmd) throws IOException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns.name()));
        full.addAll(List.of(cmd));
        Process p =
                new ProcessBuilder(full)
                        .redirectErrorStream(true)
                        .redirectOutput(log.toFile())
                        .start();
        background.add(p);
        return p;
    }

    /**
     * ffmpeg publishing a 25 fps H.264 test pattern (a key frame every second, so viewers start
     * fast).
     */
    Process publish(String path) throws IOException {
        return publish(path, "udp");
    }

    Process publish(String path, String transport) throws IOException {
        return background(
                topo.sender,
                dir.resolve("publisher-" + transport + ".log"),
                Player.ffmpegTestPublisher(
                                transport, "rtsp://" + NODE + ":" + RTSP_PORT + "/" + path)
                        .toArray(String[]::new));
    }

    /** Poll cond every 100 ms until it holds; fail after ms (scaled, {@link Timeouts}). */
    static void waitFor(BooleanSupplier cond, long ms, String what) throws InterruptedException {
        Timeouts.waitFor(cond, ms, what, 100, () -> "");
    }

    double metric(String name, String... labels) {
        return agent.scrape().value(name, labels).orElse(Double.NaN);
    }

    /** UDP datagrams the node's own sockets received and sent (/proc/net/snmp of its namespace). */
    long[] nodeUdp() {
        String snmp = topo.node.exec("cat", "/proc/net/snmp");
        String[] head = null;
        for (String line : snmp.split("\n")) {
            if (line.startsWith("Udp: ")) {
                if (head == null) {
                    head = line.split(" ");
                } else {
                    String[] v = line.split(" ");
                    long in = 0;
                    long out = 0;
                    for (int i = 1; i < head.length; i++) {
                        if (head[i].equals("InDatagrams")) {
                            in = Long.parseLong(v[i]);
                        } else if (head[i].equals("OutDatagrams")) {
                            out = Long.parseLong(v[i]);
                        }
                    }
                    return new long[] {in, out};
                }
            }
        }
        throw new IllegalStateException("no Udp line in /proc/net/snmp:\n" + snmp);
    }

    /** 'msm fanout --json' on the node, parsed. */
    JsonNode fanout() {
        return topo.node.call(
                () -> {
                    StringWriter out = new StringWriter();
                    StringWriter err = new StringWriter();
                    int code =
                            Main.run(
                                    Sources.live(),
                                    new PrintWriter(out),
                                    new PrintWriter(err),
                                    "--bpffs",
                                    bpffs.toString(),
                                    "fanout",
                                    "--json");
                    if (code != 0) {
                        throw new IllegalStateException("msm fanout: exit " + code + ": " + err);
                    }
                    return new ObjectMapper().readTree(out.toString());
                });
    }

    static JsonNode group(JsonNode fanout, String label) {
        for (JsonNode g : fanout) {
            if (label.equals(g.path("label").asText())) {
                return g;
            }
        }
        return null;
    }

    String report(List<Player> ps) {
        StringBuilder b = new StringBuilder();
        for (Player p : ps) {
            b.append(
                    String.format("  %-11s %-14s %4d frames%n", p.kind.label, p.where, p.frames()));
        }
        return b.toString();
    }

    String failureContext(List<Player> ps) {
        StringBuilder b = new StringBuilder(report(ps));
        for (Player p : ps) {
            if (p.frames() < 100) {
                b.append("--- ").append(p).append(":\n").append(p.output()).append('\n');
            }
        }
        b.append("--- agent log:\n").append(tail(agent.log(), 4000));
        return b.toString();
    }

    static String tail(String s, int n) {
        return s.length() > n ? "..." + s.substring(s.length() - n) : s;
    }

    @Test
    void publishedPathServesNineRealPlayers() throws Exception {
        Process publisher = publish("cam");
        waitFor(
                () -> metric("msm_rtsp_path_publishing", "path", "cam") == 1.0,
                20_000,
                "ffmpeg to ANNOUNCE/RECORD path cam\n" + agent.log());
        Timeouts.sleep(1500); // a key frame and the parameter sets are on their way

        String url = "rtsp://%s:" + RTSP_PORT + "/cam";
        List<Player> ps = new ArrayList<>();
        for (int i = 0; i < VIEWERS; i++) {
            StarTopology.Receiver r = topo.receivers.get(i);
            Player p =
                    Player.start(
                            MIX[i], r.ns(), String.format(url, r.nodeAddr().getHostAddress()), 8);
            ps.add(p);
            players.add(p);
        }
        String stream = "rtsp/cam/track0/rtp";
        int udpViewers = (int) Arrays.stream(MIX).filter(k -> !k.tcp()).count();
        waitFor(
                () ->
                        metric("msm_stream_viewers", "stream", stream) == udpViewers
                                && metric("msm_rtsp_path_viewers", "path", "cam") == VIEWERS,
                20_000,
                "every viewer playing: "
                        + agent.scrape().value("msm_rtsp_path_viewers", "path", "cam")
                        + "\n"
                        + failureContext(ps));
        Timeouts.sleep(1000);

        // a window while all VIEWERS play: who made the UDP copies?
        PromText m0 = agent.scrape();
        long[] u0 = nodeUdp();
        long window = Timeouts.ms(3000);
        Thread.sleep(window);
        PromText m1 = agent.scrape();
        long[] u1 = nodeUdp();
        double upstream =
                m1.value("msm_stream_upstream_packets_total", "stream", stream).orElseThrow()
                        - m0.value("msm_stream_upstream_packets_total", "stream", stream)
                                .orElseThrow();
        double copies =
                m1.value("msm_stream_copies_total", "stream", stream).orElseThrow()
                        - m0.value("msm_stream_copies_total", "stream", stream).orElseThrow();
        long userIn = u1[0] - u0[0];
        long userOut = u1[1] - u0[1];
        String numbers =
                String.format(
                        "%s mode, %d ms window: upstream RTP %d, copies %d (%d UDP viewers), node sockets "
                                + "received %d and sent %d UDP datagrams",
                        mode(),
                        window,
                        (long) upstream,
                        (long) copies,
                        udpViewers,
                        userIn,
                        userOut);
        System.out.println("rtsp-players: " + numbers);
        assertTrue(upstream > 50, "the publisher's RTP arrives: " + numbers);
        assertTrue(copies >= 0.95 * udpViewers * upstream, "a copy per UDP viewer: " + numbers);
        if (userspace()) {
            assertTrue(
                    userOut >= 0.9 * copies,
                    "userspace mode: the agent sends the copies itself: " + numbers);
        } else {
            // kernel mode: the copies never reach userspace; the originals do once (the TCP viewers
            // need them)
            assertTrue(
                    userOut < 0.05 * copies,
                    "kernel mode: userspace sent (almost) none of the copies: " + numbers);
            assertTrue(
                    userIn < 1.3 * upstream + 100,
                    "kernel mode: userspace saw each upstream packet at most once, "
                            + "not once per viewer: "
                            + numbers);
            JsonNode g = group(fanout(), stream);
            assertTrue(
                    g != null,
                    "msm fanout shows the group labelled "
                            + stream
                            + ":\n"
                            + fanout().toPrettyString());
            assertEquals(
                    udpViewers,
                    g.path("subscribers").size(),
                    "msm fanout: every UDP viewer subscribed\n" + g.toPrettyString());
            JsonNode rtcp = group(fanout(), "rtsp/cam/track0/rtcp");
            assertTrue(
                    rtcp != null && rtcp.path("subscribers").size() == udpViewers,
                    "RTCP group too");
        }

        for (Player p : ps) {
            if (!p.kind.gst()) {
                assertTrue(p.waitFor(20_000), p + " did not finish its 8 s\n" + failureContext(ps));
            }
        }
        for (Player p : ps) {
            p.stop();
        }
        System.out.println(
                "rtsp-players: "
                        + mode()
                        + " mode, frames decoded per player (published path cam):\n"
                        + report(ps));
        for (Player p : ps) {
            // 8 s at 25 fps is 200 frames; allow for start-up (waiting for a key frame, jitter
            // buffers)
            assertTrue(
                    p.frames() >= 120,
                    p + " decoded only " + p.frames() + " frames\n" + failureContext(ps));
        }
        assertTrue(
                metric("msm_rtsp_path_receiver_reports_total", "path", "cam") > 0,
                "viewers' RTCP RRs reach the proxy");
        waitFor(() -> metric("msm_rtsp_path_viewers", "path", "cam") == 0, 10_000, "viewers gone");

        // the publisher disappears: a viewer still watching is ended cleanly (its connection
        // closes)
        Player last =
                Player.start(
                        Player.Kind.FFMPEG_UDP,
                        topo.receivers.get(0).ns(),
                        String.format(url, topo.receivers.get(0).nodeAddr().getHostAddress()),
                        60);
        players.add(last);
        waitFor(() -> last.frames() > 25, 20_000, "the last viewer decoding\n" + last.output());
        Sh.exec("kill", "-INT", Long.toString(publisher.pid()));
        assertTrue(
                publisher.waitFor(Timeouts.ms(10_000), TimeUnit.MILLISECONDS), "publisher stopped");
        assertTrue(
                last.waitFor(15_000), "the viewer ended when the publisher left\n" + last.output());
        waitFor(
                () ->
                        metric("msm_rtsp_sessions", "kind", "viewer") == 0
                                && metric("msm_rtsp_sessions", "kind", "publisher") == 0,
                10_000,
                "no sessions left");
        assertFalse(
                metric("msm_rtsp_path_publishing", "path", "cam") == 1.0,
                "path cam no longer published");
        if (!userspace()) {
            assertEquals(null, group(fanout(), stream), "its fan-out group is gone");
        }
    }

    @Test
    void pulledPathSharesOneVlcSession() throws Exception {
        // VLC serves a clip over RTSP from the sender namespace (it refuses to run as root: run it
        // as nobody)
        Path clip = dir.resolve("clip.mp4");
        Sh.Result enc =
                Sh.exec(
                        (int) (Timeouts.ms(120_000) / 1000),
                        "ffmpeg",
                        "-hide_banner",
                        "-loglevel",
                        "error",
                        "-y",
                        "-f",
                        "lavfi",
                        "-i",
                        "testsrc=size=320x240:rate=25",
                        "-t",
                        "60",
                        "-c:v",
                        "libx264",
                        "-preset",
                        "ultrafast",
                        "-g",
                        "25",
                        "-pix_fmt",
                        "yuv420p",
                        clip.toString());
        assertEquals(0, enc.exit(), enc.err());
        Files.setPosixFilePermissions(clip, PosixFilePermissions.fromString("rw-r--r--"));
        background(
                topo.sender,
                dir.resolve("vlc.log"),
                "setpriv",
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "env",
                "HOME=" + dir,
                "cvlc",
                "-I",
                "dummy",
                "--no-audio",
                clip.toString(),
                "--loop",
                "--sout-keep",
                "--sout",
                "#rtp{sdp=rtsp://" + ORIGIN + ":" + VLC_PORT + "/vod}");
        Timeouts.sleep(2000);

        Player.Kind[] kinds = {
            Player.Kind.FFMPEG_UDP,
            Player.Kind.FFMPEG_TCP,
            Player.Kind.GST_UDP,
            Player.Kind.FFMPEG_UDP
        };
        List<Player> ps = new ArrayList<>();
        for (int i = 0; i < kinds.length; i++) {
            StarTopology.Receiver r = topo.receivers.get(i);
            Player p =
                    Player.start(
                            kinds[i],
                            r.ns(),
                            "rtsp://" + r.nodeAddr().getHostAddress() + ":" + RTSP_PORT + "/vod",
                            8);
            ps.add(p);
            players.add(p);
        }
        waitFor(
                () -> metric("msm_rtsp_path_viewers", "path", "vod") == kinds.length,
                20_000,
                "every viewer of vod playing\n"
                        + failureContext(ps)
                        + "\n--- vlc:\n"
                        + tail(readLog("vlc.log"), 2000));
        assertEquals(
                1.0,
                metric("msm_rtsp_path_upstream_sessions_total", "path", "vod"),
                "one upstream session for all viewers");
        assertEquals(
                2.0, metric("msm_rtsp_path_upstream_state", "path", "vod"), "upstream playing");
        if (!userspace()) {
            JsonNode g = group(fanout(), "rtsp/vod/track0/rtp");
            assertTrue(
                    g != null && g.path("subscribers").size() == 3,
                    "the 3 UDP viewers in the kernel group");
        }
        for (Player p : ps) {
            if (!p.kind.gst()) {
                assertTrue(p.waitFor(20_000), p + " did not finish\n" + failureContext(ps));
            }
        }
        for (Player p : ps) {
            p.stop();
        }
        System.out.println(
                "rtsp-players: "
                        + mode()
                        + " mode, frames decoded per player (pulled path vod from VLC):\n"
                        + report(ps));
        for (Player p : ps) {
            assertTrue(
                    p.frames() >= 120,
                    p + " decoded only " + p.frames() + " frames\n" + failureContext(ps));
        }
        assertEquals(
                1.0,
                metric("msm_rtsp_path_upstream_sessions_total", "path", "vod"),
                "still the one session");
        // last viewer gone: the upstream closes after the linger (4 s, scaled)
        waitFor(() -> metric("msm_rtsp_path_viewers", "path", "vod") == 0, 10_000, "viewers gone");
        Timeouts.sleep(LINGER_MS / 4);
        assertEquals(
                2.0,
                metric("msm_rtsp_path_upstream_state", "path", "vod"),
                "still open within the linger");
        waitFor(
                () -> metric("msm_rtsp_path_upstream_state", "path", "vod") == 0,
                LINGER_MS + 6_000,
                "upstream closed after the linger");
        assertTrue(
                agent.log()
                        .contains(
                                "vod: no viewers for "
                                        + Timeouts.ms(LINGER_MS)
                                        + " ms; closing the upstream session"),
                agent.log());
    }

    @Test
    void interleavedPublisherReachesUdpAndTcpViewers() throws Exception {
        Process publisher = publish("tcpcam", "tcp");
        waitFor(
                () -> metric("msm_rtsp_path_publishing", "path", "tcpcam") == 1.0,
                20_000,
                "ffmpeg to publish over TCP\n" + agent.log());
        Timeouts.sleep(1500);
        Player.Kind[] kinds = {Player.Kind.FFMPEG_UDP, Player.Kind.GST_UDP, Player.Kind.FFMPEG_TCP};
        List<Player> ps = new ArrayList<>();
        for (int i = 0; i < kinds.length; i++) {
            StarTopology.Receiver r = topo.receivers.get(i);
            Player p =
                    Player.start(
                            kinds[i],
                            r.ns(),
                            "rtsp://" + r.nodeAddr().getHostAddress() + ":" + RTSP_PORT + "/tcpcam",
                            8);
            ps.add(p);
            players.add(p);
        }
        waitFor(
                () -> metric("msm_rtsp_path_viewers", "path", "tcpcam") == kinds.length,
                20_000,
                "every viewer of tcpcam playing\n" + failureContext(ps));
        if (!userspace()) {
            JsonNode g = group(fanout(), "rtsp/tcpcam/track0/rtp");
            assertTrue(
                    g != null && g.path("subscribers").size() == 2,
                    "the 2 UDP viewers in the kernel group");
            Timeouts.sleep(2000);
            g = group(fanout(), "rtsp/tcpcam/track0/rtp");
            assertTrue(
                    g.path("copies").asLong() > 100,
                    "the kernel made the copies of the injected packets: " + g);
        }
        for (Player p : ps) {
            if (!p.kind.gst()) {
                assertTrue(p.waitFor(20_000), p + " did not finish\n" + failureContext(ps));
            }
        }
        for (Player p : ps) {
            p.stop();
        }
        System.out.println(
                "rtsp-players: "
                        + mode()
                        + " mode, frames decoded per player (publisher over TCP):\n"
                        + report(ps));
        for (Player p : ps) {
            assertTrue(
                    p.frames() >= 120,
                    p + " decoded only " + p.frames() + " frames\n" + failureContext(ps));
        }
        assertTrue(metric("msm_rtsp_interleaved_in_total") > 100, "frames came interleaved");
        assertFalse(agent.log().contains("injecting into the fan-out group failed"), agent.log());
        Sh.exec("kill", "-INT", Long.toString(publisher.pid()));
        publisher.waitFor(Timeouts.ms(10_000), TimeUnit.MILLISECONDS);
    }

    String readLog(String name) {
        try {
            return Files.readString(dir.resolve(name));
        } catch (IOException e) {
            return "";
        }
    }
}
