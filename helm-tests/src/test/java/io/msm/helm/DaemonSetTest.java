package io.msm.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The agent's DaemonSet: host access, security, probes, scheduling. */
class DaemonSetTest {
    private static final Manifests DEFAULTS = MsmChart.render();
    private static final Manifests CUSTOM =
            MsmChart.render(MsmChart.resource("values-custom.yaml"));

    static PodSpec pod(Manifests m) {
        return m.daemonSet().getSpec().getTemplate().getSpec();
    }

    static Container agent(Manifests m) {
        return container(pod(m).getContainers(), "agent");
    }

    static Container container(List<Container> cs, String name) {
        return cs.stream()
                .filter(c -> c.getName().equals(name))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no container " + name + " in " + cs));
    }

    static VolumeMount mount(Container c, String volume) {
        return c.getVolumeMounts().stream()
                .filter(v -> v.getName().equals(volume))
                .findFirst()
                .orElseThrow(
                        () ->
                                new AssertionError(
                                        "container " + c.getName() + " does not mount " + volume));
    }

    static Volume volume(PodSpec p, String name) {
        return p.getVolumes().stream()
                .filter(v -> v.getName().equals(name))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no volume " + name));
    }

    @Test
    void everyRenderedFieldIsAKubernetesField() {
        assertEquals(List.of(), DEFAULTS.unknownFields());
        assertEquals(List.of(), CUSTOM.unknownFields());
    }

    @Test
    void runsInTheNodesNetworkAndResolvesClusterNames() {
        PodSpec p = pod(DEFAULTS);
        assertTrue(p.getHostNetwork());
        assertEquals("ClusterFirstWithHostNet", p.getDnsPolicy());
        assertNull(p.getHostPID(), "the agent has no business with the node's processes");
    }

    @Test
    void knowsItsNodeFromTheDownwardApi() {
        EnvVar node =
                agent(DEFAULTS).getEnv().stream()
                        .filter(e -> e.getName().equals("K8S_NODE_NAME"))
                        .findFirst()
                        .orElseThrow(() -> new AssertionError("K8S_NODE_NAME is not set"));
        assertNull(node.getValue());
        assertEquals("spec.nodeName", node.getValueFrom().getFieldRef().getFieldPath());
    }

    @Test
    void byDefaultTheAgentHasCapabilitiesNotPrivilege() {
        SecurityContext sc = agent(DEFAULTS).getSecurityContext();
        assertEquals(Boolean.FALSE, sc.getPrivileged());
        assertEquals(Boolean.FALSE, sc.getAllowPrivilegeEscalation());
        assertEquals(List.of("ALL"), sc.getCapabilities().getDrop());
        assertEquals(List.of("BPF", "NET_ADMIN", "PERFMON"), sc.getCapabilities().getAdd());
        assertFalse(
                sc.getCapabilities().getAdd().contains("SYS_ADMIN"),
                "SYS_ADMIN is not needed by the agent");
        assertEquals("Unconfined", sc.getSeccompProfile().getType());
        assertTrue(sc.getReadOnlyRootFilesystem());
        assertNotNull(volume(pod(DEFAULTS), "tmp").getEmptyDir(), "the JVM needs a writable /tmp");
        assertEquals("/tmp", mount(agent(DEFAULTS), "tmp").getMountPath());
    }

    @Test
    void privilegedTogglesPrivilegeAndBidirectionalPropagation() {
        SecurityContext sc = agent(CUSTOM).getSecurityContext();
        assertEquals(Boolean.TRUE, sc.getPrivileged());
        // Kubernetes rejects allowPrivilegeEscalation=false together with privileged
        assertNull(sc.getAllowPrivilegeEscalation());
        assertNull(sc.getCapabilities(), "privileged has every capability already");
        assertEquals("Bidirectional", mount(agent(CUSTOM), "bpffs").getMountPropagation());

        Manifests alone = MsmChart.render("securityContext: {privileged: true}\n");
        assertEquals(Boolean.TRUE, agent(alone).getSecurityContext().getPrivileged());
        assertEquals("Bidirectional", mount(agent(alone), "bpffs").getMountPropagation());
    }

