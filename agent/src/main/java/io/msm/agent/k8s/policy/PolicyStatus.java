package io.msm.agent.k8s.policy;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.msm.agent.identity.AccessPolicy;
import io.msm.agent.k8s.crd.StreamPolicy;
import io.msm.agent.k8s.crd.StreamPolicyStatus;
import io.msm.agent.k8s.crd.StreamRouteStatus;
import io.msm.agent.k8s.route.RouteStatus;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A StreamPolicy's status:
 *
 * <ul>
 *   <li>{@code Accepted}: True (Accepted), or False (Invalid) with every field at fault;
 *   <li>{@code Enforced}: True (Enforced) with the rules enforced, True (FailClosed) for an invalid
 *       policy whose path is usable (no in-cluster peer admitted until it is fixed), False
 *       (InvalidMatch) when its match is unusable (it covers nothing);
 *   <li>{@code publishRules}, {@code watchRules}: rules enforced (absent: not restricted).
 * </ul>
 */
public final class PolicyStatus {
    private static final Logger log = LoggerFactory.getLogger(PolicyStatus.class);

    public static final String ACCEPTED = "Accepted";
    public static final String ENFORCED = "Enforced";

    private PolicyStatus() {}

    public static StreamPolicyStatus of(
            PolicyCompiler.Compiled c, String node, StreamPolicyStatus previous, String now) {
        StreamPolicyStatus s = new StreamPolicyStatus();
        long gen = c.generation();
        String seenBy = " (as seen by msm-agent on node " + node + ")";
        StreamRouteStatus prev = previous == null ? null : asRouteStatus(previous);
        AccessPolicy p = c.policy();
        s.conditions.add(
                c.problem() == null
                        ? RouteStatus.cond(
                                ACCEPTED,
                                true,
                                "Accepted",
                                "the policy is in force",
                                gen,
                                prev,
                                now)
                        : RouteStatus.cond(
                                ACCEPTED, false, "Invalid", c.problem(), gen, prev, now));
        if (p == null) {
            s.conditions.add(
                    RouteStatus.cond(
                            ENFORCED,
                            false,
                            "InvalidMatch",
                            "the policy covers no path until spec.match is fixed" + seenBy,
                            gen,
                            prev,
                            now));
            return s;
        }
        String where = (p.exact() ? "path /" : "paths under /") + p.path();
        if (!p.valid()) {
            s.publishRules = 0;
            s.watchRules = 0;
            s.conditions.add(
                    RouteStatus.cond(
                            ENFORCED,
                            true,
                            "FailClosed",
                            "no in-cluster pod may publish to or watch "
                                    + where
                                    + " until the policy is fixed; sources outside the cluster"
                                    + " still need their passwords or allow-lists"
                                    + seenBy,
                            gen,
                            prev,
                            now));
            return s;
        }
        s.publishRules = p.publish() == null ? null : p.publish().size();
        s.watchRules = p.watch() == null ? null : p.watch().size();
        s.conditions.add(
                RouteStatus.cond(
                        ENFORCED,
                        true,
                        "Enforced",
                        "on "
                                + where
                                + ": publish "
                                + rules(p.publish())
                                + ", watch "
                                + rules(p.watch())
                                + "; RTSP requests checked by the peer's identity, RTP/RTCP from"
                                + " other identities dropped at the relays"
                                + seenBy,
                        gen,
                        prev,
                        now));
        return s;
    }

    /**
     * Writes each policy's status where it changed (status subresource); returns how many were
     * written. A conflict or a deleted policy is left to the next round.
     */
    public static int write(
            KubernetesClient client,
            List<StreamPolicy> policies,
            List<PolicyCompiler.Compiled> compiled,
            String node,
            String now) {
        Map<String, PolicyCompiler.Compiled> byKey = new HashMap<>();
        for (PolicyCompiler.Compiled c : compiled) {
            byKey.put(c.key(), c);
        }
        int written = 0;
        for (StreamPolicy sp : policies) {
            PolicyCompiler.Compiled c = byKey.get(sp.key());
            if (c == null) {
                continue;
            }
            StreamPolicyStatus want = of(c, node, sp.getStatus(), now);
            if (same(want, sp.getStatus())) {
                continue;
            }
            StreamPolicy copy = client.getKubernetesSerialization().clone(sp);
            copy.setStatus(want);
            try {
                client.resources(StreamPolicy.class)
                        .inNamespace(sp.getMetadata().getNamespace())
                        .resource(copy)
                        .updateStatus();
                written++;
            } catch (KubernetesClientException e) {
                if (e.getCode() == 409 || e.getCode() == 404) {
                    continue;
                }
                log.warn(
                        "cannot write status of StreamPolicy {}: {} (is streampolicies/status update"
                                + " allowed by the agent's ClusterRole?)",
                        sp.key(),
                        e.getMessage());
            }
        }
        return written;
    }

    private static String rules(List<AccessPolicy.Peer> r) {
        return r == null ? "not restricted" : r.size() + " rule(s)";
    }

    /** RouteStatus.cond reads only the conditions of the previous status. */
    private static StreamRouteStatus asRouteStatus(StreamPolicyStatus p) {
        StreamRouteStatus r = new StreamRouteStatus();
        r.conditions = p.conditions == null ? List.of() : p.conditions;
        return r;
    }

    /** Equal but for lastTransitionTime: nothing to write. */
    public static boolean same(StreamPolicyStatus a, StreamPolicyStatus b) {
        if (a == null || b == null) {
            return a == b;
        }
        List<Condition> ca = a.conditions == null ? List.of() : a.conditions;
        List<Condition> cb = b.conditions == null ? List.of() : b.conditions;
        if (ca.size() != cb.size()
                || !Objects.equals(a.publishRules, b.publishRules)
                || !Objects.equals(a.watchRules, b.watchRules)) {
            return false;
        }
        for (int i = 0; i < ca.size(); i++) {
            Condition x = ca.get(i);
            Condition y = cb.get(i);
            if (!Objects.equals(x.getType(), y.getType())
                    || !Objects.equals(x.getStatus(), y.getStatus())
                    || !Objects.equals(x.getReason(), y.getReason())
                    || !Objects.equals(x.getMessage(), y.getMessage())
                    || !Objects.equals(x.getObservedGeneration(), y.getObservedGeneration())) {
                return false;
            }
        }
        return true;
    }
}
