package io.msm.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Renders the chart for the image smoke test (image/smoke-test.sh) with image/smoke-values.yaml and
 * writes what it reads into target/image-smoke/: the DaemonSet as JSON (security context,
 * capabilities, mounts, init container, args, env, probes) and the agent's config file as the
 * ConfigMap holds it. The smoke test runs the image from these, so chart and image cannot drift.
 */
class ImageSmokeRenderTest {
    static final Path VALUES =
            Path.of(System.getProperty("msm.smokeValues", "../image/smoke-values.yaml"));
    static final Path OUT =
            Path.of(System.getProperty("msm.smokeOut", "target/image-smoke")).toAbsolutePath();

    @Test
    void writesTheRenderedDaemonSetAndConfigForTheSmokeTest() throws Exception {
        Manifests m = MsmChart.render(VALUES.toAbsolutePath());
        DaemonSet ds = m.daemonSet();
        ConfigMap cm = m.configMap();
        String config = cm.getData().get("agent.yaml");
        assertNotNull(config, "the ConfigMap holds agent.yaml");
        Files.createDirectories(OUT);
        Path json = OUT.resolve("daemonset.json");
        Files.writeString(
                json,
                new ObjectMapper()
                        .writerWithDefaultPrettyPrinter()
                        .writeValueAsString(
                                new ObjectMapper().readTree(Manifests.SERIALIZATION.asJson(ds))),
                StandardCharsets.UTF_8);
        Files.writeString(OUT.resolve("agent.yaml"), config, StandardCharsets.UTF_8);
        // the same with the chart's Kubernetes side on, as in a cluster: outside one its
        // informers cannot sync and /readyz must say so
        Map<String, Object> values = MsmChart.readYaml(VALUES);
        Map<String, Object> inCluster =
                MsmChart.merge(
                        values,
                        Map.of(
                                "agent",
                                Map.of(
                                        "extraConfig",
                                        Map.of("kubernetes", Map.of("enabled", true)))));
        String inClusterConfig =
                MsmChart.render(new ObjectMapper(new YAMLFactory()).writeValueAsString(inCluster))
                        .configMap()
                        .getData()
                        .get("agent.yaml");
        Files.writeString(
                OUT.resolve("agent-incluster.yaml"), inClusterConfig, StandardCharsets.UTF_8);
        // what the smoke test depends on is there
        var spec = ds.getSpec().getTemplate().getSpec();
        assertEquals("bpffs", spec.getInitContainers().get(0).getName());
        assertEquals("agent", spec.getContainers().get(0).getName());
    }
}
