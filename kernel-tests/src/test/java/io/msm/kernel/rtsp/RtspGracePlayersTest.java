package io.msm.kernel.rtsp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.msm.bpf.Bpffs;
import io.msm.cli.Main;
import io.msm.cli.source.Sources;
import io.msm.testkit.AgentProcess;
import io.msm.testkit.KernelTest;
import io.msm.testkit.KernelTestCondition;
import io.msm.testkit.Netns;
import io.msm.testkit.Sh;
import io.msm.testkit.StarTopology;
import io.msm.testkit.Timeouts;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Viewers survive their publisher, with real players on the kernel plane: ffmpeg publishes, an
 * ffmpeg UDP viewer, an ffmpeg TCP viewer (interleaved, fed from the relay's tap) and a Java probe
 * viewer recording RTP sequence numbers watch; the publisher is killed and another ffmpeg publishes
 * the same path within the grace. The viewers keep their RTSP sessions (nobody SETUPs again),
 * decode again soon after the return, and the probe sees one continuous sequence under one SSRC
 * (the kernel's MSM_GROUP_F_REWRITE).
 */
@KernelTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Tag("vm-slow")
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RtspGracePlayersTest {
    static final String NODE = StarTopology.NODE_IN_ADDR.getHostAddress();
    static final String ORIGIN = StarTopology.SENDER_ADDR.getHostAddress();
    static final int RTSP_PORT = 8554;
    static final String METRICS = "127.0.0.1:9471";

    StarTopology topo;
    Path bpffs;
    Path dir;
    AgentProcess agent;
    final List<Process> background = new ArrayList<>();
    final List<Player> players = new ArrayList<>();

    @BeforeAll
    void setUp() throws Exception {
        KernelTestCondition.requireTools("ffmpeg");
        topo = StarTopology.create(3);
        for (StarTopology.Receiver r : topo.receivers) {
            r.ns().ip("route", "add", "default", "via", r.nodeAddr().getHostAddress());
        }
        topo.sender.ip("route", "add", "default", "via", NODE);
        bpffs = Path.of("/sys/fs/bpf/msmtest-" + topo.id);
        dir =
                Files.createTempDirectory(
                        "msm-grace-" + topo.id,
                        PosixFilePermissions.asFileAttribute(
                                PosixFilePermissions.fromString("rwxr-xr-x")));
        Path config = dir.resolve("agent.yaml");
        List<String> ifaces = new ArrayList<>(List.of(StarTopology.NODE_IN_IF));
        topo.receivers.forEach(r -> ifaces.add(r.nodeIf()));
        Files.writeString(
                config,
                String.join(
                        "\n",
                        "interfaces: [" + String.join(", ", ifaces) + "]",
                        "bpffs: " + bpffs,
                        "rtsp-listen: 0.0.0.0:" + RTSP_PORT,
                        "sip-listen: 127.0.0.1:15061",
                        "rtsp:",
                        "  defaults: {publish: {from: ["
                                + ORIGIN
                                + "/32]}, publisher-grace: "
                                + Timeouts.config(8000)
                                + "}",
                        "  session-timeout: " + Timeouts.config(20_000),
                        "  paths:",
                        "    lobby: {hot-standby: 300ms}",
                        ""));
        agent =
                AgentProcess.start(topo.node, METRICS, List.of("--config", config.toString()))
                        .awaitReady(60_000);
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
            AgentProcess.run(topo.node, "cleanup", "--bpffs", bpffs.toString());
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

    Process publish(String path, String name) throws IOException {
        List<String> cmd =
                new ArrayList<>(
                        Player.inNamespace(
                                topo.sender,
                                Player.ffmpegTestPublisher(
                                        "udp", "rtsp://" + NODE + ":" + RTSP_PORT + "/" + path)));
        Process p =
                new ProcessBuilder(cmd)
                        .redirectErrorStream(true)
                        .redirectOutput(dir.resolve(name + ".log").toFile())
                        .start();
        background.add(p);
        return p;
    }

    static void waitFor(BooleanSupplier cond, long ms, String what) throws InterruptedException {
        Timeouts.waitFor(cond, ms, what);
    }

    double metric(String name, String... labels) {
        return agent.scrape().value(name, labels).orElse(Double.NaN);
    }

    /**
     * A viewer of our own in a receiver namespace: DESCRIBE, SETUP (UDP), PLAY, then it records the
     * sequence number, SSRC and arrival time of every RTP packet.
     */
    static final class Probe implements AutoCloseable {
        final Socket rtsp;
        final DatagramChannel rtp;
        final DatagramChannel rtcp;
        final List<long[]> got = new ArrayList<>(); // {seq, ssrc, nanoTime}
        final Thread reader;
        int setups;
        volatile boolean closed;

        Probe(Netns ns, String host) throws Exception {
            this(ns, host, "cam");
        }

        Probe(Netns ns, String host, String path) throws Exception {
            Object[] s =
                    ns.call(
                            () ->
                                    new Object[] {
                                        new Socket(host, RTSP_PORT),
                                        DatagramChannel.open().bind(new InetSocketAddress(0)),
                                        DatagramChannel.open().bind(new InetSocketAddress(0))
                                    });
            rtsp = (Socket) s[0];
            rtp = (DatagramChannel) s[1];
            rtcp = (DatagramChannel) s[2];
            rtsp.setSoTimeout(10_000);
            String url = "rtsp://" + host + ":" + RTSP_PORT + "/" + path;
            String d = request("DESCRIBE " + url + " RTSP/1.0\r\nCSeq: 1\r\n\r\n");
            assertTrue(d.startsWith("RTSP/1.0 200"), d);
            int rp = ((InetSocketAddress) rtp.getLocalAddress()).getPort();
            int cp = ((InetSocketAddress) rtcp.getLocalAddress()).getPort();
            String su =
                    request(
                            "SETUP "
                                    + url
                                    + "/trackID=0 RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP;unicast;client_port="
                                    + rp
                                    + "-"
                                    + cp
                                    + "\r\n\r\n");
            assertTrue(su.startsWith("RTSP/1.0 200"), su);
            setups++;
            String sid = su.replaceAll("(?s).*Session: ([0-9A-Za-z]+).*", "$1");
            String pl =
                    request("PLAY " + url + " RTSP/1.0\r\nCSeq: 3\r\nSession: " + sid + "\r\n\r\n");
            assertTrue(pl.startsWith("RTSP/1.0 200"), pl);
            reader = new Thread(this::read, "probe-rtp");
            reader.setDaemon(true);
            reader.start();
        }

        private String request(String r) throws IOException {
            OutputStream o = rtsp.getOutputStream();
            o.write(r.getBytes(StandardCharsets.UTF_8));
            o.flush();
            BufferedReader in =
                    new BufferedReader(
                            new InputStreamReader(rtsp.getInputStream(), StandardCharsets.UTF_8));
            StringBuilder b = new StringBuilder();
            int len = 0;
            for (String l = in.readLine(); l != null && !l.isEmpty(); l = in.readLine()) {
                b.append(l).append("\r\n");
                if (l.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                    len = Integer.parseInt(l.substring(15).strip());
                }
            }
            char[] body = new char[len];
            int n = 0;
            while (n < len) {
                n += in.read(body, n, len - n);
            }
            return b.append("\r\n").append(body).toString();
        }

        private void read() {
            ByteBuffer b = ByteBuffer.allocate(2048);
            while (!closed) {
                try {
                    b.clear();
                    rtp.receive(b);
                    b.flip();
                    if (b.remaining() >= 12) {
                        long[] x = {
                            b.getShort(2) & 0xffff, b.getInt(8) & 0xffffffffL, System.nanoTime()
                        };
                        synchronized (got) {
                            got.add(x);
                        }
                    }
                } catch (IOException e) {
                    return;
                }
            }
        }

        int count() {
            synchronized (got) {
                return got.size();
            }
        }

        List<long[]> snapshot() {
            synchronized (got) {
                return new ArrayList<>(got);
            }
        }

        @Override
        public void close() throws Exception {
            closed = true;
            rtsp.close();
            rtp.close();
            rtcp.close();
        }
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
        throw new AssertionError("no group " + label + " in msm fanout:\n" + fanout);
    }

    @Test
    void aHotStandbyTakesOverWithin500msOfTheActivePublishersSilence() throws Exception {
        Process active = publish("lobby", "active");
        waitFor(
                () -> metric("msm_rtsp_path_publishing", "path", "lobby") == 1.0,
                20_000,
                "ffmpeg to ANNOUNCE/RECORD lobby\n" + agent.log());
        Process standby = publish("lobby", "standby");
        waitFor(
                () -> agent.log().contains("lobby: hot standby publishing"),
                20_000,
                "the second ffmpeg to publish as the hot standby\n" + agent.log());
        Timeouts.sleep(1500);
        StarTopology.Receiver r0 = topo.receivers.get(0);
        StarTopology.Receiver r2 = topo.receivers.get(2);
        Player udp =
                Player.start(
                        Player.Kind.FFMPEG_UDP,
                        r0.ns(),
                        "rtsp://" + r0.nodeAddr().getHostAddress() + ":" + RTSP_PORT + "/lobby",
                        60);
        players.add(udp);
        try (Probe probe = new Probe(r2.ns(), r2.nodeAddr().getHostAddress(), "lobby")) {
            waitFor(
                    () -> udp.frames() > 50 && probe.count() > 100,
                    20_000,
                    "the viewers decoding\n" + udp.output());
            // the kernel relays whichever was live last (a stall of the active encoder over the
            // silence on a busy machine switches too): kill the one it relays now
            JsonNode rw = group(fanout(), "rtsp/lobby/track0/rtp").path("rewrite");
            boolean standbyActive = rw.path("standby_active").asBoolean();
            long switchesBefore = rw.path("switches").asLong();
            Process victim = standbyActive ? standby : active;
            int before = probe.count();
            Sh.exec("kill", "-KILL", Long.toString(victim.pid()));
            long killed = System.nanoTime();
            int framesAtKill = udp.frames();
            waitFor(
                    () -> probe.count() > before + 50,
                    10_000,
                    "media from the standby\n" + agent.log());
            waitFor(
                    () -> udp.frames() > framesAtKill + 25,
                    10_000,
                    "the player decoding the standby's frames\n" + udp.output());
            long decodeMs = (System.nanoTime() - killed) / 1_000_000;
            List<long[]> got = probe.snapshot();
            long ssrc = got.get(0)[1];
            long switchGapMs = 0;
            int jumps = 0;
            for (int i = 1; i < got.size(); i++) {
                assertEquals(ssrc, got.get(i)[1], "one SSRC throughout (packet " + i + ")");
                long d = (got.get(i)[0] - got.get(i - 1)[0]) & 0xffff;
                if (d > 50) {
                    jumps++;
                }
                if (got.get(i)[2] >= killed - 100_000_000L) {
                    switchGapMs =
                            Math.max(switchGapMs, (got.get(i)[2] - got.get(i - 1)[2]) / 1_000_000);
                }
            }
            JsonNode after = group(fanout(), "rtsp/lobby/track0/rtp").path("rewrite");
            System.out.printf(
                    "rtsp-standby: the active publisher (%s) killed; longest silence at the probe"
                            + " %d ms, player decoding the other one's frames %d ms after the kill,"
                            + " %d sequence jumps; kernel switches before the kill %d, after %d%n",
                    standbyActive ? "the standby, active since a stall" : "the first",
                    switchGapMs,
                    decodeMs,
                    jumps,
                    switchesBefore,
                    after.path("switches").asLong());
            assertTrue(
                    after.path("switches").asLong() > switchesBefore,
                    "the kernel switched: " + after.toPrettyString());
            assertTrue(
                    switchGapMs >= 250,
                    "the switch waited for the silence: " + switchGapMs + " ms");
            assertTrue(
                    switchGapMs <= Timeouts.ms(500),
                    "the standby's media within 500 ms of the active one's silence: "
                            + switchGapMs
                            + " ms");
            assertEquals(0, jumps, "one continuous sequence across the switch");
            assertTrue(udp.alive(), "the player never stopped");
            if (standbyActive) {
                // the standby's session ended: the first publisher stays the stream's publisher
                // (not a takeover: the kernel just switched back to it)
                waitFor(
                        () -> agent.log().contains("its hot standby publisher left"),
                        10_000,
                        "the agent records that the standby left\n" + agent.log());
            } else {
                waitFor(
                        () -> metric("msm_rtsp_publisher_standby_takeovers_total") >= 1.0,
                        10_000,
                        "the agent records the takeover\n" + agent.log());
            }
        }
    }

    @Test
    void viewersKeepTheirSessionsAndSeeOneContinuousStreamAcrossAPublisherRestart()
            throws Exception {
        Process first = publish("cam", "publisher-1");
        waitFor(
                () -> metric("msm_rtsp_path_publishing", "path", "cam") == 1.0,
                20_000,
                "ffmpeg to ANNOUNCE/RECORD cam\n" + agent.log());
        Timeouts.sleep(1500);
        String url = "rtsp://%s:" + RTSP_PORT + "/cam";
        StarTopology.Receiver r0 = topo.receivers.get(0);
        StarTopology.Receiver r1 = topo.receivers.get(1);
        StarTopology.Receiver r2 = topo.receivers.get(2);
        Player udp =
                Player.start(
                        Player.Kind.FFMPEG_UDP,
                        r0.ns(),
                        String.format(url, r0.nodeAddr().getHostAddress()),
                        60);
        Player tcp =
                Player.start(
                        Player.Kind.FFMPEG_TCP,
                        r1.ns(),
                        String.format(url, r1.nodeAddr().getHostAddress()),
                        60);
        players.add(udp);
        players.add(tcp);
        try (Probe probe = new Probe(r2.ns(), r2.nodeAddr().getHostAddress())) {
            waitFor(
                    () -> udp.frames() > 50 && tcp.frames() > 50 && probe.count() > 100,
                    20_000,
                    "the viewers decoding\n" + udp.output() + "\n" + tcp.output());
            double viewers = metric("msm_rtsp_path_viewers", "path", "cam");
            assertEquals(3.0, viewers, "three viewer sessions");

            Sh.exec("kill", "-KILL", Long.toString(first.pid()));
            first.waitFor(5, TimeUnit.SECONDS);
            long killed = System.nanoTime();
            int beforeUdp = udp.frames();
            int beforeTcp = tcp.frames();
            int beforeProbe = probe.count();
            Timeouts.sleep(1500);
            assertTrue(udp.alive() && tcp.alive(), "the players keep playing through the grace");
            assertEquals(3.0, metric("msm_rtsp_path_viewers", "path", "cam"), "and their sessions");

            long back = System.nanoTime();
            publish("cam", "publisher-2");
            waitFor(
                    () -> probe.count() > beforeProbe + 5,
                    10_000,
                    "media again at the probe\n" + agent.log());
            long probeMs = (System.nanoTime() - back) / 1_000_000;
            waitFor(
                    () -> udp.frames() > beforeUdp + 10 && tcp.frames() > beforeTcp + 10,
                    10_000,
                    "the players decoding again\n" + udp.output() + "\n" + tcp.output());
            long decodeMs = (System.nanoTime() - back) / 1_000_000;
            assertEquals(
                    3.0,
                    metric("msm_rtsp_path_viewers", "path", "cam"),
                    "the same three sessions: nobody set up again");
            assertEquals(1, probe.setups, "the probe never set up again");
            assertTrue(udp.alive() && tcp.alive(), "the players never stopped");

            Timeouts.sleep(1000);
            List<long[]> got = probe.snapshot();
            int gaps = 0;
            int jumps = 0;
            long ssrc = got.get(0)[1];
            for (int i = 1; i < got.size(); i++) {
                long d = (got.get(i)[0] - got.get(i - 1)[0]) & 0xffff;
                if (d != 1) {
                    gaps++;
                    if (d > 50) {
                        jumps++;
                    }
                }
                assertEquals(ssrc, got.get(i)[1], "one SSRC throughout (packet " + i + ")");
            }
            long silenceMs = 0;
            for (int i = 1; i < got.size(); i++) {
                silenceMs = Math.max(silenceMs, (got.get(i)[2] - got.get(i - 1)[2]) / 1_000_000);
            }
            System.out.printf(
                    "rtsp-grace: publisher killed, back after %d ms; probe got media %d ms after the"
                            + " return, players decoded again within %d ms; %d packets, %d sequence"
                            + " gaps (%d jumps > 50), longest silence %d ms%n",
                    (back - killed) / 1_000_000,
                    probeMs,
                    decodeMs,
                    got.size(),
                    gaps,
                    jumps,
                    silenceMs);
            assertEquals(0, jumps, "no sequence jump across the publisher switch");
            assertTrue(gaps <= 2, "continuous sequence numbers: " + gaps + " gaps");
            assertTrue(
                    decodeMs <= Timeouts.ms(2000) + 2000,
                    "decoding again soon after the return: " + decodeMs + " ms");
            assertTrue(
                    metric("msm_rtsp_publisher_resumptions_total") >= 1.0, "a resumption counted");
        }
    }
}
