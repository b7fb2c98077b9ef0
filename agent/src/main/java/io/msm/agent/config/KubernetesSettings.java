package io.msm.agent.config;

import io.msm.agent.identity.WorkloadIdentity;
import java.net.Inet4Address;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The agent's Kubernetes side (section {@code kubernetes:}): in-cluster watching of its node's
 * pods, Services, EndpointSlices and StreamRoutes, the route table, backend failure detection,
 * status writing, and transparent interception of opted-in pods.
 *
 * <pre>
 * kubernetes:
 *   enabled: auto                 # auto: on when a service account token is mounted; true; false
 *   kubeconfig: ""                # a kubeconfig file (out of cluster); default: the service account, else $KUBECONFIG
 *   node-name: ""                 # default: $K8S_NODE_NAME (the chart sets it from spec.nodeName)
 *   probe-interval: 5s            # how often each backend gets OPTIONS/DESCRIBE
 *   describe-timeout: 3s          # a route's failureDetection.describeTimeoutSeconds wins
 *   rtp-timeout: 5s               # a route's failureDetection.rtpTimeoutSeconds wins
 *   status: elect                 # elect | always | never: who writes StreamRoute status
 *   agent-namespace: ""           # where the agents' pods are (default: the service account's namespace)
 *   agent-selector: app.kubernetes.io/component=agent   # labels of the agents' pods (for elect)
 *   relay-tree: false             # pull a path that enters the cluster on another node from that node's agent
 *   gateway-api: false            # UDP game services from Gateway API (GatewayClass/Gateway/UDPRoute), see k8s/README.md
 *   trust-domain: cluster.local   # SPIFFE trust domain of workload identities: spiffe://&lt;td&gt;/ns/&lt;ns&gt;/sa/&lt;sa&gt;
 *   intercept:
 *     enabled: true               # node-wide switch; pods still opt in with the label/annotation
 *     label: msm.io/intercept     # pod label or annotation, or namespace label: "true" opts in, "false" out
 *     tcp-ports: [554, 8554]      # destination ports whose connects go to the RTSP proxy
 *     proxy-address: ""           # default: the pod's status.hostIP (the node's address)
 *     proxy-port: 0               # default: the port of rtsp-listen
 *     cgroup-root: ""             # default: the cgroup v2 mount (/sys/fs/cgroup, or /sys/fs/cgroup/unified)
 *     pin-dir: /sys/fs/bpf/msm-intercept
 * </pre>
 */