    @Test
    void bpffsIsTheNodesAndPropagationFollowsPrivilege() {
        Volume v = volume(pod(DEFAULTS), "bpffs");
        assertEquals("/sys/fs/bpf", v.getHostPath().getPath());
        assertEquals("DirectoryOrCreate", v.getHostPath().getType());
        VolumeMount m = mount(agent(DEFAULTS), "bpffs");
        assertEquals("/sys/fs/bpf", m.getMountPath());
        // Bidirectional is only allowed with privileged: true
        assertEquals("HostToContainer", m.getMountPropagation());
        assertTrue(m.getReadOnly() == null || !m.getReadOnly(), "the agent writes its pins there");
    }

    @Test
    void initContainerMountsBpffsWithOnlyTheRightsThatNeeds() {
        Container init = container(pod(DEFAULTS).getInitContainers(), "bpffs");
        assertEquals(List.of("/bin/sh", "-c"), init.getCommand());
        assertTrue(init.getArgs().get(0).contains("mount -t bpf bpf"), init.getArgs().get(0));
        assertEquals("true", env(init, "MSM_BPFFS_MOUNT"));
        // mounting on the node = Bidirectional = privileged (Kubernetes' rule)
        assertEquals(Boolean.TRUE, init.getSecurityContext().getPrivileged());
        assertEquals("Bidirectional", mount(init, "bpffs").getMountPropagation());
        assertEquals(agent(DEFAULTS).getImage(), init.getImage());

        // bpffs.mount=false: the init container only checks, with nothing at all
        Container check = container(pod(CUSTOM).getInitContainers(), "bpffs");
        assertEquals("false", env(check, "MSM_BPFFS_MOUNT"));
        assertEquals(Boolean.FALSE, check.getSecurityContext().getPrivileged());
        assertEquals(Boolean.FALSE, check.getSecurityContext().getAllowPrivilegeEscalation());
        assertEquals(List.of("ALL"), check.getSecurityContext().getCapabilities().getDrop());
        assertTrue(check.getSecurityContext().getCapabilities().getAdd().isEmpty());
        assertEquals("HostToContainer", mount(check, "bpffs").getMountPropagation());
        assertEquals(Boolean.TRUE, mount(check, "bpffs").getReadOnly());
    }

    @Test
    void interceptionSeesTheNodesCgroupsReadOnly() {
        Volume v = volume(pod(DEFAULTS), "cgroup");
        assertEquals("/sys/fs/cgroup", v.getHostPath().getPath(), "the node's cgroup v2 mount");
        assertEquals(
                "Directory",
                v.getHostPath().getType(),
                "never created: a missing mount is an error");
        VolumeMount m = mount(agent(DEFAULTS), "cgroup");
        assertEquals("/run/msm/cgroup", m.getMountPath(), "where the agent's config says it is");
        assertEquals(
                Boolean.TRUE,
                m.getReadOnly(),
                "the agent opens cgroup directories, it writes nothing there");
        Manifests hybrid =
                MsmChart.render(
                        "agent: {kubernetes: {intercept: {cgroupRoot: /sys/fs/cgroup/unified}}}\n");
        assertEquals(
                "/sys/fs/cgroup/unified", volume(pod(hybrid), "cgroup").getHostPath().getPath());
        for (String off :
                List.of(
                        "agent: {kubernetes: {intercept: {enabled: false}}}\n",
                        "agent: {userspace: true}\n")) {
            assertTrue(
                    pod(MsmChart.render(off)).getVolumes().stream()
                            .noneMatch(x -> x.getName().equals("cgroup")),
                    off);
        }
    }

