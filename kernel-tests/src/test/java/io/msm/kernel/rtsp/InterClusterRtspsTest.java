package io.msm.kernel.rtsp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.auth.Credentials;
import io.msm.bpf.Bpffs;
import io.msm.testkit.AgentProcess;
import io.msm.testkit.KernelTest;
import io.msm.testkit.KernelTestCondition;
import io.msm.testkit.Names;
import io.msm.testkit.Netns;
import io.msm.testkit.Sh;
import io.msm.testkit.Timeouts;
import io.msm.testkit.Veth;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One inter-cluster hop between two agent processes (BPF datapath each), in namespaces: the agent
 * of "cluster-2" serves RTSPS (a certificate from a test CA, for its address 10.211.1.1) and asks
 * for Digest; ffmpeg publishes to it on its other address; the agent of "cluster-1" pulls the path
 * through an {@code rtsps://} source with the CA file and credentials from its upstream-credentials
 * file, the media interleaved on the TLS connection, and fans it out to ffmpeg (UDP) and GStreamer
 * (TCP) viewers on its own side: cluster-2 serves exactly one session, over TCP. Then a plain
 * {@code rtsp://} pull of the same path (RTP over UDP): cluster-2 sends it from the address its
 * publisher reached (its Transport's source=), not the one cluster-1 connected to, and cluster-1
 * takes it from there.
 *
 * <pre>
 *   pub 10.211.3.2 ──veth── 10.211.3.1  cluster-2 (agent)  10.211.1.1 ──veth── 10.211.1.2  cluster-1 (agent)  10.211.4.1 ──veth── viewers 10.211.4.2
 * </pre>
 */
// real processes (two agents, players) in real time: too slow under TCG for the CI VM run
@Tag("vm-slow")
@KernelTest
@Timeout(180)
class InterClusterRtspsTest {
    static final int RTSP_PORT = 18754;
    static final int RTSPS_PORT = 18722;
    static final String REMOTE = "10.211.1.1";

    final String id = Names.runId();
    final List<AutoCloseable> closing = new ArrayList<>();
    final List<Player> players = new ArrayList<>();
    final List<Path> bpffs = new ArrayList<>();
    final List<Netns> bpffsNs = new ArrayList<>();
    Netns c2;
    Netns c1;
    Netns pub;
    Netns view;
    AgentProcess cluster2;
    AgentProcess cluster1;
    Process publisher;
    Path dir;

    String ifname(String s) {
        return id + s;
    }

    Netns ns(String suffix) {
        Netns n = Netns.create(id + suffix);
        closing.add(n);
        return n;
    }

    @BeforeEach
    void setUp() throws Exception {
        KernelTestCondition.requireTools("ffmpeg", "gst-launch-1.0", "openssl");
        c2 = ns("c2");
        c1 = ns("c1");
        pub = ns("pb");
        view = ns("vw");
        Veth.create(c2, ifname("21"), REMOTE + "/24", c1, ifname("12"), "10.211.1.2/24");
        Veth.create(c2, ifname("2p"), "10.211.3.1/24", pub, ifname("p2"), "10.211.3.2/24");
        Veth.create(c1, ifname("1v"), "10.211.4.1/24", view, ifname("v1"), "10.211.4.2/24");
        // cluster-1 reaches cluster-2's publisher side (where its relays send from) through it
        c1.ip("route", "add", "10.211.3.0/24", "via", REMOTE);
        pub.ip("route", "add", "default", "via", "10.211.3.1");
        view.ip("route", "add", "default", "via", "10.211.4.1");
        dir =
                Files.createTempDirectory(
                        "msm-intercluster-" + id,
                        PosixFilePermissions.asFileAttribute(
                                PosixFilePermissions.fromString("rwx------")));
        // a CA, and cluster-2's certificate for the address cluster-1 dials
        Sh.run(
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                f("ca.key"),
                "-out",
                f("ca.crt"),
                "-days",
                "2",
                "-subj",
                "/CN=test-ca",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign");
        Sh.run(
                "openssl",
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                f("c2.key"));
        Files.writeString(dir.resolve("c2.ext"), "subjectAltName=IP:" + REMOTE + "\n");
        Sh.run(
                "openssl",
                "req",
                "-new",
                "-key",
                f("c2.key"),
                "-out",
                f("c2.csr"),
                "-subj",
                "/CN=cluster-2");
        Sh.run(
                "openssl",
                "x509",
                "-req",
                "-in",
                f("c2.csr"),
                "-CA",
                f("ca.crt"),
                "-CAkey",
                f("ca.key"),
                "-CAcreateserial",
                "-CAserial",
                f("ca.srl"),
                "-out",
                f("c2.crt"),
                "-days",
                "2",
                "-extfile",
                f("c2.ext"));
        Path users = dir.resolve("users");
        Files.write(users, Credentials.lines("cluster-1", "msm", "s3cret"), StandardCharsets.UTF_8);
        Path creds = dir.resolve("upstreams");
        Files.writeString(
                creds,
                "rtsps://"
                        + REMOTE
                        + ":"
                        + RTSPS_PORT
                        + "/ cluster-1:s3cret\n"
                        + "rtsp://"
                        + REMOTE
                        + ":"
                        + RTSP_PORT
                        + "/ cluster-1:s3cret\n");
        for (Path f : List.of(users, creds, dir.resolve("c2.key"))) {
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        }
    }

    String f(String name) {
        return dir.resolve(name).toString();
    }

    AgentProcess agent(Netns ns, String name, String metrics, List<String> ifaces, String rtsp)
            throws Exception {
        Path fs = Path.of("/sys/fs/bpf/msmtest-" + id + name);
        bpffs.add(fs);
        bpffsNs.add(ns);
        Path config = dir.resolve(name + ".yaml");
        Files.writeString(
                config,
                String.join(
                        "\n",
                        "interfaces: [" + String.join(", ", ifaces) + "]",
                        "bpffs: " + fs,
                        "rtsp-listen: 0.0.0.0:" + RTSP_PORT,
                        "sip-listen: 127.0.0.1:15091",
                        "rtsp:",
                        rtsp,
                        ""));
        return AgentProcess.start(ns, metrics, List.of("--config", config.toString()));
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            for (Player p : players) {
                p.close();
            }
            if (publisher != null && publisher.isAlive()) {
                Sh.exec("kill", "-KILL", Long.toString(publisher.pid()));
                publisher.waitFor(5, TimeUnit.SECONDS);
            }
            for (AgentProcess p : new AgentProcess[] {cluster1, cluster2}) {
                if (p != null) {
                    p.close();
                }
            }
            for (int i = 0; i < bpffs.size(); i++) {
                AgentProcess.run(bpffsNs.get(i), "cleanup", "--bpffs", bpffs.get(i).toString());
            }
        } finally {
            for (Path p : bpffs) {
                Bpffs.removeTree(p);
            }
            if (dir != null) {
                try (var s = Files.list(dir)) {
                    for (Path p : s.toList()) {
                        Files.deleteIfExists(p);
                    }
                }
                Files.deleteIfExists(dir);
            }
            for (int i = closing.size() - 1; i >= 0; i--) {
                closing.get(i).close();
            }
        }
    }

    void waitFor(BooleanSupplier cond, long ms, String what) throws InterruptedException {
        Timeouts.waitFor(
                cond,
                ms,
                what,
                100,
                () ->
                        "\n--- cluster-2:\n"
                                + RtspPlayersSuite.tail(cluster2.log(), 3000)
                                + "\n--- cluster-1:\n"
                                + RtspPlayersSuite.tail(cluster1.log(), 3000)
                                + "\n--- players:\n"
                                + players.stream().map(p -> p + ": " + p.output()).toList());
    }

    static double metric(AgentProcess p, String name, String... labels) {
        return p.scrape().value(name, labels).orElse(Double.NaN);
    }

    @Test
    void clusterOnePullsAPathFromClusterTwosAgentOverRtspsWithDigest() throws Exception {
        cluster2 =
                agent(
                        c2,
                        "c2",
                        "127.0.0.1:19511",
                        List.of(ifname("21"), ifname("2p")),
                        String.join(
                                "\n",
                                "  users-file: " + dir.resolve("users"),
                                "  tls: {listen: 0.0.0.0:"
                                        + RTSPS_PORT
                                        + ", cert: "
                                        + dir.resolve("c2.crt")
                                        + ", key: "
                                        + dir.resolve("c2.key")
                                        + "}",
                                "  paths:",
                                "    show: {publish: {from: [10.211.3.2/32]},"
                                        + " read: {users: [cluster-1]}}"));
        cluster1 =
                agent(
                        c1,
                        "c1",
                        "127.0.0.1:19512",
                        List.of(ifname("12"), ifname("1v")),
                        String.join(
                                "\n",
                                "  upstream-credentials-file: " + dir.resolve("upstreams"),
                                "  upstream-tls: {ca: " + dir.resolve("ca.crt") + "}",
                                "  upstream-linger: 5s",
                                "  paths:",
                                "    remote: {source: 'rtsps://"
                                        + REMOTE
                                        + ":"
                                        + RTSPS_PORT
                                        + "/show'}",
                                "    remote-plain: {source: 'rtsp://"
                                        + REMOTE
                                        + ":"
                                        + RTSP_PORT
                                        + "/show'}"));
        cluster2.awaitReady(90_000);
        cluster1.awaitReady(90_000);

        publisher =
                new ProcessBuilder(
                                Player.inNamespace(
                                        pub,
                                        Player.ffmpegTestPublisher(
                                                "udp", "rtsp://10.211.3.1:" + RTSP_PORT + "/show")))
                        .redirectErrorStream(true)
                        .redirectOutput(dir.resolve("publisher.log").toFile())
                        .start();
        waitFor(
                () -> metric(cluster2, "msm_rtsp_path_publishing", "path", "show") == 1.0,
                20_000,
                "ffmpeg publishing show to cluster-2");
        Timeouts.sleep(1000); // a key frame on its way

        String url = "rtsp://10.211.4.1:" + RTSP_PORT + "/remote";
        List<Player> tls =
                List.of(
                        Player.start(Player.Kind.FFMPEG_UDP, view, url, 30),
                        Player.start(Player.Kind.GST_TCP, view, url, 30));
        players.addAll(tls);
        waitFor(
                () -> tls.stream().allMatch(p -> p.frames() >= 25),
                30_000,
                "both viewers in cluster-1 decoding the rtsps:// pull");
        assertEquals(
                1.0,
                metric(cluster2, "msm_rtsp_path_viewers", "path", "show"),
                "cluster-2's agent serves cluster-1 exactly one session");
        assertEquals(
                1.0,
                metric(cluster2, "msm_rtsp_path_tcp_viewers", "path", "show"),
                "that session takes its media interleaved on the TLS connection");
        assertEquals(2.0, metric(cluster1, "msm_rtsp_path_viewers", "path", "remote"));
        assertEquals(
                1,
                cluster1.log().split("remote: opening upstream session", -1).length - 1,
                "cluster-1 pulled once");

        // plain rtsp:// (RTP over UDP): cluster-2 sends from 10.211.3.1, its publisher's side
        Player plain =
                Player.start(
                        Player.Kind.FFMPEG_UDP,
                        view,
                        "rtsp://10.211.4.1:" + RTSP_PORT + "/remote-plain",
                        20);
        players.add(plain);
        waitFor(
                () -> plain.frames() >= 25,
                30_000,
                "the viewer of the plain pull decoding (media from cluster-2's source=)");
        assertEquals(
                2.0,
                metric(cluster2, "msm_rtsp_path_viewers", "path", "show"),
                "one session per pulled path");
        assertTrue(
                cluster1.log().contains("sends its media from 10.211.3.1"),
                "cluster-1 took the plain pull's media from cluster-2's source=\n"
                        + RtspPlayersSuite.tail(cluster1.log(), 3000));
        System.out.printf(
                "inter-cluster: rtsps:// pull, ffmpeg/udp %d and gst/tcp %d frames; plain pull"
                        + " ffmpeg/udp %d frames; cluster-2 sessions for show: %.0f%n",
                tls.get(0).frames(),
                tls.get(1).frames(),
                plain.frames(),
                metric(cluster2, "msm_rtsp_path_viewers", "path", "show"));
    }
}
