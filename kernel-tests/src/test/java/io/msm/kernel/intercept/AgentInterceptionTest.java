package io.msm.kernel.intercept;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.msm.bpf.Bpffs;
import io.msm.testkit.AgentProcess;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Sh;
import io.msm.testkit.Timeouts;
import java.net.BindException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The real msm-agent (the built jar, through bin/msm-agent) in a "node" namespace, watching a
 * Kubernetes API (fabric8's mock, reached through a relay): a pod of its node labelled
 * msm.io/intercept=true gets the interception programs on its cgroup, so its connect to
 * 10.123.0.5:554 is answered on the node's RTSP port (the proxy's --rtsp-listen); deleting the pod
 * detaches; the links survive the agent's stop; 'msm-agent cleanup' removes them.
 */
@KernelTest
class AgentInterceptionTest {
    static final int RTSP_PORT = 18554;
    static final int API_PORT = 16443;
    static final String METRICS = "127.0.0.1:19479";

    PodNamespace env;
    ApiServer api;
    AgentProcess agent;
    RtspResponder proxy;
    Path bpffs;
    Path pins;
    Path config;
    Path kubeconfig;

    @BeforeEach
    void setUp() throws Exception {
        env = new PodNamespace();
        bpffs = Path.of("/sys/fs/bpf/msmtest-" + env.id);
        pins = Path.of("/sys/fs/bpf/msmtest-" + env.id + "-icpt");
        api = new ApiServer();
        kubeconfig = Files.createTempFile("msm-kubeconfig", ".yaml");
        Files.writeString(kubeconfig, api.relayFrom(env.node, API_PORT));
        config = Files.createTempFile("msm-agent", ".yaml");
        Files.writeString(
                config,
                String.join(
                        "\n",
                        "interfaces: [" + env.id + "h]",
                        "bpffs: " + bpffs,
                        "rtsp-listen: " + PodNamespace.NODE_ADDR + ":" + RTSP_PORT,
                        "sip-listen: 127.0.0.1:15060",
                        "kubernetes:",
                        "  enabled: true",
                        "  kubeconfig: " + kubeconfig,
                        "  node-name: node-a",
                        "  status: never",
                        "  probe-interval: 500ms",
                        "  intercept:",
                        "    tcp-ports: [554]",
                        "    cgroup-root: " + env.cgroupRoot,
                        "    pin-dir: " + pins,
                        ""));
        // createOr: under qemu's TCG a slow answer makes the client retry a POST that already
        // succeeded
        api.client
                .namespaces()
                .resource(
                        new NamespaceBuilder()
                                .withNewMetadata()
                                .withName("media")
                                .endMetadata()
                                .build())
                .createOr(r -> r.update());
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            if (agent != null) {
                agent.close();
            }
            AgentProcess.run(
                    env.node,
                    "cleanup",
                    "--bpffs",
                    bpffs.toString(),
                    "--intercept-pins",
                    pins.toString());
            if (proxy != null) {
                proxy.close();
            }
            api.close();
        } finally {
            Bpffs.removeTree(pins);
            Bpffs.removeTree(bpffs);
            Files.deleteIfExists(config);
            Files.deleteIfExists(kubeconfig);
            env.close();
        }
    }

    Pod pod(String name, String uid, String node) {
        return api.client
                .pods()
                .inNamespace("media")
                .resource(
                        new PodBuilder()
                                .withNewMetadata()
                                .withName(name)
                                .withNamespace("media")
                                .withLabels(Map.of("msm.io/intercept", "true"))
                                .endMetadata()
                                .withNewSpec()
                                .withNodeName(node)
                                .addNewContainer()
                                .withName("player")
                                .withImage("player")
                                .endContainer()
                                .endSpec()
                                .withNewStatus()
                                .withPhase("Running")
                                .withHostIP(PodNamespace.NODE_ADDR)
                                .withQosClass("BestEffort")
                                .endStatus()
                                .build())
                .createOr(r -> r.update());
    }

    String uid; // the pod's UID as the API server gave it
    Path cgroup; // its cgroup, as the kubelet would make it

    Pod player() throws Exception {
        Pod p = pod("player", null, "node-a");
        uid = p.getMetadata().getUid();
        cgroup =
                env.cgroupOf(
                        uid); // after the pod event: the agent retries pods whose cgroup is not
        // there yet
        return p;
    }

    boolean linked() {
        return Files.exists(pins.resolve("links").resolve(uid + "_connect4"));
    }

    void await(String what, BooleanSupplier cond) throws InterruptedException {
        long ms = Timeouts.ms(20_000);
        long end = System.nanoTime() + ms * 1_000_000;
        while (System.nanoTime() < end) {
            if (cond.getAsBoolean()) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError(
                "timed out after "
                        + ms
                        + " ms waiting for: "
                        + what
                        + (agent == null ? "" : "\nagent log:\n" + agent.log()));
    }

    String call() {
        return env.connect(cgroup, PodNamespace.FAR_ADDR, 554, "rtsp://cam.example.com/live");
    }

    @Test
    void anOptedInPodOfTheNodeIsAnsweredOnTheNodesRtspPort() throws Exception {
        Pod elsewhere = pod("elsewhere", null, "node-b");
        env.cgroupOf(elsewhere.getMetadata().getUid());
        agent =
                AgentProcess.start(env.node, METRICS, List.of("--config", config.toString()))
                        .awaitReady(60_000);
        player();
        // the RTSP proxy answers on --rtsp-listen; where the agent has none yet, a responder stands
        // in for it
        try {
            proxy = new RtspResponder(env.node, env.nodeAddr(), RTSP_PORT);
        } catch (IllegalStateException e) {
            if (!(e.getCause() instanceof BindException)) {
                throw e; // in use: the agent's own RTSP proxy listens there
            }
        }
        await("the agent attached to the pod's cgroup", this::linked);
        assertFalse(
                Files.exists(
                        pins.resolve("links")
                                .resolve(elsewhere.getMetadata().getUid() + "_connect4")),
                "a pod of another node is not intercepted");

        String out = call();
        assertTrue(
                out.contains("reply=RTSP/1.0 "),
                "the pod's RTSP request was answered on the node: "
                        + out
                        + "\nagent log:\n"
                        + agent.log());
        assertTrue(out.contains("peer=" + PodNamespace.FAR_ADDR + ":554"), out);
        if (proxy != null) {
            assertEquals(
                    "OPTIONS rtsp://cam.example.com/live RTSP/1.0",
                    proxy.seen.get(0).requestLine());
        }
        out = env.connect((Path) null, PodNamespace.FAR_ADDR, 554, "rtsp://cam.example.com/live");
        assertTrue(
                out.contains("connect-failed"), "not in the pod's cgroup: not redirected: " + out);

        // the pod goes: the agent detaches
        api.client.pods().inNamespace("media").withName("player").delete();
        await("detached when the pod was deleted", () -> !linked());
        assertTrue(call().contains("connect-failed"), "no longer intercepted");

        // a new pod comes; the agent stops: interception stays (pinned links), as the datapath does
        player();
        await("attached again", this::linked);
        assertEquals(0, agent.stop(), "orderly stop");
        if (proxy == null) {
            // the agent's own proxy stopped with it: a stand-in takes its port, to show the pod's
            // connections still go there
            proxy = new RtspResponder(env.node, env.nodeAddr(), RTSP_PORT);
        }
        assertTrue(call().contains("reply=RTSP/1.0 "), "still intercepted while the agent is down");

        Sh.Result c =
                AgentProcess.run(
                        env.node,
                        "cleanup",
                        "--bpffs",
                        bpffs.toString(),
                        "--intercept-pins",
                        pins.toString());
        assertEquals(0, c.exit(), c.out() + c.err());
        assertTrue(c.out().contains("interception detached from 1 pod(s)"), c.out());
        assertFalse(Files.exists(pins), "interception pins removed");
        assertTrue(call().contains("connect-failed"), "cleanup detached the pod");
    }
}
