package io.msm.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Listeners on the node's address (downward API → agent flags), and the Secrets the agent reads as
 * files: the HTTP bearer token, the RTSP and SIP users files.
 */
class ListenersAndSecretsTest {
    static Optional<EnvVar> env(Container c, String name) {
        return Optional.ofNullable(c.getEnv()).orElse(List.of()).stream()
                .filter(e -> e.getName().equals(name))
                .findFirst();
    }

    @Test
    void byDefaultEveryListenerIsInTheConfigFileAndNoNodeIpIsNeeded() {
        Manifests m = MsmChart.render();
        Container a = DaemonSetTest.agent(m);
        assertEquals(DaemonSetTest.withHandover("--config", "/etc/msm/agent.yaml"), a.getArgs());
        assertTrue(env(a, "MSM_NODE_IP").isEmpty());
        Map<String, Object> c = AgentConfigTest.config(m);
        assertEquals("0.0.0.0:9469", c.get("metrics-listen"));
        assertFalse(c.containsKey("http"), "the agent's own http defaults");
        assertFalse(c.containsKey("rtsp"));
        assertFalse(c.containsKey("sip"));
    }

    @Test
    void listenersOnTheNodesIpComeFromTheDownwardApiAsFlags() {
        Manifests m =
                MsmChart.render(
                        "agent: {metrics: {address: node}, rtsp: {address: node, port: 9554},"
                                + " sip: {address: node-ipv6}}\n");
        Container a = DaemonSetTest.agent(m);
        EnvVar ip = env(a, "MSM_NODE_IP").orElseThrow();
        assertEquals("status.hostIP", ip.getValueFrom().getFieldRef().getFieldPath());
        assertEquals(
                DaemonSetTest.withHandover(
                        "--config",
                        "/etc/msm/agent.yaml",
                        "--metrics-listen=$(MSM_NODE_IP):9469",
                        "--rtsp-listen=$(MSM_NODE_IP):9554",
                        "--sip-listen=[$(MSM_NODE_IP)]:5060"),
                a.getArgs(),
                "the kubelet expands $(MSM_NODE_IP) in args");
        Map<String, Object> c = AgentConfigTest.config(m);
        assertFalse(c.containsKey("metrics-listen"), "the flag says it");
        assertFalse(c.containsKey("rtsp-listen"));
        assertFalse(c.containsKey("sip-listen"));
        // declared (a host port) only without the handover (with it, none is: see DaemonSetTest)
        assertEquals(
                9554,
                DaemonSetTest.agent(
                                MsmChart.render(
                                        "agent: {metrics: {address: node}, rtsp: {address: node,"
                                                + " port: 9554}, sip: {address: node-ipv6}}\n"
                                                + PodSecurityTest.NO_HANDOVER))
                        .getPorts()
                        .get(1)
                        .getContainerPort());
        assertEquals(List.of(), m.unknownFields());
    }

    @Test
    void oneListenerOnTheNodeTheOthersAsConfigured() {
        Manifests m = MsmChart.render("agent: {rtsp: {address: node}, sip: {address: '::'}}\n");
        Container a = DaemonSetTest.agent(m);
        assertEquals(
                DaemonSetTest.withHandover(
                        "--config", "/etc/msm/agent.yaml", "--rtsp-listen=$(MSM_NODE_IP):8554"),
                a.getArgs());
        Map<String, Object> c = AgentConfigTest.config(m);
        assertEquals("0.0.0.0:9469", c.get("metrics-listen"));
        assertEquals("[::]:5060", c.get("sip-listen"));
    }

    @Test
    void secretsAreMountedReadOnlyWhereTheConfigSaysTheFilesAre() {
        Manifests m =
                MsmChart.render(
                        "agent:\n"
                                + "  http: {tokenSecret: {name: msm-http, key: bearer},"
                                + " privateFrom: [10.0.0.0/8, 'fd00::/8']}\n"
                                + "  rtsp: {usersSecret: {name: msm-rtsp-users, key: users}}\n"
                                + "  sip: {usersSecret: {name: msm-sip-users, key: sip.users}}\n");
        assertEquals(List.of(), m.unknownFields());
        Map<String, Object> c = AgentConfigTest.config(m);
        @SuppressWarnings("unchecked")
        Map<String, Object> http = (Map<String, Object>) c.get("http");
        assertEquals(
                Map.of(
                        "token-file",
                        "/etc/msm-secrets/http/token",
                        "private-from",
                        List.of("10.0.0.0/8", "fd00::/8")),
                http);
        assertEquals(Map.of("users-file", "/etc/msm-secrets/rtsp/users"), c.get("rtsp"));
        assertEquals(Map.of("users-file", "/etc/msm-secrets/sip/users"), c.get("sip"));

        PodSpec p = DaemonSetTest.pod(m);
        Container a = DaemonSetTest.agent(m);
        assertFile(p, a, "http-token", "msm-http", "bearer", "/etc/msm-secrets/http/token");
        assertFile(p, a, "rtsp-users", "msm-rtsp-users", "users", "/etc/msm-secrets/rtsp/users");
        assertFile(p, a, "sip-users", "msm-sip-users", "sip.users", "/etc/msm-secrets/sip/users");
        // the secrets change the config file, so the pods roll
        assertTrue(
                !AgentConfigTest.checksum(m).equals(AgentConfigTest.checksum(MsmChart.render())));
    }

