package io.msm.kernel.intercept;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.msm.agent.k8s.crd.StreamPolicy;
import io.msm.agent.k8s.crd.StreamPolicySpec;
import io.msm.agent.k8s.crd.StreamRouteSpec;
import io.msm.bpf.Bpffs;
import io.msm.testkit.AgentProcess;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Names;
import io.msm.testkit.Netns;
import io.msm.testkit.Timeouts;
import io.msm.testkit.Veth;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Publishing by workload identity with real namespaces: the real msm-agent in a "node" namespace,
 * watching a Kubernetes API (fabric8's mock, through a relay) that has a camera pod of namespace
 * video (ServiceAccount camera) and a pod of namespace lab (ServiceAccount intruder, on another
 * node), each a network namespace of its own behind a veth. A StreamPolicy lets video's camera
 * publish /cam: the camera's ANNOUNCE is taken without a password, the lab pod's is refused 403
 * without a challenge — decided by the address each connection comes from.
 *
 * <pre>
 *   cam netns  10.202.1.2 ──veth── 10.202.1.1  node netns (msm-agent)  10.202.2.1 ──veth── 10.202.2.2  lab netns
 * </pre>
 */
@KernelTest
class AgentIdentityTest {
    static final int RTSP_PORT = 18564;
    static final int API_PORT = 16453;
    static final String METRICS = "127.0.0.1:19489";
    static final String SDP =
            "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=cam\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
                    + "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:streamid=0\r\n";

    final String id = Names.runId();
    final List<AutoCloseable> closing = new ArrayList<>();
    Netns node;
    Netns cam;
    Netns lab;
    ApiServer api;
    AgentProcess agent;
    Path bpffs;
    Path config;
    Path kubeconfig;

    @BeforeEach
    void setUp() throws Exception {
        node = Netns.create(id + "n");
        closing.add(node);
        cam = Netns.create(id + "a");
        closing.add(cam);
        lab = Netns.create(id + "b");
        closing.add(lab);
        Veth.create(node, id + "ha", "10.202.1.1/24", cam, id + "ca", "10.202.1.2/24");
        Veth.create(node, id + "hb", "10.202.2.1/24", lab, id + "cb", "10.202.2.2/24");
        bpffs = Path.of("/sys/fs/bpf/msmtest-" + id);
        api = new ApiServer();
        kubeconfig = Files.createTempFile("msm-kubeconfig", ".yaml");
        Files.writeString(kubeconfig, api.relayFrom(node, API_PORT));
        config = Files.createTempFile("msm-agent", ".yaml");
        Files.writeString(
                config,
                String.join(
                        "\n",
                        "interfaces: [" + id + "ha, " + id + "hb]",
                        "bpffs: " + bpffs,
                        "rtsp-listen: 0.0.0.0:" + RTSP_PORT,
                        "sip-listen: 127.0.0.1:15070",
                        "kubernetes:",
                        "  enabled: true",
                        "  kubeconfig: " + kubeconfig,
                        "  node-name: node-a",
                        "  status: always",
                        "  trust-domain: msm.test",
                        "  intercept: {enabled: false}",
                        ""));
        for (String ns : List.of("video", "lab")) {
            api.client
                    .namespaces()
                    .resource(
                            new NamespaceBuilder()
                                    .withNewMetadata()
                                    .withName(ns)
                                    .endMetadata()
                                    .build())
                    .createOr(r -> r.update());
        }
        pod("video", "cam-0", "camera", "node-a", "10.202.1.2");
        pod("lab", "rogue", "intruder", "node-b", "10.202.2.2");
        StreamPolicy p = new StreamPolicy();
        p.setMetadata(new ObjectMetaBuilder().withNamespace("video").withName("cams").build());
        p.setSpec(new StreamPolicySpec());
        p.getSpec().match = new StreamRouteSpec.Match();
        p.getSpec().match.path = new StreamRouteSpec.PathMatch();
        p.getSpec().match.path.type = "Exact";
        p.getSpec().match.path.value = "/cam";
        StreamPolicySpec.Peer camera = new StreamPolicySpec.Peer();
        camera.serviceAccount = "camera";
        p.getSpec().publish = List.of(camera);
        api.client
                .resources(StreamPolicy.class)
                .inNamespace("video")
                .resource(p)
                .createOr(r -> r.update());
    }

    void pod(String ns, String name, String sa, String nodeName, String ip) {
        api.client
                .pods()
                .inNamespace(ns)
                .resource(
                        new PodBuilder()
                                .withNewMetadata()
                                .withName(name)
                                .withNamespace(ns)
                                .endMetadata()
                                .withNewSpec()
                                .withNodeName(nodeName)
                                .withServiceAccountName(sa)
                                .addNewContainer()
                                .withName("c")
                                .withImage("c")
                                .endContainer()
                                .endSpec()
                                .withNewStatus()
                                .withPhase("Running")
                                .withPodIP(ip)
                                .endStatus()
                                .build())
                .createOr(r -> r.update());
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            if (agent != null) {
                agent.close();
            }
            AgentProcess.run(node, "cleanup", "--bpffs", bpffs.toString());
            api.close();
        } finally {
            Bpffs.removeTree(bpffs);
            Files.deleteIfExists(config);
            Files.deleteIfExists(kubeconfig);
            for (int i = closing.size() - 1; i >= 0; i--) {
                closing.get(i).close();
            }
        }
    }

    void await(String what, BooleanSupplier cond) throws InterruptedException {
        long ms = Timeouts.ms(20_000);
        long end = System.nanoTime() + ms * 1_000_000;
        while (System.nanoTime() < end) {
            if (cond.getAsBoolean()) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(
                "timed out after "
                        + ms
                        + " ms waiting for: "
                        + what
                        + "\nagent log:\n"
                        + agent.log());
    }

    /** ANNOUNCE of /cam from {@code from} to the node address it reaches; the whole header. */
    static String announce(Netns from, String nodeAddr) {
        return from.call(
                () -> {
                    try (Socket s = new Socket()) {
                        s.connect(new InetSocketAddress(nodeAddr, RTSP_PORT), 5000);
                        s.setSoTimeout(5000);
                        byte[] body = SDP.getBytes(StandardCharsets.UTF_8);
                        String url = "rtsp://" + nodeAddr + ":" + RTSP_PORT + "/cam";
                        OutputStream out = s.getOutputStream();
                        out.write(
                                ("ANNOUNCE "
                                                + url
                                                + " RTSP/1.0\r\nCSeq: 1\r\nContent-Type: application/sdp\r\n"
                                                + "Content-Length: "
                                                + body.length
                                                + "\r\n\r\n")
                                        .getBytes(StandardCharsets.US_ASCII));
                        out.write(body);
                        out.flush();
                        BufferedReader in =
                                new BufferedReader(
                                        new InputStreamReader(
                                                s.getInputStream(), StandardCharsets.US_ASCII));
                        StringBuilder head = new StringBuilder();
                        for (String l = in.readLine();
                                l != null && !l.isEmpty();
                                l = in.readLine()) {
                            head.append(l).append('\n');
                        }
                        return head.toString();
                    }
                });
    }

    boolean enforced() {
        StreamPolicy p =
                api.client
                        .resources(StreamPolicy.class)
                        .inNamespace("video")
                        .withName("cams")
                        .get();
        if (p == null || p.getStatus() == null) {
            return false;
        }
        for (Condition c : p.getStatus().conditions) {
            if ("Enforced".equals(c.getType()) && "True".equals(c.getStatus())) {
                return true;
            }
        }
        return false;
    }

    @Test
    void aPublisherPodOfTheAllowedServiceAccountPublishesOneOfAnotherNamespaceIsRefused()
            throws Exception {
        agent =
                AgentProcess.start(node, METRICS, List.of("--config", config.toString()))
                        .awaitReady(60_000);
        await("the policy's status says it is enforced", this::enforced);
        String refused = announce(lab, "10.202.2.1");
        assertTrue(refused.startsWith("RTSP/1.0 403"), refused);
        assertTrue(refused.contains("spiffe://msm.test/ns/lab/sa/intruder"), refused);
        assertFalse(refused.contains("WWW-Authenticate"), "no password prompt: " + refused);
        String taken = announce(cam, "10.202.1.1");
        assertTrue(taken.startsWith("RTSP/1.0 200"), taken + "\nagent log:\n" + agent.log());
    }
}