    @Test
    void userspaceModeNeedsNoBpfAtAll() {
        Manifests m =
                MsmChart.render(
                        """
                agent: {userspace: true}
                securityContext: {capabilities: {add: [BPF, NET_ADMIN, PERFMON, NET_BIND_SERVICE]}}
                """);
        PodSpec p = pod(m);
        assertTrue(p.getInitContainers() == null || p.getInitContainers().isEmpty());
        assertTrue(p.getVolumes().stream().noneMatch(v -> v.getName().equals("bpffs")));
        assertEquals(
                List.of("NET_BIND_SERVICE"),
                agent(m).getSecurityContext().getCapabilities().getAdd());
        assertTrue(p.getHostNetwork(), "the relays still listen on the node's addresses");
    }

    @Test
    void probesHitHealthAndReadinessOnTheMetricsPort() {
        // upgrade.handover (the default): no declared ports, the probes name the port's number
        // the old and the new agent share the port during a handover: the new pod's startup and
        // readiness ask for its own instance, liveness is any agent's (the old one idles)
        Container a = agent(DEFAULTS);
        String instance = env(a, "MSM_INSTANCE");
        assertEquals(16, instance.length());
        assertProbe(a.getStartupProbe(), "/readyz?instance=" + instance, 9469);
        assertProbe(a.getLivenessProbe(), "/healthz", 9469);
        assertProbe(a.getReadinessProbe(), "/readyz?instance=" + instance, 9469);
        assertTrue(
                !instance.equals(
                        env(agent(MsmChart.render("image: {tag: \"9.9.9\"}\n")), "MSM_INSTANCE")),
                "another image: another instance");
        assertEquals(60, a.getStartupProbe().getFailureThreshold());

        // without it (values-custom): the named, declared port
        Container c = agent(CUSTOM);
        ContainerPort metrics = port(c, "http-metrics");
        assertEquals(19469, metrics.getContainerPort());
        assertEquals("TCP", metrics.getProtocol());
        assertProbe(c.getLivenessProbe(), "/healthz");
        assertProbe(c.getReadinessProbe(), "/readyz");
        assertEquals(30, c.getStartupProbe().getFailureThreshold());
        assertEquals(5, c.getStartupProbe().getPeriodSeconds());
    }

    private static void assertProbe(Probe p, String path) {
        assertNotNull(p);
        assertEquals(path, p.getHttpGet().getPath());
        assertEquals("http-metrics", p.getHttpGet().getPort().getStrVal());
    }

    private static void assertProbe(Probe p, String path, int port) {
        assertNotNull(p);
        assertEquals(path, p.getHttpGet().getPath());
        assertEquals(port, p.getHttpGet().getPort().getIntVal());
    }

    @Test
    void declaresTheProxyPortsAsHostPortsWithoutHandover() {
        // with upgrade.handover the surge pod would ask for the host ports the old pod holds and
        // never be scheduled: nothing is declared (hostNetwork: the agent listens anyway)
        assertTrue(agent(DEFAULTS).getPorts().isEmpty(), "no host ports with upgrade.handover");
        Container c = agent(CUSTOM);
        assertEquals(554, port(c, "rtsp").getContainerPort());
        assertEquals("UDP", port(c, "sip-udp").getProtocol());
        assertEquals("TCP", port(c, "sip-tcp").getProtocol());
        assertEquals(port(c, "sip-udp").getContainerPort(), port(c, "sip-tcp").getContainerPort());
    }

