package io.msm.helm;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The agent's config file, built from values, and the rollout it triggers. */
class AgentConfigTest {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @SuppressWarnings("unchecked")
    static Map<String, Object> config(Manifests m) {
        try {
            return YAML.readValue(m.configMap().getData().get("agent.yaml"), Map.class);
        } catch (java.io.IOException e) {
            throw new AssertionError("agent.yaml is not YAML: " + e.getMessage(), e);
        }
    }

    static String checksum(Manifests m) {
        return m.daemonSet().getSpec().getTemplate().getMetadata().getAnnotations().get("checksum/config");
    }

    @Test
    void defaultsMatchTheAgentsOwnDefaults() {
        Map<String, Object> c = config(MsmChart.render());
        assertEquals("/sys/fs/bpf/msm", c.get("bpffs"));
        assertEquals("0.0.0.0:9469", c.get("metrics-listen"));
        assertEquals("0.0.0.0:8554", c.get("rtsp-listen"));
        assertEquals("0.0.0.0:5060", c.get("sip-listen"));
        assertEquals(false, c.get("userspace"));
        assertEquals(true, c.get("xdp"));
        assertEquals("info", c.get("log-level"));
        assertEquals(120, c.get("flow-expiry-seconds"));
        assertEquals("20000-29999", c.get("media-ports"));
        assertEquals(List.of(), c.get("game-ports"));
        assertEquals(Map.of("rtsp-tcp", List.of(554, 8554), "sip-udp", List.of(5060), "sip-tcp", List.of(5060)),
                c.get("control-ports"));
        assertFalse(c.containsKey("interface"), "no interface list: the agent takes every up interface");
    }

    @Test
    void everyAgentValueReachesTheFile() {
        Map<String, Object> c = config(MsmChart.render(MsmChart.resource("values-custom.yaml")));
        assertEquals(List.of("eth0", "ens5"), c.get("interface"));
        assertEquals("/sys/fs/bpf/msm-edge", c.get("bpffs"));
        assertEquals("0.0.0.0:19469", c.get("metrics-listen"));
        assertEquals("0.0.0.0:554", c.get("rtsp-listen"));
        assertEquals("[::]:5070", c.get("sip-listen"), "IPv6 listen addresses get brackets");
        assertEquals(false, c.get("xdp"));
        assertEquals("debug", c.get("log-level"));
        assertEquals(30, c.get("flow-expiry-seconds"));
        assertEquals("40000-40999", c.get("media-ports"));
        assertEquals(List.of("27015-27030", "19132", 7777), c.get("game-ports"));
        assertEquals(Map.of("rtsp-tcp", List.of(554), "sip-udp", List.of(5060, 5070), "sip-tcp", List.of()),
                c.get("control-ports"));
        assertEquals(true, c.get("rtp-stats"), "extraConfig is copied in");
    }

    @Test
    void extraConfigWinsOverTheChartsKeys() {
        Map<String, Object> c = config(MsmChart.render("agent: {extraConfig: {log-level: trace, xdp: false}}\n"));
        assertEquals("trace", c.get("log-level"));
        assertEquals(false, c.get("xdp"));
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
        assertNotEquals(sum, checksum(MsmChart.render("agent: {gamePorts: ['27015']}\n")));
        assertNotEquals(sum, checksum(MsmChart.render("agent: {interfaces: [eth1]}\n")));
        // values that do not touch the config file must not restart every agent
        assertEquals(sum, checksum(MsmChart.render("podAnnotations: {a: b}\nresources: {requests: {cpu: 1}}\n")));
    }
}