    /** Pulling from another cluster: its credentials and its CA come from Secrets, as files. */
    @Test
    void upstreamCredentialsAndCaAreMountedWhereTheConfigNamesThem() {
        Manifests m =
                MsmChart.render(
                        "agent:\n"
                                + "  rtsp:\n"
                                + "    usersSecret: {name: msm-rtsp-users}\n"
                                + "    upstreamCredentialsSecret: {name: cluster-b-login}\n"
                                + "    upstreamCaSecret: {name: cluster-b-ca, key: tls.crt}\n");
        assertEquals(List.of(), m.unknownFields());
        assertEquals(
                Map.of(
                        "users-file",
                        "/etc/msm-secrets/rtsp/users",
                        "upstream-credentials-file",
                        "/etc/msm-secrets/rtsp-upstreams/upstreams",
                        "upstream-tls",
                        Map.of("ca", "/etc/msm-secrets/rtsp-upstream-ca/ca.crt")),
                AgentConfigTest.config(m).get("rtsp"));
        PodSpec p = DaemonSetTest.pod(m);
        Container a = DaemonSetTest.agent(m);
        assertFile(
                p,
                a,
                "rtsp-upstreams",
                "cluster-b-login",
                "upstreams",
                "/etc/msm-secrets/rtsp-upstreams/upstreams");
        assertFile(
                p,
                a,
                "rtsp-upstream-ca",
                "cluster-b-ca",
                "tls.crt",
                "/etc/msm-secrets/rtsp-upstream-ca/ca.crt");
        assertTrue(
                DaemonSetTest.pod(MsmChart.render()).getVolumes().stream()
                        .noneMatch(v -> v.getName().startsWith("rtsp-upstream")),
                "none by default");
    }

    /** The Secret's key is mounted read-only as exactly the file the agent's config names. */
    static void assertFile(
            PodSpec p, Container a, String volume, String secret, String key, String file) {
        Volume v = DaemonSetTest.volume(p, volume);
        assertEquals(secret, v.getSecret().getSecretName());
        assertEquals(0400, v.getSecret().getDefaultMode());
        KeyToPath item = v.getSecret().getItems().get(0);
        assertEquals(key, item.getKey());
        VolumeMount mount = DaemonSetTest.mount(a, volume);
        assertEquals(Boolean.TRUE, mount.getReadOnly());
        assertEquals(file, mount.getMountPath() + "/" + item.getPath());
        assertFalse(
                mount.getMountPath().startsWith("/etc/msm/"),
                "no mount point inside the read-only config volume");
    }

    @Test
    void onlyTheSecretsGivenAreMounted() {
        Manifests m = MsmChart.render("agent: {rtsp: {usersSecret: {name: users}}}\n");
        PodSpec p = DaemonSetTest.pod(m);
        assertEquals("users", DaemonSetTest.volume(p, "rtsp-users").getSecret().getSecretName());
        assertEquals(
                "users",
                DaemonSetTest.volume(p, "rtsp-users").getSecret().getItems().get(0).getKey());
        assertTrue(p.getVolumes().stream().noneMatch(v -> v.getName().equals("sip-users")));
        assertTrue(p.getVolumes().stream().noneMatch(v -> v.getName().equals("http-token")));
        Map<String, Object> c = AgentConfigTest.config(m);
        assertNull(c.get("http"));
        assertNull(c.get("sip"));

        Manifests pf = MsmChart.render("agent: {http: {privateFrom: [192.168.0.0/16]}}\n");
        assertEquals(
                Map.of("private-from", List.of("192.168.0.0/16")),
                AgentConfigTest.config(pf).get("http"),
                "no token: no token-file");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "agent: {rtsp: {address: eth0}}",
                "agent: {metrics: {address: localhost}}",
                "agent: {sip: {address: node4}}",
                "agent: {http: {tokenSecret: {name: Bad_Name}}}",
                "agent: {http: {tokenSecret: {name: ok, key: 'a/b'}}}",
                "agent: {http: {privateFrom: [everyone]}}",
                "agent: {http: {privateFrom: 10.0.0.0/8}}",
                "agent: {http: {token: s3cret}}",
                "agent: {rtsp: {usersSecret: {name: ok, password: x}}}",
                "agent: {sip: {usersSecret: users}}",
            })
    void badValuesAreRefused(String values) {
        assertThrows(
                IllegalStateException.class,
                () -> MsmChart.template(values + "\n"),
                "helm accepted " + values);
    }
}