    @Test
    void theNewPodFindsTheOldOnesHandoverSocket() {
        Container a = agent(DEFAULTS);
        assertTrue(
                a.getArgs().contains("--handover=/run/msm/upgrade/handover.sock"),
                a.getArgs().toString());
        assertTrue(a.getArgs().contains("--after-handover=wait"), a.getArgs().toString());
        assertTrue(
                a.getVolumeMounts().stream()
                        .anyMatch(
                                m ->
                                        "handover".equals(m.getName())
                                                && "/run/msm/upgrade".equals(m.getMountPath())),
                "mounted");
        assertTrue(
                pod(DEFAULTS).getVolumes().stream()
                        .anyMatch(
                                v ->
                                        "handover".equals(v.getName())
                                                && v.getHostPath() != null
                                                && "/run/msm/upgrade"
                                                        .equals(v.getHostPath().getPath())),
                "a hostPath both pods see");
        Container c = agent(CUSTOM);
        assertTrue(c.getArgs().stream().noneMatch(x -> x.startsWith("--handover")), "off");
        assertTrue(c.getVolumeMounts().stream().noneMatch(m -> "handover".equals(m.getName())));
    }

    private static ContainerPort port(Container c, String name) {
        return c.getPorts().stream()
                .filter(p -> name.equals(p.getName()))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no port " + name));
    }

    @Test
    void passesTheConfigFileItMounts() {
        Container a = agent(DEFAULTS);
        assertEquals(withHandover("--config", "/etc/msm/agent.yaml"), a.getArgs());
        assertEquals("/etc/msm", mount(a, "config").getMountPath());
        assertEquals(
                DEFAULTS.configMap().getMetadata().getName(),
                volume(pod(DEFAULTS), "config").getConfigMap().getName());
        assertTrue(DEFAULTS.configMap().getData().containsKey("agent.yaml"));
        assertTrue(a.getCommand().isEmpty(), "the image's entrypoint (msm-agent) runs");

        Container c = agent(CUSTOM);
        assertEquals(
                List.of("--config", "/etc/msm/agent.yaml", "--log-level", "debug"), c.getArgs());
        assertEquals(
                "-XX:MaxRAMPercentage=50 -XX:+ExitOnOutOfMemoryError", env(c, "MSM_JAVA_OPTS"));
        assertEquals("1", env(c, "MSM_EXTRA"));
        assertNull(env(a, "MSM_JAVA_OPTS"), "no JVM options unless asked");
    }

    /** The flags the chart adds after the others with upgrade.handover (the default). */
    static final List<String> HANDOVER_ARGS =
            List.of("--handover=/run/msm/upgrade/handover.sock", "--after-handover=wait");

    /** {@code args} and then the handover flags. */
    static List<String> withHandover(String... args) {
        List<String> out = new ArrayList<>(List.of(args));
        out.addAll(HANDOVER_ARGS);
        return out;
    }

    private static String env(Container c, String name) {
        return Optional.ofNullable(c.getEnv()).orElse(List.of()).stream()
                .filter(e -> e.getName().equals(name))
                .findFirst()
                .map(EnvVar::getValue)
                .orElse(null);
    }

    @Test
    void isNodeCriticalAndToleratesEveryTaint() {
        PodSpec p = pod(DEFAULTS);
        assertEquals("system-node-critical", p.getPriorityClassName());
        assertEquals(1, p.getTolerations().size());
        Toleration t = p.getTolerations().get(0);
        assertEquals("Exists", t.getOperator());
        assertNull(t.getKey(), "an empty key with Exists matches every taint");
        assertNull(
                t.getEffect(),
                "an empty effect matches NoSchedule, PreferNoSchedule and NoExecute");
        assertEquals(Map.of("kubernetes.io/os", "linux"), p.getNodeSelector());

        PodSpec c = pod(CUSTOM);
        assertEquals("media-critical", c.getPriorityClassName());
        assertEquals("dedicated", c.getTolerations().get(0).getKey());
        assertEquals("true", c.getNodeSelector().get("media.example.com/edge"));
        assertEquals(
                "kubernetes.io/arch",
                c.getAffinity()
                        .getNodeAffinity()
                        .getRequiredDuringSchedulingIgnoredDuringExecution()
                        .getNodeSelectorTerms()
                        .get(0)
                        .getMatchExpressions()
                        .get(0)
                        .getKey());
    }

