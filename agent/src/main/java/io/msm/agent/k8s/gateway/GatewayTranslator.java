package io.msm.agent.k8s.gateway;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.msm.agent.game.GameTables;
import java.net.Inet4Address;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Gateway API objects (GatewayClass, Gateway, UDPRoute of the experimental channel, read as generic
 * resources) to the game services the kernel serves, and the status conditions Gateway API asks
 * for: GatewayClass Accepted; Gateway Accepted and Programmed; UDPRoute, per parent, Accepted and
 * ResolvedRefs. A pure function: the watcher that feeds it and writes the statuses is not here yet.
 */
public final class GatewayTranslator {
    /** spec.controllerName of a GatewayClass msm serves. */
    public static final String CONTROLLER = "msm.io/gateway-controller";

    /** Endpoints of a Service port: ready addresses and their target port; empty: unresolved. */
    public interface Endpoints {
        List<GameTables.Backend> resolve(String namespace, String service, int port);
    }

    /** A condition as Gateway API writes it (type, status "True"/"False", reason, message). */
    public record Condition(String type, boolean status, String reason, String message) {}

    /** What to write: services for the kernel, conditions per object ("kind/ns/name[/parent]"). */
    public record Result(List<GameTables.Service> services, Map<String, List<Condition>> status) {}

    private GatewayTranslator() {}

    @SuppressWarnings("unchecked")
    static <T> T at(Object o, String... path) {
        Object cur = o;
        for (String p : path) {
            if (!(cur instanceof Map)) {
                return null;
            }
            cur = ((Map<String, Object>) cur).get(p);
        }
        return (T) cur;
    }

    static List<Map<String, Object>> list(Object o, String... path) {
        List<Map<String, Object>> l = at(o, path);
        return l == null ? List.of() : l;
    }

    static int integer(Object o, int dflt) {
        return o instanceof Number n ? n.intValue() : dflt;
    }

    public static Result translate(
            List<GenericKubernetesResource> classes,
            List<GenericKubernetesResource> gateways,
            List<GenericKubernetesResource> routes,
            Endpoints endpoints,
            Inet4Address nodeAddr) {
        Map<String, List<Condition>> status = new LinkedHashMap<>();
        List<String> ours = new ArrayList<>();
        for (GenericKubernetesResource c : classes) {
            if (CONTROLLER.equals(at(c.getAdditionalProperties(), "spec", "controllerName"))) {
                ours.add(c.getMetadata().getName());
                status.put(
                        "GatewayClass/" + c.getMetadata().getName(),
                        List.of(new Condition("Accepted", true, "Accepted", "served by msm")));
            }
        }
        // "ns/gateway/listener" -> port
        Map<String, Integer> listeners = new LinkedHashMap<>();
        for (GenericKubernetesResource g : gateways) {
            Object spec = at(g.getAdditionalProperties(), "spec");
            if (!ours.contains((String) at(spec, "gatewayClassName"))) {
                continue;
            }
            String key = g.getMetadata().getNamespace() + "/" + g.getMetadata().getName();
            int udp = 0;
            for (Map<String, Object> l : list(spec, "listeners")) {
                if ("UDP".equals(l.get("protocol"))) {
                    listeners.put(key + "/" + l.get("name"), integer(l.get("port"), 0));
                    udp++;
                }
            }
            boolean ok = udp > 0;
            status.put(
                    "Gateway/" + key,
                    List.of(
                            new Condition(
                                    "Accepted",
                                    ok,
                                    ok ? "Accepted" : "UnsupportedProtocol",
                                    ok
                                            ? udp + " UDP listener(s)"
                                            : "msm serves UDP listeners only"),
                            new Condition(
                                    "Programmed",
                                    ok,
                                    ok ? "Programmed" : "Invalid",
                                    ok
                                            ? "on " + nodeAddr.getHostAddress()
                                            : "nothing to program")));
        }
        List<GameTables.Service> services = new ArrayList<>();
        for (GenericKubernetesResource r : routes) {
            String ns = r.getMetadata().getNamespace();
            Object spec = at(r.getAdditionalProperties(), "spec");
            for (Map<String, Object> parent : list(spec, "parentRefs")) {
                String pns = Objects.requireNonNullElse((String) parent.get("namespace"), ns);
                String gw = pns + "/" + parent.get("name");
                String section = (String) parent.get("sectionName");
                List<String> matched = new ArrayList<>();
                for (String l : listeners.keySet()) {
                    if (l.startsWith(gw + "/")
                            && (section == null || l.equals(gw + "/" + section))) {
                        matched.add(l);
                    }
                }
                String skey =
                        "UDPRoute/"
                                + ns
                                + "/"
                                + r.getMetadata().getName()
                                + "/"
                                + gw
                                + (section == null ? "" : "/" + section);
                if (matched.isEmpty()) {
                    status.put(
                            skey,
                            List.of(
                                    new Condition(
                                            "Accepted",
                                            false,
                                            "NoMatchingParent",
                                            "no UDP listener of an msm Gateway")));
                    continue;
                }
                List<GameTables.Backend> backends = new ArrayList<>();
                List<String> unresolved = new ArrayList<>();
                for (Map<String, Object> rule : list(spec, "rules")) {
                    for (Map<String, Object> ref : list(rule, "backendRefs")) {
                        String kind =
                                Objects.requireNonNullElse((String) ref.get("kind"), "Service");
                        String bns = Objects.requireNonNullElse((String) ref.get("namespace"), ns);
                        String name = (String) ref.get("name");
                        int weight = integer(ref.get("weight"), 1);
                        if (!"Service".equals(kind) || !bns.equals(ns)) {
                            // another namespace needs a ReferenceGrant: not supported yet
                            unresolved.add(bns + "/" + name);
                            continue;
                        }
                        List<GameTables.Backend> eps =
                                endpoints.resolve(bns, name, integer(ref.get("port"), 0));
                        if (eps.isEmpty()) {
                            unresolved.add(bns + "/" + name);
                            continue;
                        }
                        // the ref's weight is shared by its endpoints
                        int each = Math.max(weight == 0 ? 0 : 1, weight * 1000 / eps.size());
                        for (GameTables.Backend b : eps) {
                            backends.add(
                                    new GameTables.Backend(b.addr(), b.port(), each, b.token()));
                        }
                    }
                }
                boolean resolved = unresolved.isEmpty();
                status.put(
                        skey,
                        List.of(
                                new Condition("Accepted", true, "Accepted", "on " + matched),
                                new Condition(
                                        "ResolvedRefs",
                                        resolved,
                                        resolved ? "ResolvedRefs" : "BackendNotFound",
                                        resolved
                                                ? backends.size() + " endpoint(s)"
                                                : "unresolved: " + unresolved)));
                for (String l : matched) {
                    services.add(
                            new GameTables.Service(
                                    l,
                                    nodeAddr,
                                    listeners.get(l),
                                    0,
                                    0,
                                    0,
                                    Duration.ofMinutes(2),
                                    List.copyOf(backends)));
                }
            }
        }
        return new Result(services, status);
    }
}
