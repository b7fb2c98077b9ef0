package io.msm.agent.k8s.gateway;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.msm.agent.config.ConfigException;
import io.msm.agent.config.Durations;
import io.msm.agent.game.GameTables;
import io.msm.bpf.maps.GameService;
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
 * ResolvedRefs. A pure function: {@link GatewayWatch} feeds it from its informers and writes the
 * statuses.
 *
 * <p>How a route's sessions are keyed comes from annotations on the UDPRoute (Gateway API has no
 * field for it): {@code msm.io/session-key} ({@code client-address}, {@code kcp}, {@code token},
 * {@code raknet}), {@code msm.io/kcp-offset}, {@code msm.io/token-length} (1..16), {@code
 * msm.io/idle-timeout} (e.g. {@code 2m}), {@code msm.io/rebind} ({@code port} (default), {@code
 * prefix}, {@code any}, {@code none}) and {@code msm.io/rebind-confirm} (packets in a row). A
 * listener is served on every node address the agent knows ("ns/gw/listener", or
 * "ns/gw/listener@addr" on several).
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

    /** A Gateway listener's status entry (status.listeners[]). */
    public record ListenerStatus(
            String name, boolean udp, int attachedRoutes, List<Condition> conditions) {}

    /** One entry of a UDPRoute's status.parents[]: the parentRef as written, its conditions. */
    public record ParentStatus(Map<String, Object> parentRef, List<Condition> conditions) {}

    /**
     * What to write: services for the kernel, conditions per object ("kind/ns/name[/parent]"),
     * listener entries per Gateway ("ns/name"), parents[] entries per UDPRoute ("ns/name").
     */
    public record Result(
            List<GameTables.Service> services,
            Map<String, List<Condition>> status,
            Map<String, List<ListenerStatus>> listeners,
            Map<String, List<ParentStatus>> parents) {
        public Result(List<GameTables.Service> services, Map<String, List<Condition>> status) {
            this(services, status, Map.of(), Map.of());
        }
    }

    public static final String SESSION_KEY = "msm.io/session-key";
    public static final String KCP_OFFSET = "msm.io/kcp-offset";
    public static final String TOKEN_LENGTH = "msm.io/token-length";
    public static final String IDLE_TIMEOUT = "msm.io/idle-timeout";
    public static final String REBIND = "msm.io/rebind";
    public static final String REBIND_CONFIRM = "msm.io/rebind-confirm";

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

    /** On one node address (as the first version did). */
    public static Result translate(
            List<GenericKubernetesResource> classes,
            List<GenericKubernetesResource> gateways,
            List<GenericKubernetesResource> routes,
            Endpoints endpoints,
            Inet4Address nodeAddr) {
        return translate(classes, gateways, routes, endpoints, List.of(nodeAddr));
    }

    /** How a route keys its sessions, from its annotations; or the problem. */
    record Keying(
            int flags,
            int keyOff,
            int tokenLen,
            Duration idle,
            GameTables.Rebind rebind,
            int rebindConfirm,
            String problem) {
        Keying(int flags, int keyOff, int tokenLen, Duration idle, String problem) {
            this(flags, keyOff, tokenLen, idle, GameTables.Rebind.PORT, 0, problem);
        }

        static Keying of(Map<String, String> ann) {
            Map<String, String> a = ann == null ? Map.of() : ann;
            Keying k = keyed(a);
            if (k.problem() != null) {
                return k;
            }
            GameTables.Rebind rebind;
            try {
                rebind = GameTables.Rebind.parse(a.getOrDefault(REBIND, "port"));
            } catch (IllegalArgumentException e) {
                return problem(REBIND + ": " + e.getMessage());
            }
            int confirm;
            try {
                confirm = Integer.parseInt(a.getOrDefault(REBIND_CONFIRM, "0").trim());
            } catch (NumberFormatException e) {
                confirm = -1;
            }
            if (confirm < 0 || confirm > 0xffff) {
                return problem(REBIND_CONFIRM + " must be 0..65535");
            }
            return new Keying(k.flags(), k.keyOff(), k.tokenLen(), k.idle(), rebind, confirm, null);
        }

        private static Keying keyed(Map<String, String> a) {
            String key = a.getOrDefault(SESSION_KEY, "client-address");
            Duration idle = Duration.ofMinutes(2);
            try {
                if (a.containsKey(IDLE_TIMEOUT)) {
                    idle = Durations.parse(IDLE_TIMEOUT, a.get(IDLE_TIMEOUT));
                }
                switch (key) {
                    case "client-address":
                        return new Keying(0, 0, 0, idle, null);
                    case "raknet":
                        return new Keying(GameService.F_RAKNET, 0, 0, idle, null);
                    case "kcp":
                        int off = Integer.parseInt(a.getOrDefault(KCP_OFFSET, "0").trim());
                        if (off < 0 || off > 1400) {
                            return problem(KCP_OFFSET + " must be 0..1400");
                        }
                        return new Keying(GameService.F_KCP, off, 0, idle, null);
                    case "token":
                        int len = Integer.parseInt(a.getOrDefault(TOKEN_LENGTH, "0").trim());
                        if (len < 1 || len > GameService.TOKEN_MAX) {
                            return problem(
                                    TOKEN_LENGTH
                                            + " must be 1.."
                                            + GameService.TOKEN_MAX
                                            + " with session-key token");
                        }
                        return new Keying(GameService.F_TOKEN, 0, len, idle, null);
                    default:
                        return problem(
                                SESSION_KEY
                                        + " must be client-address, kcp, token or raknet (got '"
                                        + key
                                        + "')");
                }
            } catch (NumberFormatException | ConfigException e) {
                return problem("bad annotation: " + e.getMessage());
            }
        }

        static Keying problem(String why) {
            return new Keying(0, 0, 0, null, why);
        }
    }

    public static Result translate(
            List<GenericKubernetesResource> classes,
            List<GenericKubernetesResource> gateways,
            List<GenericKubernetesResource> routes,
            Endpoints endpoints,
            List<Inet4Address> nodeAddrs) {
        Map<String, List<Condition>> status = new LinkedHashMap<>();
        Map<String, List<ListenerStatus>> listenerStatus = new LinkedHashMap<>();
        Map<String, List<ParentStatus>> parents = new LinkedHashMap<>();
        List<String> ours = new ArrayList<>();
        for (GenericKubernetesResource c : classes) {
            if (CONTROLLER.equals(at(c.getAdditionalProperties(), "spec", "controllerName"))) {
                ours.add(c.getMetadata().getName());
                status.put(
                        "GatewayClass/" + c.getMetadata().getName(),
                        List.of(new Condition("Accepted", true, "Accepted", "served by msm")));
            }
        }
        String where =
                nodeAddrs.isEmpty()
                        ? null
                        : "on each node's addresses (here "
                                + nodeAddrs.stream().map(Inet4Address::getHostAddress).toList()
                                + ")";
        // "ns/gateway/listener" -> port
        Map<String, Integer> listeners = new LinkedHashMap<>();
        Map<String, Integer> attached = new LinkedHashMap<>();
        List<GenericKubernetesResource> ourGateways = new ArrayList<>();
        for (GenericKubernetesResource g : gateways) {
            Object spec = at(g.getAdditionalProperties(), "spec");
            if (!ours.contains((String) at(spec, "gatewayClassName"))) {
                continue;
            }
            ourGateways.add(g);
            String key = g.getMetadata().getNamespace() + "/" + g.getMetadata().getName();
            int udp = 0;
            for (Map<String, Object> l : list(spec, "listeners")) {
                if ("UDP".equals(l.get("protocol"))) {
                    listeners.put(key + "/" + l.get("name"), integer(l.get("port"), 0));
                    attached.put(key + "/" + l.get("name"), 0);
                    udp++;
                }
            }
            boolean ok = udp > 0;
            boolean programmed = ok && where != null;
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
                                    programmed,
                                    programmed ? "Programmed" : "Invalid",
                                    programmed
                                            ? where
                                            : ok
                                                    ? "no node address known"
                                                    : "nothing to program")));
        }
        List<GameTables.Service> services = new ArrayList<>();
        for (GenericKubernetesResource r : routes) {
            String ns = r.getMetadata().getNamespace();
            String rkey = ns + "/" + r.getMetadata().getName();
            Object spec = at(r.getAdditionalProperties(), "spec");
            Keying keying = Keying.of(r.getMetadata().getAnnotations());
            for (Map<String, Object> parent : list(spec, "parentRefs")) {
                String pns = Objects.requireNonNullElse((String) parent.get("namespace"), ns);
                String gw = pns + "/" + parent.get("name");
                String section = (String) parent.get("sectionName");
                String pkind = Objects.requireNonNullElse((String) parent.get("kind"), "Gateway");
                List<String> matched = new ArrayList<>();
                for (String l : listeners.keySet()) {
                    if ("Gateway".equals(pkind)
                            && l.startsWith(gw + "/")
                            && (section == null || l.equals(gw + "/" + section))) {
                        matched.add(l);
                    }
                }
                boolean ourGateway =
                        ourGateways.stream()
                                .anyMatch(
                                        g ->
                                                (g.getMetadata().getNamespace()
                                                                + "/"
                                                                + g.getMetadata().getName())
                                                        .equals(gw));
                String skey =
                        "UDPRoute/"
                                + ns
                                + "/"
                                + r.getMetadata().getName()
                                + "/"
                                + gw
                                + (section == null ? "" : "/" + section);
                if (matched.isEmpty()) {
                    if (!ourGateway && !"Gateway".equals(pkind)) {
                        continue; // not a parent of ours: another controller's business
                    }
                    List<Condition> c =
                            List.of(
                                    new Condition(
                                            "Accepted",
                                            false,
                                            "NoMatchingParent",
                                            "no UDP listener of an msm Gateway"),
                                    new Condition(
                                            "ResolvedRefs",
                                            true,
                                            "ResolvedRefs",
                                            "not attached: references not resolved"));
                    status.put(skey, c);
                    if (ourGateway) {
                        parents.computeIfAbsent(rkey, k -> new ArrayList<>())
                                .add(new ParentStatus(parent, c));
                    }
                    continue;
                }
                if (keying.problem() != null) {
                    List<Condition> c =
                            List.of(
                                    new Condition(
                                            "Accepted",
                                            false,
                                            "UnsupportedValue",
                                            keying.problem()),
                                    new Condition(
                                            "ResolvedRefs",
                                            true,
                                            "ResolvedRefs",
                                            "not attached: references not resolved"));
                    status.put(skey, c);
                    parents.computeIfAbsent(rkey, k -> new ArrayList<>())
                            .add(new ParentStatus(parent, c));
                    continue;
                }
                List<GameTables.Backend> backends = new ArrayList<>();
                List<String> unresolved = new ArrayList<>();
                String reason = "ResolvedRefs";
                for (Map<String, Object> rule : list(spec, "rules")) {
                    for (Map<String, Object> ref : list(rule, "backendRefs")) {
                        String kind =
                                Objects.requireNonNullElse((String) ref.get("kind"), "Service");
                        String group = Objects.requireNonNullElse((String) ref.get("group"), "");
                        String bns = Objects.requireNonNullElse((String) ref.get("namespace"), ns);
                        String name = (String) ref.get("name");
                        int weight = integer(ref.get("weight"), 1);
                        if (!"Service".equals(kind) || !group.isEmpty()) {
                            unresolved.add(kind + " " + bns + "/" + name);
                            reason = "InvalidKind";
                            continue;
                        }
                        if (!bns.equals(ns)) {
                            // another namespace needs a ReferenceGrant: not supported yet
                            unresolved.add(bns + "/" + name + " (another namespace)");
                            if (!reason.equals("InvalidKind")) {
                                reason = "RefNotPermitted";
                            }
                            continue;
                        }
                        List<GameTables.Backend> eps =
                                endpoints.resolve(bns, name, integer(ref.get("port"), 0));
                        if (eps.isEmpty()) {
                            unresolved.add(bns + "/" + name);
                            if (reason.equals("ResolvedRefs")) {
                                reason = "BackendNotFound";
                            }
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
                List<Condition> c =
                        List.of(
                                new Condition("Accepted", true, "Accepted", "on " + matched),
                                new Condition(
                                        "ResolvedRefs",
                                        resolved,
                                        reason,
                                        resolved
                                                ? backends.size() + " endpoint(s)"
                                                : "unresolved: " + unresolved));
                status.put(skey, c);
                parents.computeIfAbsent(rkey, k -> new ArrayList<>())
                        .add(new ParentStatus(parent, c));
                for (String l : matched) {
                    attached.merge(l, 1, Integer::sum);
                    for (Inet4Address a : nodeAddrs) {
                        services.add(
                                new GameTables.Service(
                                        nodeAddrs.size() == 1 ? l : l + "@" + a.getHostAddress(),
                                        a,
                                        listeners.get(l),
                                        keying.flags(),
                                        keying.keyOff(),
                                        keying.tokenLen(),
                                        keying.idle(),
                                        List.copyOf(backends),
                                        keying.rebind(),
                                        keying.rebindConfirm()));
                    }
                }
            }
        }
        for (GenericKubernetesResource g : ourGateways) {
            String key = g.getMetadata().getNamespace() + "/" + g.getMetadata().getName();
            List<ListenerStatus> ls = new ArrayList<>();
            for (Map<String, Object> l :
                    list(at(g.getAdditionalProperties(), "spec"), "listeners")) {
                String name = (String) l.get("name");
                boolean udp = "UDP".equals(l.get("protocol"));
                boolean programmed = udp && where != null;
                ls.add(
                        new ListenerStatus(
                                name,
                                udp,
                                attached.getOrDefault(key + "/" + name, 0),
                                List.of(
                                        new Condition(
                                                "Accepted",
                                                udp,
                                                udp ? "Accepted" : "UnsupportedProtocol",
                                                udp
                                                        ? "UDP port " + l.get("port")
                                                        : "msm serves UDP listeners only"),
                                        new Condition(
                                                "Programmed",
                                                programmed,
                                                programmed ? "Programmed" : "Invalid",
                                                programmed ? where : "not programmed"),
                                        new Condition(
                                                "ResolvedRefs",
                                                true,
                                                "ResolvedRefs",
                                                "no references to resolve"))));
            }
            listenerStatus.put(key, ls);
        }
        return new Result(services, status, listenerStatus, parents);
    }
}