    @Test
    void jvmSizedResources() {
        var r = agent(DEFAULTS).getResources();
        assertEquals(new Quantity("256Mi"), r.getRequests().get("memory"));
        assertEquals(new Quantity("100m"), r.getRequests().get("cpu"));
        assertEquals(new Quantity("512Mi"), r.getLimits().get("memory"));
        assertFalse(
                r.getLimits().containsKey("cpu"),
                "no CPU throttling of the control path by default");
        assertEquals(new Quantity("1Gi"), agent(CUSTOM).getResources().getLimits().get("memory"));
    }

    @Test
    void rollsOneNodeAtATime() {
        DaemonSet ds = DEFAULTS.daemonSet();
        assertEquals("RollingUpdate", ds.getSpec().getUpdateStrategy().getType());
        // the new pod starts next to the old one and takes its sockets over (upgrade.handover);
        // Kubernetes allows a DaemonSet surge only with maxUnavailable 0
        assertEquals(
                0,
                ds.getSpec()
                        .getUpdateStrategy()
                        .getRollingUpdate()
                        .getMaxUnavailable()
                        .getIntVal());
        assertEquals(
                1, ds.getSpec().getUpdateStrategy().getRollingUpdate().getMaxSurge().getIntVal());
        assertEquals(
                0,
                CUSTOM.daemonSet()
                        .getSpec()
                        .getUpdateStrategy()
                        .getRollingUpdate()
                        .getMaxSurge()
                        .getIntVal(),
                "without handover: no surge (host ports)");
        assertEquals(30L, pod(DEFAULTS).getTerminationGracePeriodSeconds());
        assertEquals(
                2,
                CUSTOM.daemonSet()
                        .getSpec()
                        .getUpdateStrategy()
                        .getRollingUpdate()
                        .getMaxUnavailable()
                        .getIntVal());
        assertEquals(45L, pod(CUSTOM).getTerminationGracePeriodSeconds());

        // the merged default rollingUpdate must not follow OnDelete (the API refuses that pair)
        DaemonSet onDelete = MsmChart.render("updateStrategy: {type: OnDelete}\n").daemonSet();
        assertEquals("OnDelete", onDelete.getSpec().getUpdateStrategy().getType());
        assertNull(onDelete.getSpec().getUpdateStrategy().getRollingUpdate());
    }

    @Test
    void imageAndPullSettings() {
        assertEquals(
                "msm:0.1.0", agent(DEFAULTS).getImage(), "tag defaults to the chart's appVersion");
        assertEquals("IfNotPresent", agent(DEFAULTS).getImagePullPolicy());
        assertTrue(pod(DEFAULTS).getImagePullSecrets().isEmpty());
        assertEquals("registry.invalid/msm/msm:0.2.0-rc1", agent(CUSTOM).getImage());
        assertEquals("Always", agent(CUSTOM).getImagePullPolicy());
        assertEquals("regcred", pod(CUSTOM).getImagePullSecrets().get(0).getName());
    }

    @Test
    void selectorMatchesThePodsAndExtraPodMetadataIsApplied() {
        DaemonSet ds = CUSTOM.daemonSet();
        Map<String, String> labels = ds.getSpec().getTemplate().getMetadata().getLabels();
        ds.getSpec()
                .getSelector()
                .getMatchLabels()
                .forEach((k, v) -> assertEquals(v, labels.get(k), k));
        assertEquals("edge", labels.get("tier"));
        assertEquals(
                "media",
                ds.getSpec().getTemplate().getMetadata().getAnnotations().get("example.com/team"));
        assertEquals("media-mesh", ds.getMetadata().getName());
        assertEquals("msm-agent", pod(CUSTOM).getServiceAccountName());
        assertEquals(
                "msm",
                DEFAULTS.daemonSet().getMetadata().getName(),
                "so that `kubectl exec ds/msm` works");
        assertEquals(MsmChart.NAMESPACE, DEFAULTS.daemonSet().getMetadata().getNamespace());
    }
}
