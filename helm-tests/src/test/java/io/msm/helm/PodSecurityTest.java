package io.msm.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Capabilities;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Volume;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Pod Security Admission: which level of the Pod Security Standards the rendered pod meets. The
 * agent needs the node's network, bpffs and capabilities, so only "privileged" fits; this test
 * checks the pod against the "baseline" and "restricted" rules (as the Kubernetes documentation
 * lists them, v1.30), and that it breaks exactly the rules the chart documents — no more — each for
 * a reason written next to it (values.yaml, templates/daemonset.yaml, README).
 */
class PodSecurityTest {
    /** Capabilities "baseline" allows to add. */
    static final Set<String> BASELINE_CAPS =
            Set.of(
                    "AUDIT_WRITE",
                    "CHOWN",
                    "DAC_OVERRIDE",
                    "FOWNER",
                    "FSETID",
                    "KILL",
                    "MKNOD",
                    "NET_BIND_SERVICE",
                    "SETFCAP",
                    "SETGID",
                    "SETPCAP",
                    "SETUID",
                    "SYS_CHROOT");

    /** The rules of the baseline level the pod breaks (by the names the README uses). */
    static Set<String> baselineViolations(PodSpec p) {
        Set<String> v = new TreeSet<>();
        if (Boolean.TRUE.equals(p.getHostNetwork())
                || Boolean.TRUE.equals(p.getHostPID())
                || Boolean.TRUE.equals(p.getHostIPC())) {
            v.add("host-namespaces");
        }
        for (Volume vol : Optional.ofNullable(p.getVolumes()).orElse(List.of())) {
            if (vol.getHostPath() != null) {
                v.add("hostpath-volumes");
            }
        }
        PodSecurityContext psc = p.getSecurityContext();
        if (psc != null) {
            if (psc.getSeccompProfile() != null
                    && "Unconfined".equals(psc.getSeccompProfile().getType())) {
                v.add("seccomp");
            }
            if (psc.getSysctls() != null && !psc.getSysctls().isEmpty()) {
                v.add("sysctls"); // the chart sets none; any would need a look
            }
        }
        for (Container c : containers(p)) {
            for (ContainerPort port : Optional.ofNullable(c.getPorts()).orElse(List.of())) {
                // the API server sets hostPort = containerPort for hostNetwork pods before
                // admission
                Integer hostPort =
                        Boolean.TRUE.equals(p.getHostNetwork())
                                ? port.getContainerPort()
                                : port.getHostPort();
                if (hostPort != null && hostPort != 0) {
                    v.add("host-ports");
                }
            }
            SecurityContext sc = c.getSecurityContext();
            if (sc == null) {
                continue;
            }
            if (Boolean.TRUE.equals(sc.getPrivileged())) {
                v.add("privileged-containers");
            }
            Capabilities caps = sc.getCapabilities();
            if (caps != null && caps.getAdd() != null) {
                for (String cap : caps.getAdd()) {
                    if (!BASELINE_CAPS.contains(cap)) {
                        v.add("capabilities");
                    }
                }
            }
            if (sc.getSeccompProfile() != null
                    && "Unconfined".equals(sc.getSeccompProfile().getType())) {
                v.add("seccomp");
            }
            if (sc.getProcMount() != null && !"Default".equals(sc.getProcMount())) {
                v.add("proc-mount");
            }
            if (sc.getSeLinuxOptions() != null
                    && (sc.getSeLinuxOptions().getUser() != null
                            || sc.getSeLinuxOptions().getRole() != null)) {
                v.add("selinux");
            }
        }
        return v;
    }

    /** The restricted level's own rules (beyond baseline). */
    static Set<String> restrictedViolations(PodSpec p) {
        Set<String> v = new TreeSet<>();
        Set<String> allowed =
                Set.of(
                        "configMap",
                        "csi",
                        "downwardAPI",
                        "emptyDir",
                        "ephemeral",
                        "persistentVolumeClaim",
                        "projected",
                        "secret");
        for (Volume vol : Optional.ofNullable(p.getVolumes()).orElse(List.of())) {
            boolean ok =
                    (vol.getConfigMap() != null && allowed.contains("configMap"))
                            || vol.getCsi() != null
                            || vol.getDownwardAPI() != null
                            || vol.getEmptyDir() != null
                            || vol.getEphemeral() != null
                            || vol.getPersistentVolumeClaim() != null
                            || vol.getProjected() != null
                            || vol.getSecret() != null;
            if (!ok) {
                v.add("volume-types");
            }
        }
        PodSecurityContext psc = p.getSecurityContext();
        boolean podNonRoot = psc != null && Boolean.TRUE.equals(psc.getRunAsNonRoot());
        boolean podSeccomp =
                psc != null
                        && psc.getSeccompProfile() != null
                        && Set.of("RuntimeDefault", "Localhost")
                                .contains(psc.getSeccompProfile().getType());
        for (Container c : containers(p)) {
            SecurityContext sc =
                    Optional.ofNullable(c.getSecurityContext()).orElse(new SecurityContext());
            if (!Boolean.FALSE.equals(sc.getAllowPrivilegeEscalation())) {
                v.add("privilege-escalation");
            }
            if (!(podNonRoot || Boolean.TRUE.equals(sc.getRunAsNonRoot()))) {
                v.add("running-as-non-root");
            }
            boolean seccomp =
                    sc.getSeccompProfile() == null
                            ? podSeccomp
                            : Set.of("RuntimeDefault", "Localhost")
                                    .contains(sc.getSeccompProfile().getType());
            if (!seccomp) {
                v.add("seccomp-restricted");
            }
            Capabilities caps = sc.getCapabilities();
            if (caps == null
                    || caps.getDrop() == null
                    || !caps.getDrop().contains("ALL")
                    || Optional.ofNullable(caps.getAdd()).orElse(List.of()).stream()
                            .anyMatch(cap -> !cap.equals("NET_BIND_SERVICE"))) {
                v.add("capabilities-restricted");
            }
        }
        return v;
    }

