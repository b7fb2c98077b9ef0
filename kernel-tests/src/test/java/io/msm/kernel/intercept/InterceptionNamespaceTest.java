package io.msm.kernel.intercept;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.intercept.Interception;
import io.msm.agent.intercept.PodRef;
import io.msm.bpf.Bpffs;
import io.msm.bpf.intercept.InterceptStats;
import io.msm.testkit.KernelTest;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Transparent interception with the real programs on a real cgroup: a "pod" (a process in the pod's
 * cgroup, in the pod's network namespace) connects to 10.123.0.5:554 — an address nothing answers —
 * and is answered by the node's proxy, while getpeername() still says 10.123.0.5:554. A process of
 * the same namespace outside the cgroup, or a port not listed, is not redirected. Detaching, a
 * restarted agent (adoption of the pinned links) and cleanup are checked on the same setup.
 */
@KernelTest
class InterceptionNamespaceTest {
    static final int PROXY_PORT = 18554;
    PodNamespace env;
    RtspResponder proxy;
    Path pins;

    @BeforeEach
    void setUp() throws Exception {
        env = new PodNamespace();
        pins = Path.of("/sys/fs/bpf/msmtest-" + env.id + "-icpt");
        proxy = new RtspResponder(env.node, env.nodeAddr(), PROXY_PORT);
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            if (proxy != null) {
                proxy.close();
            }
            Interception.cleanup(pins);
        } finally {
            Bpffs.removeTree(pins);
            env.close();
        }
    }

    Interception start() throws Exception {
        return Interception.start(
                pins,
                env.cgroupRoot,
                List.of(554, 8554),
                new InetSocketAddress(env.nodeAddr(), PROXY_PORT),
                PROXY_PORT);
    }

    PodRef pod() {
        return new PodRef(env.podUid, "media", "player", "BestEffort");
    }

    @Test
    void podConnectIsAnsweredByTheProxyAndOthersAreNot() throws Exception {
        try (Interception icpt = start()) {
            assertEquals(
                    Set.of(env.podUid),
                    icpt.reconcile(List.of(pod())),
                    "attached to the pod found by UID");

            String out =
                    env.connect(true, PodNamespace.FAR_ADDR, 554, "rtsp://cam.example.com/live");
            assertTrue(
                    out.contains("reply=RTSP/1.0 200 OK"),
                    "the pod was answered by the proxy: " + out);
            assertTrue(
                    out.contains("peer=" + PodNamespace.FAR_ADDR + ":554"),
                    "getpeername() shows where the pod connected, not the proxy: " + out);
            assertEquals(1, proxy.seen.size(), "one connection reached the proxy");
            assertEquals(
                    "OPTIONS rtsp://cam.example.com/live RTSP/1.0",
                    proxy.seen.get(0).requestLine(),
                    "the URL still carries the original host");
            assertEquals(
                    PodNamespace.POD_ADDR,
                    proxy.seen.get(0).from().getAddress().getHostAddress(),
                    "the proxy sees the pod's own address");

            out = env.connect(true, PodNamespace.FAR_ADDR, 8554, "rtsp://other.example.com:8554/x");
            assertTrue(out.contains("reply=RTSP/1.0 200 OK"), "8554 is intercepted too: " + out);

            // opt-in respected: same namespace, not in the cgroup -> the unreachable route answers
            out = env.connect(false, PodNamespace.FAR_ADDR, 554, "rtsp://cam.example.com/live");
            assertTrue(
                    out.contains("connect-failed"),
                    "a process outside the pod's cgroup is not redirected: " + out);
            // a port that is not listed is not redirected
            out = env.connect(true, PodNamespace.FAR_ADDR, 80, "rtsp://cam.example.com/live");
            assertTrue(out.contains("connect-failed"), "port 80 is not intercepted: " + out);
            assertEquals(
                    2, proxy.seen.size(), "only the two intercepted connections reached the proxy");

            InterceptStats s = icpt.stats();
            assertEquals(2, s.redirected(), "kernel counted the redirects");
            assertTrue(s.passed() >= 1, "kernel counted the pass-through connect: " + s);
            assertEquals(2, s.peerRestored(), "getpeername was answered with the original twice");
        }
    }

    @Test
    void detachStopsInterceptionAndARestartAdoptsTheLinks() throws Exception {
        try (Interception icpt = start()) {
            icpt.reconcile(List.of(pod()));
        }
        // a restarted agent: new programs swapped into the pinned links, the pod stays intercepted
        try (Interception again = start()) {
            assertEquals(
                    Set.of(env.podUid),
                    again.attached(),
                    "the pinned link survived the first agent");
            String out = env.connect(true, PodNamespace.FAR_ADDR, 554, "rtsp://cam.example.com/a");
            assertTrue(
                    out.contains("reply=RTSP/1.0 200 OK"),
                    "still intercepted after the restart: " + out);
            assertEquals(
                    Set.of(env.podUid),
                    again.reconcile(List.of(pod())),
                    "reconcile keeps the adopted link");
            assertTrue(Files.exists(pins.resolve("links")), "links pinned");

            // the pod opts out (or is deleted): reconcile with nothing
            assertEquals(Set.of(), again.reconcile(List.of()));
            out = env.connect(true, PodNamespace.FAR_ADDR, 554, "rtsp://cam.example.com/b");
            assertTrue(out.contains("connect-failed"), "detached: no longer redirected: " + out);
            assertEquals(1, proxy.seen.size());
        }
        // cleanup removes everything msm pinned
        Interception.cleanup(pins);
        assertFalse(Files.exists(pins), "pin directory removed");
    }

    @Test
    void aPodWhoseCgroupAppearsLaterIsAttachedOnTheNextReconcile() throws Exception {
        try (Interception icpt = start()) {
            PodRef late =
                    new PodRef(
                            "0d9a5a4e-0000-4000-8000-000000000001", "media", "late", "Burstable");
            assertEquals(
                    Set.of(), icpt.reconcile(List.of(late)), "no cgroup yet: nothing attached");
            assertEquals(Set.of(late.uid()), icpt.pending());
            Path dir =
                    env.cgroupRoot.resolve(
                            "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
                                    + late.uid().replace('-', '_')
                                    + ".slice");
            Files.createDirectories(dir);
            assertEquals(
                    Set.of(late.uid()),
                    icpt.reconcile(List.of(late)),
                    "attached once the cgroup exists");
            assertEquals(Set.of(), icpt.pending());
            icpt.reconcile(List.of());
        }
    }
}
