package io.msm.helm;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** What `helm install` tells the user: how to check the agents and look at a node's flows. */
class NotesTest {
    @Test
    void tellHowToCheckTheAgentsAndWatchFlows() {
        String n = MsmChart.notes(null);
        assertTrue(n.contains("kubectl -n msm-system rollout status ds/msm"), n);
        assertTrue(n.contains("kubectl -n msm-system exec ds/msm -c agent -- msm status"), n);
        assertTrue(n.contains("kubectl -n msm-system exec ds/msm -c agent -- msm flows"), n);
        assertTrue(n.contains("logs <pod> -c bpffs"), n);
        assertTrue(n.contains("msm-agent cleanup"), n);
        assertTrue(n.contains("Service msm-metrics, port http-metrics (9469)"), n);
        assertFalse(n.contains("ServiceMonitor"), n);
    }

    @Test
    void followTheReleasesNamesAndSwitches() {
        String n = MsmChart.notes(MsmChart.resource("values-custom.yaml"));
        assertTrue(n.contains("exec ds/media-mesh -c agent -- msm flows"), n);
        assertTrue(n.contains("pinned under /sys/fs/bpf/msm-edge"), n);
        assertTrue(n.contains("(scraped through ServiceMonitor media-mesh)"), n);
        assertTrue(n.contains("port http-metrics (19469)"), n);
    }

    @Test
    void userspaceModeHasNoBpfAdvice() throws IOException {
        Path values = Files.createTempFile("msm-values-", ".yaml");
        try {
            Files.writeString(values, "agent: {userspace: true}\n");
            String n = MsmChart.notes(values);
            assertTrue(n.contains("userspace relays, no BPF"), n);
            assertTrue(n.contains("msm flows"), n);
            assertFalse(n.contains("-c bpffs"), n);
            assertFalse(n.contains("msm-agent cleanup"), n);
        } finally {
            Files.deleteIfExists(values);
        }
    }
}
