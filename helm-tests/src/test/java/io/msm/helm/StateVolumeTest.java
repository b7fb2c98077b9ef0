package io.msm.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.msm.agent.config.AgentConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's state on the node (the SIP state file) is a hostPath volume, so calls survive a new
 * pod; and net.core.netdev_max_backlog, which the agent's read-only /proc/sys cannot raise, is
 * raised by the privileged init container.
 */
class StateVolumeTest {
    @Test
    void theSipStateFileLiesOnAWritableHostPathVolume() {
        Manifests m = MsmChart.render();
        PodSpec p = DaemonSetTest.pod(m);
        Volume v = DaemonSetTest.volume(p, "state");
        assertEquals("/run/msm", v.getHostPath().getPath());
        assertEquals("DirectoryOrCreate", v.getHostPath().getType());
        VolumeMount mount = DaemonSetTest.mount(DaemonSetTest.agent(m), "state");
        assertFalse(Boolean.TRUE.equals(mount.getReadOnly()), "the agent writes its state there");
        // where the agent, reading the rendered config, writes its state file
        AgentConfig c = RenderedConfigLoadsTest.load("");
        assertEquals(
                Path.of(mount.getMountPath()),
                c.sip().stateFile().getParent(),
                "sip.state-file is on the state volume");
    }

    @Test
    void userspaceModeHasNoStateVolumeAndKeepsNoCalls() {
        Manifests m = MsmChart.render("agent: {userspace: true}\n");
        assertTrue(
                DaemonSetTest.pod(m).getVolumes().stream()
                        .noneMatch(v -> v.getName().equals("state")));
        assertNull(
                RenderedConfigLoadsTest.load("agent: {userspace: true}\n").sip().stateFile(),
                "no state file on a read-only root");
    }

    @Test
    void theHostDirectoryIsAValue() {
        Manifests m = MsmChart.render("state: {hostPath: /var/lib/msm-node}\n");
        assertEquals(
                "/var/lib/msm-node",
                DaemonSetTest.volume(DaemonSetTest.pod(m), "state").getHostPath().getPath());
    }

    @Test
    void theBacklogGoesToTheInitContainerAndTheAgentAlike() {
        Manifests m = MsmChart.render("agent: {netdevMaxBacklog: 250000}\n");
        Container init = DaemonSetTest.container(DaemonSetTest.pod(m).getInitContainers(), "bpffs");
        assertEquals(
                "250000",
                init.getEnv().stream()
                        .filter(e -> e.getName().equals("MSM_NETDEV_MAX_BACKLOG"))
                        .map(EnvVar::getValue)
                        .findFirst()
                        .orElseThrow());
        assertEquals(
                250000,
                RenderedConfigLoadsTest.load("agent: {netdevMaxBacklog: 250000}\n")
                        .datapath()
                        .netdevMaxBacklog());
    }

    @Test
    void theInitScriptRaisesTheBacklogOnlyWhenLowAndNeverFails(@TempDir Path dir) throws Exception {
        String script = BpffsCheckTest.renderedScript("");
        Path sysctl = dir.resolve("sys/net/core/netdev_max_backlog");
        Files.createDirectories(sysctl.getParent());
        Files.writeString(sysctl, "1000\n", StandardCharsets.UTF_8);
        BpffsCheckTest.Run low = BpffsCheckTest.runWithSysctl(script, dir, "100000");
        assertTrue(
                low.out()
                        .contains(
                                "raised net.core.netdev_max_backlog on node-a from 1000 to 100000"),
                low.out());
        assertEquals("100000", Files.readString(sysctl, StandardCharsets.UTF_8).strip());
        BpffsCheckTest.Run high = BpffsCheckTest.runWithSysctl(script, dir, "100000");
        assertTrue(high.out().contains("is 100000 (at least 100000)"), high.out());
        // not the node's network namespace: the sysctl is not there; said, not failed on
        Files.delete(sysctl);
        BpffsCheckTest.Run missing = BpffsCheckTest.runWithSysctl(script, dir, "100000");
        assertTrue(missing.out().contains("is not visible here"), missing.out());
    }
}
