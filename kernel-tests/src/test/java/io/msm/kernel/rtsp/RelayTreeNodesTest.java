package io.msm.kernel.rtsp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.msm.agent.k8s.crd.StreamRoute;
import io.msm.agent.k8s.crd.StreamRouteSpec;
import io.msm.bpf.Bpffs;
import io.msm.kernel.intercept.ApiServer;
import io.msm.testkit.AgentProcess;
import io.msm.testkit.KernelTest;
import io.msm.testkit.KernelTestCondition;
import io.msm.testkit.Names;
import io.msm.testkit.Netns;
import io.msm.testkit.Sh;
import io.msm.testkit.Timeouts;
import io.msm.testkit.Veth;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A relay tree across three "node" namespaces, each with its own msm-agent (BPF datapath), one
 * Kubernetes API mock shared by all (each agent reaches it through a relay in its namespace, finds
 * the others as the agents' pods). ffmpeg publishes to node A's agent; ffmpeg and GStreamer viewers
 * (UDP and TCP) on nodes B and C ask their own node's agent, which pulls the path from node A's
 * agent: A's agent serves one session per remote node, the publisher's bytes cross each link once
 * (counted at the veths), and killing B's agent moves nothing on A's or C's. A routed backend on
 * node C (VLC serving a clip, its EndpointSlice naming node-c, a StreamRoute for /vod) is pulled by
 * A's and B's agents from C's agent: the backend serves one session (C's agent's).
 *
 * <pre>
 *                 pub 10.210.3.2 ──veth── 10.210.3.1
 *                                          node A (agent)  10.210.1.1 ──veth── 10.210.1.2  node B (agent)  10.210.4.1 ──veth── viewers B
 *                                                          10.210.2.1 ──veth── 10.210.2.2  node C (agent)  10.210.5.1 ──veth── viewers C
 *                                                                                          10.210.6.1 ──veth── 10.210.6.2 backend (VLC)
 * </pre>
 */
// real processes (agents, players, kcptun) in real time: too slow under TCG for the CI VM run
@Tag("vm-slow")
@KernelTest
@Timeout(240)
class RelayTreeNodesTest {
    static final int RTSP_PORT = 18654;
    static final int API_PORT = 16463;
    static final int VLC_PORT = 18656;

    /** One port per agent: each listens in its own namespace, but scrapes share a client. */
    static final Map<String, String> METRICS =
            Map.of(
                    "node-a",
                    "127.0.0.1:19497",
                    "node-b",
                    "127.0.0.1:19498",
                    "node-c",
                    "127.0.0.1:19499");

    final String id = Names.runId();
    final List<AutoCloseable> closing = new ArrayList<>();
    final List<Player> players = new ArrayList<>();
    final List<Path> files = new ArrayList<>();
    final List<Path> bpffs = new ArrayList<>();
    Netns a;
    Netns b;
    Netns c;
    Netns pub;
    Netns vb;
    Netns vc;
    ApiServer api;
    AgentProcess agentA;
    AgentProcess agentB;
    AgentProcess agentC;
    Netns backend;
    Process publisher;
    Process vlc;
    Path dir;

    String ifname(String s) {
        return id + s;
    }

    @BeforeEach
    void setUp() throws Exception {
        KernelTestCondition.requireTools("ffmpeg", "gst-launch-1.0", "cvlc", "setpriv");
        a = ns("na");
        b = ns("nb");
        c = ns("nc");
        pub = ns("pa");
        vb = ns("vb");
        vc = ns("vc");
        backend = ns("bk");
        Veth.create(a, ifname("ab"), "10.210.1.1/24", b, ifname("ba"), "10.210.1.2/24");
        Veth.create(a, ifname("ac"), "10.210.2.1/24", c, ifname("ca"), "10.210.2.2/24");
        Veth.create(a, ifname("ap"), "10.210.3.1/24", pub, ifname("pa"), "10.210.3.2/24");
        Veth.create(b, ifname("bv"), "10.210.4.1/24", vb, ifname("vb"), "10.210.4.2/24");
        Veth.create(c, ifname("cv"), "10.210.5.1/24", vc, ifname("vc"), "10.210.5.2/24");
        Veth.create(c, ifname("ck"), "10.210.6.1/24", backend, ifname("kc"), "10.210.6.2/24");
        // node A's "node address" (its pod's hostIP) is 10.210.1.1: node C reaches it through A;
        // both reach the relays on A's publisher side (10.210.3.1) through A
        for (Netns n : List.of(a, b, c)) {
            n.exec("sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
        }
        c.ip("route", "add", "10.210.1.0/24", "via", "10.210.2.1");
        c.ip("route", "add", "10.210.3.0/24", "via", "10.210.2.1");
        b.ip("route", "add", "10.210.3.0/24", "via", "10.210.1.1");
        pub.ip("route", "add", "default", "via", "10.210.3.1");
        vb.ip("route", "add", "default", "via", "10.210.4.1");
        vc.ip("route", "add", "default", "via", "10.210.5.1");
        // the backend on node C: A reaches C's agent (10.210.2.2) directly, B through A; both reach
        // C's relays on the backend's side (10.210.6.1) through C
        backend.ip("route", "add", "default", "via", "10.210.6.1");
        a.ip("route", "add", "10.210.6.0/24", "via", "10.210.2.2");
        b.ip("route", "add", "10.210.2.0/24", "via", "10.210.1.1");
        b.ip("route", "add", "10.210.6.0/24", "via", "10.210.1.1");
        // readable by nobody: VLC serves a clip from here (it refuses to run as root)
        dir =
                Files.createTempDirectory(
                        "msm-tree-" + id,
                        PosixFilePermissions.asFileAttribute(
                                PosixFilePermissions.fromString("rwxr-xr-x")));
        api = new ApiServer();
        api.client
                .namespaces()
                .resource(
                        new NamespaceBuilder()
                                .withNewMetadata()
                                .withName("msm-system")
                                .endMetadata()
                                .build())
                .createOr(r -> r.update());
        agentPod("msm-a", "node-a", "10.210.1.1");
        agentPod("msm-b", "node-b", "10.210.1.2");
        agentPod("msm-c", "node-c", "10.210.2.2");
    }

    Netns ns(String suffix) {
        Netns n = Netns.create(id + suffix);
        closing.add(n);
        return n;
    }

    void agentPod(String name, String node, String hostIp) {
        api.client
                .pods()
                .inNamespace("msm-system")
                .resource(
                        new PodBuilder()
                                .withNewMetadata()
                                .withName(name)
                                .withNamespace("msm-system")
                                .withLabels(Map.of("app.kubernetes.io/component", "agent"))
                                .endMetadata()
                                .withNewSpec()
                                .withNodeName(node)
                                .withHostNetwork(true)
                                .addNewContainer()
                                .withName("agent")
                                .withImage("msm")
                                .endContainer()
                                .endSpec()
                                .withNewStatus()
                                .withPhase("Running")
                                .withHostIP(hostIp)
                                .withPodIP(hostIp)
                                .withConditions(
                                        new PodConditionBuilder()
                                                .withType("Ready")
                                                .withStatus("True")
                                                .build())
                                .endStatus()
                                .build())
                .createOr(r -> r.update());
    }

    AgentProcess agent(Netns ns, String node, List<String> ifaces) throws IOException {
        Path kubeconfig = dir.resolve(node + ".kubeconfig");
        Files.writeString(kubeconfig, api.relayFrom(ns, API_PORT));
        Path fs = Path.of("/sys/fs/bpf/msmtest-" + id + node.substring(5));
        bpffs.add(fs);
        Path config = dir.resolve(node + ".yaml");
        Files.writeString(
                config,
                String.join(
                        "\n",
                        "interfaces: [" + String.join(", ", ifaces) + "]",
                        "bpffs: " + fs,
                        "rtsp-listen: 0.0.0.0:" + RTSP_PORT,
                        "sip-listen: 127.0.0.1:15081",
                        "rtsp:",
                        "  defaults: {publish: {from: [10.210.3.2/32]}}",
                        "  upstream-linger: 5s",
                        "kubernetes:",
                        "  enabled: true",
                        "  kubeconfig: " + kubeconfig,
                        "  node-name: " + node,
                        "  status: never",
                        "  relay-tree: true",
                        "  agent-namespace: msm-system",
                        "  intercept: {enabled: false}",
                        ""));
        return AgentProcess.start(ns, METRICS.get(node), List.of("--config", config.toString()));
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            for (Player p : players) {
                p.close();
            }
            for (Process p : new Process[] {publisher, vlc}) {
                if (p != null && p.isAlive()) {
                    Sh.exec("kill", "-KILL", Long.toString(p.pid()));
                    p.waitFor(5, TimeUnit.SECONDS);
                }
            }
            for (AgentProcess p : new AgentProcess[] {agentA, agentB, agentC}) {
                if (p != null) {
                    p.close();
                }
            }
            for (int i = 0; i < bpffs.size(); i++) {
                Netns n = List.of(a, b, c).get(i);
                AgentProcess.run(n, "cleanup", "--bpffs", bpffs.get(i).toString());
            }
            if (api != null) {
                api.close();
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
                        "\n--- edges: "
                                + edges()
                                + "\n--- agent A:\n"
                                + RtspPlayersSuite.tail(agentA.log(), 3000)
                                + "\n--- agent B:\n"
                                + RtspPlayersSuite.tail(agentB.log(), 3000)
                                + "\n--- agent C:\n"
                                + RtspPlayersSuite.tail(agentC.log(), 3000)
                                + "\n--- players:\n"
                                + players.stream().map(p -> p + ": " + p.output()).toList());
    }

    static double metric(AgentProcess p, String name, String... labels) {
        return p.scrape().value(name, labels).orElse(Double.NaN);
    }

    static long counter(Netns ns, String ifname, String which) {
        return Long.parseLong(
                ns.exec("cat", "/sys/class/net/" + ifname + "/statistics/" + which).trim());
    }

    String edges() {
        StringBuilder b = new StringBuilder();
        for (AgentProcess p : new AgentProcess[] {agentA, agentB, agentC}) {
            if (p == null || !p.alive()) {
                continue;
            }
            for (String l : p.get("/metrics").split("\n")) {
                if (l.contains("tree_edges") || l.contains("upstream_sessions")) {
                    b.append(l).append('\n');
                }
            }
            b.append("--\n");
        }
        return b.toString();
    }

    /** Upstream sessions the agent opened for cam (its log's lines). */
    static int upstreamSessions(AgentProcess p) {
        return p.log().split("cam: opening upstream session", -1).length - 1;
    }

    String annotation() {
        var p = api.client.pods().inNamespace("msm-system").withName("msm-a").get();
        var an = p.getMetadata().getAnnotations();
        return an == null ? "" : an.getOrDefault("msm.io/published-paths", "");
    }

    @Test
    void viewersOnTwoNodesPullFromTheOriginNodesAgentOnceEach() throws Exception {
        agentA = agent(a, "node-a", List.of(ifname("ab"), ifname("ac"), ifname("ap")));
        agentB = agent(b, "node-b", List.of(ifname("ba"), ifname("bv")));
        agentC = agent(c, "node-c", List.of(ifname("ca"), ifname("cv"), ifname("ck")));
        routedBackendOnNodeC(); // while the agents start
        agentA.awaitReady(90_000);
        agentB.awaitReady(90_000);
        agentC.awaitReady(90_000);

        publisher =
                new ProcessBuilder(
                                Player.inNamespace(
                                        pub,
                                        Player.ffmpegTestPublisher(
                                                "udp", "rtsp://10.210.3.1:" + RTSP_PORT + "/cam")))
                        .redirectErrorStream(true)
                        .redirectOutput(dir.resolve("publisher.log").toFile())
                        .start();
        waitFor(
                () -> metric(agentA, "msm_rtsp_path_publishing", "path", "cam") == 1.0,
                20_000,
                "ffmpeg publishing cam to node A");
        waitFor(() -> annotation().contains("cam"), 10_000, "node A's agent names cam on its pod");
        Timeouts.sleep(1000); // a key frame on its way

        String urlB = "rtsp://10.210.4.1:" + RTSP_PORT + "/cam";
        String urlC = "rtsp://10.210.5.1:" + RTSP_PORT + "/cam";
        List<Player> onB =
                List.of(
                        Player.start(Player.Kind.FFMPEG_UDP, vb, urlB, 30),
                        Player.start(Player.Kind.GST_TCP, vb, urlB, 30));
        players.addAll(onB);
        List<Player> onC =
                List.of(
                        Player.start(Player.Kind.GST_UDP, vc, urlC, 30),
                        Player.start(Player.Kind.FFMPEG_TCP, vc, urlC, 30));
        players.addAll(onC);
        waitFor(
                () -> players.stream().allMatch(p -> p.frames() >= 25),
                30_000,
                "every player decoding");

        assertEquals(
                2.0,
                metric(agentA, "msm_rtsp_path_viewers", "path", "cam"),
                "node A's agent serves one session per remote node");
        assertEquals(2.0, metric(agentB, "msm_rtsp_path_viewers", "path", "cam"));
        assertEquals(2.0, metric(agentC, "msm_rtsp_path_viewers", "path", "cam"));
        waitFor(
                () ->
                        metric(
                                                agentA,
                                                "msm_rtsp_tree_edges",
                                                "direction",
                                                "serves",
                                                "peer",
                                                "node-b")
                                        == 1.0
                                && metric(
                                                agentA,
                                                "msm_rtsp_tree_edges",
                                                "direction",
                                                "serves",
                                                "peer",
                                                "node-c")
                                        == 1.0
                                && metric(
                                                agentB,
                                                "msm_rtsp_tree_edges",
                                                "direction",
                                                "takes",
                                                "peer",
                                                "node-a")
                                        == 1.0
                                && metric(
                                                agentC,
                                                "msm_rtsp_tree_edges",
                                                "direction",
                                                "takes",
                                                "peer",
                                                "node-a")
                                        == 1.0,
                5_000,
                "the tree's edges on /metrics");
        assertEquals(1, upstreamSessions(agentB), "node B pulled once");
        assertEquals(1, upstreamSessions(agentC), "node C pulled once");

        // bytes per link over a window: what the publisher sends in, each link carries once
        long in0 = counter(a, ifname("ap"), "rx_bytes");
        long ab0 = counter(a, ifname("ab"), "tx_bytes");
        long ac0 = counter(a, ifname("ac"), "tx_bytes");
        Thread.sleep(Timeouts.ms(3000));
        long in = counter(a, ifname("ap"), "rx_bytes") - in0;
        long ab = counter(a, ifname("ab"), "tx_bytes") - ab0;
        long ac = counter(a, ifname("ac"), "tx_bytes") - ac0;
        System.out.printf(
                "relay tree: publisher -> node A %d bytes, A -> B %d bytes (%.2fx), A -> C %d bytes (%.2fx) in 3 s%n",
                in, ab, (double) ab / in, ac, (double) ac / in);
        assertTrue(in > 10_000, "the publisher sends: " + in);
        assertTrue(
                ab > in * 0.7 && ab < in * 1.5,
                "A->B carries the stream once: " + ab + " vs " + in);
        assertTrue(
                ac > in * 0.7 && ac < in * 1.5,
                "A->C carries the stream once: " + ac + " vs " + in);

        viewersOnAAndBPullTheRoutedBackendFromNodeCsAgent();

        // node B's agent goes away: A's session for B ends, C keeps decoding without re-pulling
        agentB.kill();
        waitFor(
                () -> metric(agentA, "msm_rtsp_path_viewers", "path", "cam") == 1.0,
                20_000,
                "node B's session at node A ends");
        int[] before = onC.stream().mapToInt(Player::frames).toArray();
        Thread.sleep(Timeouts.ms(2000));
        for (int i = 0; i < onC.size(); i++) {
            assertTrue(
                    onC.get(i).frames() > before[i] + 10,
                    onC.get(i) + " keeps decoding: " + before[i] + " -> " + onC.get(i).frames());
        }
        assertEquals(1, upstreamSessions(agentC), "node C did not pull again");
        assertEquals(1.0, metric(agentA, "msm_rtsp_path_publishing", "path", "cam"));
        assertEquals(
                1.0, metric(agentC, "msm_rtsp_tree_edges", "direction", "takes", "peer", "node-a"));
    }

    /**
     * VLC serving a clip on /vod from a namespace attached to node C; a Service, its EndpointSlice
     * (the endpoint's nodeName: node-c) and a StreamRoute for /vod in the shared API mock.
     */
    void routedBackendOnNodeC() throws Exception {
        // long enough that VLC does not reach the end of its loop during the test: a session set
        // up at VLC's loop boundary got no RTP once (9 s without a packet)
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
                        "90",
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
        vlc =
                new ProcessBuilder(
                                "ip",
                                "netns",
                                "exec",
                                backend.name(),
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
                                "#rtp{sdp=rtsp://10.210.6.2:" + VLC_PORT + "/vod}")
                        .redirectErrorStream(true)
                        .redirectOutput(dir.resolve("vlc.log").toFile())
                        .start();

        api.client
                .namespaces()
                .resource(
                        new NamespaceBuilder()
                                .withNewMetadata()
                                .withName("studio")
                                .endMetadata()
                                .build())
                .createOr(r -> r.update());
        api.client
                .services()
                .inNamespace("studio")
                .resource(
                        new ServiceBuilder()
                                .withNewMetadata()
                                .withName("vod")
                                .withNamespace("studio")
                                .endMetadata()
                                .withNewSpec()
                                .addNewPort()
                                .withName("rtsp")
                                .withPort(554)
                                .withProtocol("TCP")
                                .endPort()
                                .endSpec()
                                .build())
                .createOr(r -> r.update());
        api.client
                .discovery()
                .v1()
                .endpointSlices()
                .inNamespace("studio")
                .resource(
                        new EndpointSliceBuilder()
                                .withNewMetadata()
                                .withName("vod-abc")
                                .withNamespace("studio")
                                .withLabels(Map.of("kubernetes.io/service-name", "vod"))
                                .endMetadata()
                                .withAddressType("IPv4")
                                .addNewPort()
                                .withName("rtsp")
                                .withPort(VLC_PORT)
                                .withProtocol("TCP")
                                .endPort()
                                .addNewEndpoint()
                                .withAddresses("10.210.6.2")
                                .withNodeName("node-c")
                                .withNewConditions()
                                .withReady(true)
                                .endConditions()
                                .endEndpoint()
                                .build())
                .createOr(r -> r.update());
        StreamRouteSpec.BackendRef ref = new StreamRouteSpec.BackendRef();
        ref.service = new StreamRouteSpec.ServiceRef();
        ref.service.name = "vod";
        ref.service.namespace = "studio";
        ref.service.port = 554;
        StreamRouteSpec spec = new StreamRouteSpec();
        spec.match = new StreamRouteSpec.Match();
        spec.match.path = new StreamRouteSpec.PathMatch();
        spec.match.path.type = "PathPrefix";
        spec.match.path.value = "/vod";
        spec.backends = new ArrayList<>(List.of(ref));
        StreamRoute route = new StreamRoute();
        route.setMetadata(new ObjectMetaBuilder().withName("vod").withNamespace("studio").build());
        route.setSpec(spec);
        api.client.resources(StreamRoute.class).inNamespace("studio").resource(route).create();
    }

    /** The backend's RTSP connections that last (a probe's OPTIONS/DESCRIBE comes and goes). */
    Set<String> lastingBackendConnections() throws InterruptedException {
        Set<String> first = backendConnections();
        Thread.sleep(Timeouts.ms(1500));
        Set<String> lasting = new TreeSet<>(backendConnections());
        lasting.retainAll(first);
        return lasting;
    }

    /** Peers (address:port) of the established TCP connections to VLC's RTSP port. */
    Set<String> backendConnections() {
        Set<String> out = new TreeSet<>();
        for (String l :
                backend.exec("ss", "-Htn", "state", "established", "( sport = :" + VLC_PORT + " )")
                        .split("\n")) {
            String[] f = l.trim().split("\\s+");
            if (f.length >= 4) {
                out.add(f[f.length - 1]);
            }
        }
        return out;
    }

    /**
     * Viewers on A (from the publisher's namespace) and B ask their own node's agent for /vod; both
     * agents pull it from C's agent, which alone pulls from the backend.
     */
    void viewersOnAAndBPullTheRoutedBackendFromNodeCsAgent() throws Exception {
        String urlA = "rtsp://10.210.3.1:" + RTSP_PORT + "/vod";
        String urlB = "rtsp://10.210.4.1:" + RTSP_PORT + "/vod";
        List<Player> vod =
                List.of(
                        Player.start(Player.Kind.FFMPEG_UDP, pub, urlA, 20),
                        Player.start(Player.Kind.GST_UDP, vb, urlB, 20));
        players.addAll(vod);
        waitFor(
                () -> vod.stream().allMatch(p -> p.frames() >= 25),
                30_000,
                "the viewers of /vod on A and B decoding\n--- vlc:\n"
                        + RtspPlayersSuite.tail(readLog("vlc.log"), 2000));
        waitFor(
                () ->
                        metric(
                                                agentA,
                                                "msm_rtsp_tree_edges",
                                                "direction",
                                                "takes",
                                                "peer",
                                                "node-c")
                                        == 1.0
                                && metric(
                                                agentB,
                                                "msm_rtsp_tree_edges",
                                                "direction",
                                                "takes",
                                                "peer",
                                                "node-c")
                                        == 1.0
                                && metric(
                                                agentC,
                                                "msm_rtsp_tree_edges",
                                                "direction",
                                                "serves",
                                                "peer",
                                                "node-a")
                                        == 1.0
                                && metric(
                                                agentC,
                                                "msm_rtsp_tree_edges",
                                                "direction",
                                                "serves",
                                                "peer",
                                                "node-b")
                                        == 1.0,
                5_000,
                "A and B take /vod from node C, C serves both");
        assertEquals(
                2.0,
                metric(agentC, "msm_rtsp_path_viewers", "path", "vod"),
                "node C's agent serves one session per remote node");
        assertEquals(
                1.0,
                metric(agentC, "msm_rtsp_path_upstream_sessions_total", "path", "vod"),
                "node C's agent pulls the backend once");
        Set<String> sessions = lastingBackendConnections();
        assertEquals(1, sessions.size(), "the backend serves one session: " + sessions);
        assertTrue(
                sessions.iterator().next().startsWith("10.210.6.1:"),
                "the backend's one session is node C's agent's: " + sessions);

        // bytes over a window: backend -> C once, C -> A twice (A's copy and B's, B is behind A)
        long in0 = counter(c, ifname("ck"), "rx_bytes");
        long ca0 = counter(c, ifname("ca"), "tx_bytes");
        long ab0 = counter(a, ifname("ab"), "tx_bytes");
        Thread.sleep(Timeouts.ms(3000));
        long in = counter(c, ifname("ck"), "rx_bytes") - in0;
        long ca = counter(c, ifname("ca"), "tx_bytes") - ca0;
        long ab = counter(a, ifname("ab"), "tx_bytes") - ab0;
        System.out.printf(
                "routed backend on node C: backend -> C %d bytes, C -> A %d bytes (%.2fx, A's and B's"
                        + " copies), A -> B %d bytes (%.2fx, with B's share of /cam) in 3 s%n",
                in, ca, (double) ca / in, ab, (double) ab / in);
        assertTrue(in > 10_000, "the backend sends: " + in);
        assertTrue(
                ca > in * 1.4 && ca < in * 3.0,
                "C -> A carries two copies (A's and B's): " + ca + " vs " + in);
        for (Player p : vod) {
            p.close();
        }
        players.removeAll(vod);
    }

    String readLog(String name) {
        try {
            return Files.readString(dir.resolve(name));
        } catch (IOException e) {
            return "(" + e + ")";
        }
    }
}
