package io.msm.kernel.rtsp;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.auth.Credentials;
import io.msm.testkit.AgentProcess;
import io.msm.testkit.KernelTest;
import io.msm.testkit.KernelTestCondition;
import io.msm.testkit.Netns;
import io.msm.testkit.Sh;
import io.msm.testkit.StarTopology;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
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
 * Real players against the agent's users, permissions and RTSPS, in namespaces: ffmpeg and
 * GStreamer publish and play with Digest credentials (ffmpeg answers with qop=auth, GStreamer in
 * RFC 2069 form); wrong or missing credentials get 401; a viewer outside a path's allow-list gets
 * 403; ffmpeg and GStreamer play over rtsps:// with a self-signed certificate made by openssl
 * (GStreamer told {@code tls-validation-flags=0}; ffmpeg 5.1's RTSP input does not verify, and has
 * no -tls_verify option to pass). Userspace mode: who may do what does not depend on the media
 * plane.
 */
@KernelTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Tag("vm-slow")
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class RtspAuthPlayersTest {
    static final String NODE = StarTopology.NODE_IN_ADDR.getHostAddress();
    static final int RTSP_PORT = 8554;
    static final int RTSPS_PORT = 8322;
    static final String METRICS = "127.0.0.1:9469";

    StarTopology topo;
    Path dir;
    AgentProcess agent;
    final List<Process> background = new ArrayList<>();
    final List<Player> players = new ArrayList<>();

    @BeforeAll
    void setUp() throws Exception {
        KernelTestCondition.requireTools("ffmpeg", "gst-launch-1.0", "openssl");
        topo = StarTopology.create(2);
        for (StarTopology.Receiver r : topo.receivers) {
            r.ns().ip("route", "add", "default", "via", r.nodeAddr().getHostAddress());
        }
        topo.sender.ip("route", "add", "default", "via", NODE);
        dir =
                Files.createTempDirectory(
                        "msm-rtsp-auth-" + topo.id,
                        PosixFilePermissions.asFileAttribute(
                                PosixFilePermissions.fromString("rwx------")));
        Path users = dir.resolve("users");
        List<String> lines = new ArrayList<>(Credentials.lines("cam", "msm", "campass"));
        lines.addAll(Credentials.lines("viewer", "msm", "viewpass"));
        Files.write(users, lines, StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(users, PosixFilePermissions.fromString("rw-------"));
        Path cert = dir.resolve("tls.crt");
        Path key = dir.resolve("tls.key");
        Sh.exec(
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=msm-test",
                "-keyout",
                key.toString(),
                "-out",
                cert.toString());
        String lobbyViewer = topo.receivers.get(0).addr().getHostAddress();
        Path config = dir.resolve("agent.yaml");
        Files.writeString(
                config,
                String.join(
                        "\n",
                        "interfaces: ["
                                + StarTopology.NODE_IN_IF
                                + ", "
                                + topo.receivers.get(0).nodeIf()
                                + ", "
                                + topo.receivers.get(1).nodeIf()
                                + "]",
                        "rtsp-listen: 0.0.0.0:" + RTSP_PORT,
                        "sip-listen: 127.0.0.1:15060",
                        "rtsp:",
                        "  users-file: " + users,
                        "  tls: {listen: 0.0.0.0:"
                                + RTSPS_PORT
                                + ", cert: "
                                + cert
                                + ", key: "
                                + key
                                + "}",
                        "  defaults: {publish: none, read: {users: [\"*\"]}}",
                        "  paths:",
                        "    cam: {publish: {users: [cam]}, read: {users: [viewer]}}",
                        "    gcam: {publish: {users: [cam]}, read: {users: [viewer]}}",
                        "    lobby: {publish: {users: [cam]}, read: {from: ["
                                + lobbyViewer
                                + "/32]}}",
                        ""));
        agent =
                AgentProcess.start(
                                topo.node,
                                METRICS,
                                List.of("--config", config.toString(), "--userspace"))
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
            topo.close();
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

    Process ffmpegPublish(String url, String log) throws IOException {
        return background(
                topo.sender,
                dir.resolve(log),
                Player.ffmpegTestPublisher("tcp", url).toArray(String[]::new));
    }

    /**
     * GStreamer's rtspclientsink publishing H.264 (Debian's GStreamer has no H.264 encoder: ffmpeg
     * makes a clip, GStreamer sends it in real time).
     */
    Process gstPublish(String url, String log) throws IOException {
        Path clip = dir.resolve("clip.mkv");
        if (!Files.exists(clip)) {
            Sh.exec(
                    60,
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
                    "120",
                    "-c:v",
                    "libx264",
                    "-preset",
                    "ultrafast",
                    "-tune",
                    "zerolatency",
                    "-g",
                    "25",
                    "-pix_fmt",
                    "yuv420p",
                    clip.toString());
        }
        return background(
                topo.sender,
                dir.resolve(log),
                "gst-launch-1.0",
                "-e",
                "filesrc",
                "location=" + clip,
                "!",
                "matroskademux",
                "!",
                "h264parse",
                "!",
                "identity",
                "sync=true",
                "!",
                "rtspclientsink",
                "location=" + url,
                "protocols=tcp");
    }

    boolean publishing(String path) {
        return agent.scrape().value("msm_rtsp_path_publishing", "path", path).orElse(0.0) == 1.0;
    }

    static void waitFor(BooleanSupplier c, long ms, String what) throws InterruptedException {
        RtspPlayersSuite.waitFor(c, ms, what);
    }

    /** A URL of the node as seen from {@code from} (the sender, or a receiver's link). */
    String url(String scheme, int port, String creds, Netns from, String path) {
        String host = NODE;
        for (StarTopology.Receiver r : topo.receivers) {
            if (r.ns() == from) {
                host = r.nodeAddr().getHostAddress();
            }
        }
        return scheme + "://" + (creds == null ? "" : creds + "@") + host + ":" + port + "/" + path;
    }

    /** Plays for a few seconds; the frames it decoded (and its output on failure). */
    Player play(Player.Kind kind, Netns ns, String url, List<String> extra) throws IOException {
        Player p = Player.start(kind, ns, url, 4, extra);
        players.add(p);
        return p;
    }

    /** Every player decodes 40 frames within 30 s (the failure shows their state then). */
    static void decodes(List<Player> ps, AgentProcess agent) throws InterruptedException {
        long end = System.nanoTime() + 30_000_000_000L;
        while (!ps.stream().allMatch(p -> p.frames() >= 40)) {
            if (System.nanoTime() > end) {
                throw new AssertionError(
                        "players decoding within 30 s\n" + describe(ps) + tail(agent.log()));
            }
            Thread.sleep(200);
        }
    }

    static String describe(List<Player> ps) {
        StringBuilder b = new StringBuilder();
        for (Player p : ps) {
            b.append(p)
                    .append(": ")
                    .append(p.frames())
                    .append(" frames\n")
                    .append(p.output())
                    .append('\n');
        }
        return b.toString();
    }

    static String tail(String s) {
        return s.length() > 4000 ? "..." + s.substring(s.length() - 4000) : s;
    }

    @Test
    void ffmpegAndGstreamerPublishAndPlayWithDigestAndOverRtsps() throws Exception {
        Netns v = topo.receivers.get(0).ns();
        // ffmpeg publishes with Digest (qop=auth)
        ffmpegPublish(url("rtsp", RTSP_PORT, "cam:campass", topo.sender, "cam"), "pub-ffmpeg.log");
        waitFor(
                () -> publishing("cam"),
                20_000,
                "ffmpeg to publish cam with credentials\n" + tail(agent.log()));
        // GStreamer publishes with Digest (RFC 2069)
        gstPublish(url("rtsp", RTSP_PORT, "cam:campass", topo.sender, "gcam"), "pub-gst.log");
        waitFor(
                () -> publishing("gcam"),
                20_000,
                "GStreamer to publish gcam with credentials\n" + tail(agent.log()));

        List<Player> ok = new ArrayList<>();
        ok.add(
                play(
                        Player.Kind.FFMPEG_UDP,
                        v,
                        url("rtsp", RTSP_PORT, "viewer:viewpass", v, "cam"),
                        List.of()));
        ok.add(
                play(
                        Player.Kind.GST_UDP,
                        v,
                        url("rtsp", RTSP_PORT, "viewer:viewpass", v, "cam"),
                        List.of()));
        ok.add(
                play(
                        Player.Kind.FFMPEG_TCP,
                        v,
                        url("rtsp", RTSP_PORT, "viewer:viewpass", v, "gcam"),
                        List.of()));
        // over RTSPS, media interleaved on the TLS connection; self-signed: no verification
        ok.add(
                play(
                        Player.Kind.FFMPEG_TCP,
                        v,
                        url("rtsps", RTSPS_PORT, "viewer:viewpass", v, "cam"),
                        List.of()));
        ok.add(
                play(
                        Player.Kind.GST_TCP,
                        v,
                        url("rtsps", RTSPS_PORT, "viewer:viewpass", v, "cam"),
                        List.of("tls-validation-flags=0")));
        decodes(ok, agent);
        System.out.println("auth: frames decoded with credentials:\n" + describeShort(ok));
    }

    static String describeShort(List<Player> ps) {
        StringBuilder b = new StringBuilder();
        for (Player p : ps) {
            b.append(String.format("  %-10s %5d frames%n", p.kind.label, p.frames()));
        }
        return b.toString();
    }

    @Test
    void wrongMissingOrMisplacedCredentialsAreRefused() throws Exception {
        ffmpegPublish(url("rtsp", RTSP_PORT, "cam:campass", topo.sender, "lobby"), "pub-lobby.log");
        waitFor(() -> publishing("lobby"), 20_000, "ffmpeg to publish lobby\n" + tail(agent.log()));
        Netns v0 = topo.receivers.get(0).ns();
        Netns v1 = topo.receivers.get(1).ns();
        record Case(String name, Player p, String expect) {}
        List<Case> cases = new ArrayList<>();
        cases.add(
                new Case(
                        "ffmpeg, wrong password",
                        play(
                                Player.Kind.FFMPEG_UDP,
                                v0,
                                url("rtsp", RTSP_PORT, "viewer:wrong", v0, "cam"),
                                List.of()),
                        "401"));
        cases.add(
                new Case(
                        "ffmpeg, no credentials",
                        play(
                                Player.Kind.FFMPEG_UDP,
                                v0,
                                url("rtsp", RTSP_PORT, null, v0, "cam"),
                                List.of()),
                        "401"));
        cases.add(
                new Case(
                        "GStreamer, wrong password",
                        play(
                                Player.Kind.GST_UDP,
                                v0,
                                url("rtsp", RTSP_PORT, "viewer:wrong", v0, "cam"),
                                List.of()),
                        "Unauthorized"));
        cases.add(
                new Case(
                        "ffmpeg, outside lobby's allow-list",
                        play(
                                Player.Kind.FFMPEG_UDP,
                                v1,
                                url("rtsp", RTSP_PORT, null, v1, "lobby"),
                                List.of()),
                        "403"));
        cases.add(
                new Case(
                        "ffmpeg, a publisher without the permission",
                        play(
                                Player.Kind.FFMPEG_UDP,
                                v0,
                                url("rtsp", RTSP_PORT, "viewer:viewpass", v0, "lobby"),
                                List.of()),
                        null));
        Player inList = cases.get(4).p();
        for (Case c : cases.subList(0, 4)) {
            boolean ended = c.p().waitFor(15_000);
            if (!ended) {
                c.p().stop();
            }
            assertTrue(c.p().frames() == 0, c.name() + " decoded nothing\n" + c.p().output());
            assertTrue(
                    c.p().output().contains(c.expect()),
                    c.name() + ": the player reports " + c.expect() + "\n" + c.p().output());
        }
        // the viewer inside lobby's allow-list plays it (no login needed there)
        decodes(List.of(inList), agent);
        // and a publisher without the permission is refused
        Process intruder =
                ffmpegPublish(
                        url("rtsp", RTSP_PORT, "viewer:viewpass", topo.sender, "cam2"),
                        "pub-intruder.log");
        assertTrue(intruder.waitFor(20, TimeUnit.SECONDS), "ffmpeg gave up");
        assertFalse(publishing("cam2"));
        String log = Files.readString(dir.resolve("pub-intruder.log"));
        assertTrue(log.contains("403"), "publishing without the permission: 403\n" + log);
    }
}
