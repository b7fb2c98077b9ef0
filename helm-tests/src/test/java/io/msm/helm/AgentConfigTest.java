package io.msm.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The agent's config file, built from values, and the rollout it triggers. */
class AgentConfigTest {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @SuppressWarnings("unchecked")
    static Map<String, Object> config(Manifests m) {
        try {
            return YAML.readValue(m.configMap().getData().get("agent.yaml"), Map.class);
        } catch (IOException e) {
            throw new AssertionError("agent.yaml is not YAML: " + e.getMessage(), e);
        }
    }

    static String checksum(Manifests m) {
        return m.daemonSet()
                .getSpec()
                .getTemplate()
                .getMetadata()
                .getAnnotations()
                .get("checksum/config");
    }

    @Test
    void defaultsMatchTheAgentsOwnDefaults() {
        Map<String, Object> c = config(MsmChart.render());
        assertEquals("/sys/fs/bpf/msm", c.get("bpffs"));
        assertEquals("0.0.0.0:9469", c.get("metrics-listen"));
        assertEquals("0.0.0.0:8554", c.get("rtsp-listen"));
        assertEquals("0.0.0.0:5060", c.get("sip-listen"));
        assertEquals(false, c.get("userspace"));
        assertEquals("info", c.get("log-level"));
        assertEquals(Map.of("enabled", true, "mode", "auto"), c.get("xdp"));
        assertEquals(Map.of("idle-timeout", "60s", "expiry-interval", "5s"), c.get("flows"));
        assertEquals(
                Map.of(
                        "control-tcp-ports",
                        List.of(554, 8554, 5060),
                        "control-udp-ports",
                        List.of(5060),
                        "game-udp-ports",
                        List.of(),
                        "raknet",
                        true),
                c.get("classifier"));
        assertEquals(Map.of("port-range", "20000-29999"), c.get("media"));
        // the agent's own default, said here so the init container and the agent agree
        assertEquals(Map.of("netdev-max-backlog", 100000), c.get("datapath"));
        assertFalse(
                c.containsKey("interfaces"),
                "no interface list: the agent takes every up interface");
        assertEquals(
                Set.of(
                        "bpffs",
                        "metrics-listen",
                        "rtsp-listen",
                        "sip-listen",
                        "userspace",
                        "log-level",
                        "xdp",
                        "flows",
                        "classifier",
                        "media",
                        "datapath",
                        "kubernetes"),
                c.keySet(),
                "only keys msm-agent's config loader reads");
    }

    @Test
    @SuppressWarnings("unchecked")
    void kubernetesSectionNamesTheAgentsAndTheMountedCgroupRoot() {
        Map<String, Object> k = (Map<String, Object>) config(MsmChart.render()).get("kubernetes");
        assertEquals(true, k.get("enabled"), "in a cluster: always on");
        assertEquals("5s", k.get("probe-interval"));
        assertEquals("elect", k.get("status"));
        assertEquals(
                MsmChart.NAMESPACE,
                k.get("agent-namespace"),
                "the election looks at this release's agents");
        assertEquals(
                "app.kubernetes.io/instance=msm,app.kubernetes.io/name=msm,app.kubernetes.io/component=agent",
                k.get("agent-selector"),
                "the DaemonSet's pod labels");
        assertEquals(
                Map.of(
                        "enabled",
                        true,
                        "tcp-ports",
                        List.of(554, 8554),
                        "cgroup-root",
                        "/run/msm/cgroup",
                        "pin-dir",
                        "/sys/fs/bpf/msm-intercept"),
                k.get("intercept"),
                "the agent reads the cgroup root where the DaemonSet mounts it");
        Map<String, Object> off =
                (Map<String, Object>)
                        ((Map<String, Object>)
                                        config(MsmChart.render("agent: {userspace: true}\n"))
                                                .get("kubernetes"))
                                .get("intercept");
        assertEquals(false, off.get("enabled"), "no BPF, no interception");
        Map<String, Object> custom =
                (Map<String, Object>)
                        config(
                                        MsmChart.render(
                                                "agent: {kubernetes: {status: always, probeInterval: 2s, intercept: {ports: [554]}}}\n"))
                                .get("kubernetes");
        assertEquals("always", custom.get("status"));
        assertEquals("2s", custom.get("probe-interval"));
        assertEquals(
                List.of(554), ((Map<String, Object>) custom.get("intercept")).get("tcp-ports"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void everyAgentValueReachesTheFile() {
        Map<String, Object> c = config(MsmChart.render(MsmChart.resource("values-custom.yaml")));
        assertEquals(List.of("eth0", "ens5"), c.get("interfaces"));
        assertEquals("/sys/fs/bpf/msm-edge", c.get("bpffs"));
        assertEquals("0.0.0.0:19469", c.get("metrics-listen"));
        assertEquals("0.0.0.0:554", c.get("rtsp-listen"));
        assertEquals("[::]:5070", c.get("sip-listen"), "IPv6 listen addresses get brackets");
        assertEquals("debug", c.get("log-level"));
        assertEquals(Map.of("enabled", false, "mode", "generic"), c.get("xdp"));
        assertEquals(Map.of("idle-timeout", "30s", "expiry-interval", "500ms"), c.get("flows"));
        assertEquals(Map.of("port-range", "40000-40999"), c.get("media"));
        Map<String, Object> cl = (Map<String, Object>) c.get("classifier");
        assertEquals(List.of(554), cl.get("control-tcp-ports"));
        assertEquals(List.of(5060, 5070), cl.get("control-udp-ports"));
        assertEquals(
                List.of("27015-27030", "19132", "7777"),
                cl.get("game-udp-ports"),
                "ranges as text");
        assertEquals(false, cl.get("raknet"));
        // extraConfig merges into sections instead of replacing them
        assertEquals(Map.of("97", 48000), cl.get("clock-rates"));
        assertEquals(Map.of("max-flows", 262144, "netdev-max-backlog", 100000), c.get("datapath"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void extraConfigWinsOverTheChartsKeys() {
        Map<String, Object> c =
                config(
                        MsmChart.render(
                                "agent: {extraConfig: {log-level: trace, xdp: {enabled: false}}}\n"));
        assertEquals("trace", c.get("log-level"));
        assertEquals(Map.of("enabled", false, "mode", "auto"), c.get("xdp"));
    }

    @Test
    void userspaceReachesTheFile() {
        assertEquals(true, config(MsmChart.render("agent: {userspace: true}\n")).get("userspace"));
    }

    @Test
    void checksumFollowsTheConfigAndOnlyTheConfig() {
        Manifests base = MsmChart.render();
        String sum = checksum(base);
        assertTrue(sum.matches("[0-9a-f]{64}"), sum);
        assertEquals(sum, checksum(MsmChart.render()), "rendering is deterministic");
        assertNotEquals(sum, checksum(MsmChart.render("agent: {logLevel: debug}\n")));
        assertNotEquals(sum, checksum(MsmChart.render("agent: {flows: {idleTimeout: 2m}}\n")));
        assertNotEquals(sum, checksum(MsmChart.render("agent: {gamePorts: ['27015']}\n")));
        assertNotEquals(sum, checksum(MsmChart.render("agent: {interfaces: [eth1]}\n")));
        // values that do not touch the config file must not restart every agent
        assertEquals(
                sum,
                checksum(
                        MsmChart.render(
                                "podAnnotations: {a: b}\nresources: {requests: {cpu: 1}}\n")));
    }
}