    static List<Container> containers(PodSpec p) {
        List<Container> all = new ArrayList<>(p.getContainers());
        all.addAll(Optional.ofNullable(p.getInitContainers()).orElse(List.of()));
        return all;
    }

    static Set<String> baseline(String values) {
        return baselineViolations(DaemonSetTest.pod(MsmChart.render(values)));
    }

    @Test
    void theDefaultPodNeedsThePrivilegedLevelForTheDocumentedReasonsOnly() {
        assertEquals(
                Set.of(
                        "host-namespaces", // hostNetwork: the datapath and listeners are the node's
                        // bpffs pins, the node's cgroups (interception), the handover socket
                        "hostpath-volumes",
                        "capabilities", // BPF, NET_ADMIN, PERFMON
                        "seccomp", // Unconfined: bpf() under CAP_BPF
                        "privileged-containers"), // the bpffs init container (bpffs.mount)
                baseline(""));
        // without the handover the listeners' ports are declared: host ports under hostNetwork
        assertEquals(
                Set.of(
                        "host-namespaces",
                        "host-ports",
                        "hostpath-volumes",
                        "capabilities",
                        "seccomp",
                        "privileged-containers"),
                baseline(NO_HANDOVER));
    }

    /** Pods replaced one by one, no handover: the listeners' ports declared. */
    static final String NO_HANDOVER =
            "upgrade: {handover: false}\n"
                    + "updateStrategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 1}}\n";

    @Test
    void everyPrivilegeBeyondTheNodesNetworkCanBeTurnedOff() {
        assertEquals(
                Set.of("host-namespaces", "hostpath-volumes", "capabilities", "seccomp"),
                baseline("bpffs: {mount: false}\n"),
                "no privileged container where bpffs is mounted by the node");
        assertEquals(
                Set.of("host-namespaces", "host-ports"),
                baseline(
                        "agent: {userspace: true}\nsecurityContext: {seccompProfile: RuntimeDefault}\n"
                                + NO_HANDOVER),
                "userspace mode without handover: only the node's network is left");
        assertEquals(
                Set.of("host-namespaces", "hostpath-volumes"),
                baseline(
                        "agent: {userspace: true}\nsecurityContext: {seccompProfile: RuntimeDefault}\n"),
                "userspace mode with handover: the node's network and the handover socket");
    }

    @Test
    void noSettingMeetsRestrictedEither() {
        PodSpec p =
                DaemonSetTest.pod(
                        MsmChart.render(
                                "agent: {userspace: true}\n"
                                        + "securityContext: {seccompProfile: RuntimeDefault}\n"
                                        // the handover socket's hostPath is a volume type
                                        // restricted forbids
                                        + NO_HANDOVER));
        // the agent runs as root (it must, for the datapath; the image's USER 0)
        assertTrue(restrictedViolations(p).contains("running-as-non-root"));
        assertEquals(
                Set.of("running-as-non-root"),
                restrictedViolations(p),
                "otherwise the userspace pod's containers meet restricted's container rules");
    }

    @Test
    void theReadmeDocumentsEveryRuleTheChartBreaks() throws IOException {
        String readme = Files.readString(MsmChart.dir().resolve("README.md"));
        Set<String> rules = new TreeSet<>(baseline(""));
        rules.addAll(baseline(NO_HANDOVER)); // host-ports, without the handover
        rules.add("running-as-non-root");
        List<String> missing =
                rules.stream().filter(r -> !readme.contains("| `" + r + "` |")).toList();
        assertEquals(List.of(), missing, "rules without a row in the README's Pod Security table");
        String values = Files.readString(MsmChart.dir().resolve("values.yaml"));
        assertTrue(values.contains("pod-security.kubernetes.io/enforce: privileged"));
        String ds = Files.readString(MsmChart.dir().resolve("templates/daemonset.yaml"));
        long reasons = Stream.of(ds.split("\n")).filter(l -> l.contains("# PRIVILEGE")).count();
        assertTrue(reasons >= 6, "each privilege in the DaemonSet carries its reason: " + reasons);
    }
}