public record KubernetesSettings(
        Enabled enabled,
        Optional<Path> kubeconfig,
        Optional<String> nodeName,
        Duration probeInterval,
        Duration describeTimeout,
        Duration rtpTimeout,
        StatusWriter status,
        Optional<String> agentNamespace,
        String agentSelector,
        String trustDomain,
        Intercept intercept,
        boolean relayTree,
        boolean gatewayApi) {

    public static final String SERVICE_ACCOUNT_DIR =
            "/var/run/secrets/kubernetes.io/serviceaccount";
    public static final String DEFAULT_LABEL = "msm.io/intercept";
    public static final String DEFAULT_PIN_DIR = "/sys/fs/bpf/msm-intercept";

    public enum Enabled {
        /** in a cluster (service account token mounted, or KUBERNETES_SERVICE_HOST set) */
        AUTO,
        TRUE,
        FALSE
    }

    /**
     * Who writes a StreamRoute's status (every node runs an agent: one must write, or they fight).
     */
    public enum StatusWriter {
        /** the ready agent on the lowest node name (by the agent pods it sees) */
        ELECT,
        /** this agent, always (single-node clusters, tests) */
        ALWAYS,
        /** never (read-only agents) */
        NEVER
    }

    /**
     * @param proxyAddress empty: the pod's hostIP
     * @param proxyPort 0: rtsp-listen's port
     * @param cgroupRoot empty: the cgroup v2 mount point
     */
    public record Intercept(
            boolean enabled,
            String label,
            List<Integer> tcpPorts,
            Optional<HostPort> proxyAddress,
            int proxyPort,
            Optional<Path> cgroupRoot,
            Path pinDir) {}

    public static KubernetesSettings defaults() {
        return read(new ConfigNode("kubernetes", null));
    }

    /** Whether to run in-cluster, given the environment. */
    public boolean active() {
        return switch (enabled) {
            case TRUE -> true;
            case FALSE -> false;
            case AUTO ->
                    System.getenv("KUBERNETES_SERVICE_HOST") != null
                            || Files.exists(Path.of(SERVICE_ACCOUNT_DIR, "token"));
        };
    }

    public static KubernetesSettings read(ConfigNode n) {
        Enabled enabled = n.enumeration("enabled", Enabled.AUTO, Enabled.class);
        String kubeconfig = n.string("kubeconfig", "");
        if (!kubeconfig.isEmpty() && !kubeconfig.startsWith("/")) {
            throw new ConfigException(
                    n.field("kubeconfig"), "must be an absolute path (got '" + kubeconfig + "')");
        }
        String node = n.string("node-name", "");
        if (!node.isEmpty() && !node.matches("[a-z0-9]([-a-z0-9.]*[a-z0-9])?")) {
            throw new ConfigException(
                    n.field("node-name"), "must be a Kubernetes node name (got '" + node + "')");
        }
        Duration probe =
                n.duration("probe-interval", Duration.ofSeconds(5), Duration.ofMillis(100));
        Duration describe =
                n.duration("describe-timeout", Duration.ofSeconds(3), Duration.ofMillis(100));
        Duration rtp = n.duration("rtp-timeout", Duration.ofSeconds(5), Duration.ofMillis(100));
        StatusWriter status = n.enumeration("status", StatusWriter.ELECT, StatusWriter.class);
        String ns = n.string("agent-namespace", "");
        String selector = n.string("agent-selector", "app.kubernetes.io/component=agent");
        if (!selector.matches(
                "[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*(,[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*)*")) {
            throw new ConfigException(
                    n.field("agent-selector"),
                    "must be label=value[,label=value...] (got '" + selector + "')");
        }
        boolean relayTree = n.bool("relay-tree", false);
        boolean gatewayApi = n.bool("gateway-api", false);
        String td = n.string("trust-domain", "cluster.local");
        String tdProblem = WorkloadIdentity.trustDomainProblem(td);
        if (tdProblem != null) {
            throw new ConfigException(n.field("trust-domain"), tdProblem);
        }

        ConfigNode i = n.section("intercept");
        boolean on = i.bool("enabled", true);
        String label = i.string("label", DEFAULT_LABEL);
        if (!label.matches("([a-z0-9.-]+/)?[A-Za-z0-9][-A-Za-z0-9_.]*")) {
            throw new ConfigException(
                    i.field("label"),
                    "must be a label key like msm.io/intercept (got '" + label + "')");
        }
        List<Integer> ports = i.list("tcp-ports", List.of(554, 8554), ConfigNode.Element::port);
        if (ports.size() > 64) {
            throw new ConfigException(
                    i.field("tcp-ports"), "at most 64 ports (got " + ports.size() + ")");
        }
        String addr = i.string("proxy-address", "");
        Optional<HostPort> proxy =
                addr.isEmpty()
                        ? Optional.empty()
                        : Optional.of(HostPort.parseOptionalPort(i.field("proxy-address"), addr));
        if (proxy.isPresent() && !(proxy.get().address() instanceof Inet4Address)) {
            throw new ConfigException(
                    i.field("proxy-address"), "must be an IPv4 address (connect4 interception)");
        }
        int port = i.integer("proxy-port", 0, 0, 65535);
        String cg = i.string("cgroup-root", "");
        if (!cg.isEmpty() && !cg.startsWith("/")) {
            throw new ConfigException(
                    i.field("cgroup-root"), "must be an absolute path (got '" + cg + "')");
        }
        String pin = i.string("pin-dir", DEFAULT_PIN_DIR);
        if (!pin.startsWith("/")) {
            throw new ConfigException(
                    i.field("pin-dir"), "must be an absolute path (got '" + pin + "')");
        }
        i.done();
        n.done();
        return new KubernetesSettings(
                enabled,
                kubeconfig.isEmpty() ? Optional.empty() : Optional.of(Path.of(kubeconfig)),
                node.isEmpty() ? Optional.empty() : Optional.of(node),
                probe,
                describe,
                rtp,
                status,
                ns.isEmpty() ? Optional.empty() : Optional.of(ns),
                selector,
                td,
                new Intercept(
                        on,
                        label,
                        List.copyOf(ports),
                        proxy,
                        port,
                        cg.isEmpty() ? Optional.empty() : Optional.of(Path.of(cg)),
                        Path.of(pin)),
                relayTree,
                gatewayApi);
    }
}
