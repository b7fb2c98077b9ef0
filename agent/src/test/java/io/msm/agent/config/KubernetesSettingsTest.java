package io.msm.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The kubernetes: section: defaults, what the Helm chart writes, and errors that name their field.
 */
class KubernetesSettingsTest {
    static KubernetesSettings parse(String yaml) {
        return ConfigLoader.parseYaml(yaml, ConfigLoader.Overrides.NONE).kubernetes();
    }

    @Test
    void defaults() {
        KubernetesSettings k = parse("{}");
        assertEquals(KubernetesSettings.Enabled.AUTO, k.enabled());
        assertEquals(Duration.ofSeconds(5), k.probeInterval());
        assertEquals(KubernetesSettings.StatusWriter.ELECT, k.status());
        assertEquals(List.of(554, 8554), k.intercept().tcpPorts());
        assertEquals("msm.io/intercept", k.intercept().label());
        assertEquals(Path.of("/sys/fs/bpf/msm-intercept"), k.intercept().pinDir());
        assertEquals(Optional.empty(), k.intercept().proxyAddress());
    }

    @Test
    void whatTheChartWrites() {
        KubernetesSettings k =
                parse(
                        """
                kubernetes: {enabled: true, probe-interval: 5s, status: elect, agent-namespace: msm-system,
                             agent-selector: "app.kubernetes.io/instance=msm,app.kubernetes.io/name=msm,app.kubernetes.io/component=agent",
                             intercept: {enabled: true, tcp-ports: [554, 8554], cgroup-root: /run/msm/cgroup,
                                         pin-dir: /sys/fs/bpf/msm-intercept}}
                """);
        assertTrue(k.active());
        assertEquals(Optional.of("msm-system"), k.agentNamespace());
        assertEquals(Optional.of(Path.of("/run/msm/cgroup")), k.intercept().cgroupRoot());
    }

    @Test
    void theTrustDomainDefaultsToClusterLocalAndIsValidated() {
        assertEquals("cluster.local", parse("{}").trustDomain());
        assertEquals(
                "prod.example.org",
                parse("kubernetes: {trust-domain: prod.example.org}").trustDomain());
        for (String bad : List.of("'spiffe://cluster.local'", "Cluster.Local", "''", "'a/b'")) {
            ConfigException e =
                    assertThrows(
                            ConfigException.class,
                            () -> parse("kubernetes: {trust-domain: " + bad + "}"),
                            bad);
            assertEquals("kubernetes.trust-domain", e.field(), bad);
        }
    }

    @Test
    void errorsNameTheField() {
        assertEquals(
                "kubernetes.intercept.tcp-ports[1]",
                assertThrows(
                                ConfigException.class,
                                () -> parse("kubernetes: {intercept: {tcp-ports: [554, 70000]}}"))
                        .field());
        assertEquals(
                "kubernetes.status",
                assertThrows(ConfigException.class, () -> parse("kubernetes: {status: sometimes}"))
                        .field());
        assertEquals(
                "kubernetes.intercept.proxy-address",
                assertThrows(
                                ConfigException.class,
                                () -> parse("kubernetes: {intercept: {proxy-address: '[::1]'}}"))
                        .field());
        assertEquals(
                "kubernetes.agent-selector",
                assertThrows(
                                ConfigException.class,
                                () -> parse("kubernetes: {agent-selector: 'app in (a,b)'}"))
                        .field());
        assertEquals(
                "kubernetes.intercept.colour",
                assertThrows(
                                ConfigException.class,
                                () -> parse("kubernetes: {intercept: {colour: red}}"))
                        .field());
    }
}
