package io.msm.agent.k8s.policy;

import io.msm.agent.identity.AccessPolicy;
import io.msm.agent.k8s.crd.StreamPolicy;
import io.msm.agent.k8s.crd.StreamPolicySpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a StreamPolicy resource into an {@link AccessPolicy}. The API server validates the schema,
 * but an object written before a schema fix may still be wrong: whatever the agent cannot use makes
 * the policy invalid, with the field and the reason, and an invalid policy with a usable path is
 * enforced closed (no in-cluster peer admitted), never as "everyone".
 */
public final class PolicyCompiler {
    private static final Logger log = LoggerFactory.getLogger(PolicyCompiler.class);

    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Pattern DNS_SUBDOMAIN =
            Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");
    private static final Pattern LABEL_KEY =
            Pattern.compile(
                    "([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?");
    private static final Pattern LABEL_VALUE =
            Pattern.compile("([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?");

    /**
     * A compiled policy.
     *
     * @param policy what is enforced; null when the match itself is unusable (nothing covered)
     * @param problem why the resource is invalid, or null
     */
    public record Compiled(String key, long generation, AccessPolicy policy, String problem) {}

    private PolicyCompiler() {}

    public static Compiled compile(StreamPolicy sp) {
        String key = sp.key();
        String ns = sp.getMetadata().getNamespace();
        long gen = sp.getMetadata().getGeneration() == null ? 0 : sp.getMetadata().getGeneration();
        StreamPolicySpec s = sp.getSpec();
        List<String> problems = new ArrayList<>();
        boolean matchOk = true;
        boolean exact = false;
        String path = "";
        if (s == null || s.match == null || s.match.path == null || s.match.path.value == null) {
            problems.add("spec.match.path.value is required");
            matchOk = false;
        } else {
            String v = s.match.path.value;
            if (!v.startsWith("/") || v.chars().anyMatch(Character::isWhitespace)) {
                problems.add(
                        "spec.match.path.value must start with '/' and have no spaces (got '"
                                + v
                                + "')");
                matchOk = false;
            }
            path = strip(v);
            String t = s.match.path.type == null ? "PathPrefix" : s.match.path.type;
            if (t.equals("Exact")) {
                exact = true;
            } else if (!t.equals("PathPrefix")) {
                problems.add("spec.match.path.type must be Exact or PathPrefix (got '" + t + "')");
                matchOk = false;
            }
            if (s.match.host != null && !s.match.host.isEmpty()) {
                problems.add(
                        "spec.match.host is not supported by StreamPolicy (a policy covers the path"
                                + " on every host)");
            }
        }
        List<AccessPolicy.Peer> publish =
                s == null || s.publish == null
                        ? null
                        : peers(s.publish, "spec.publish", ns, problems);
        List<AccessPolicy.Peer> watch =
                s == null || s.watch == null ? null : peers(s.watch, "spec.watch", ns, problems);
        if (s != null && s.publish == null && s.watch == null) {
            problems.add("spec needs publish or watch (or both)");
        }
        String problem = problems.isEmpty() ? null : String.join("; ", problems);
        AccessPolicy p =
                matchOk ? new AccessPolicy(key, exact, path, publish, watch, problem) : null;
        return new Compiled(key, gen, p, problem);
    }

    /** Every policy compiled; invalid ones logged with what is wrong and what that means. */
    public static List<Compiled> compileAll(List<StreamPolicy> all) {
        List<Compiled> out = new ArrayList<>();
        for (StreamPolicy sp : all) {
            Compiled c = compile(sp);
            out.add(c);
            if (c.problem() != null) {
                log.warn(
                        "StreamPolicy {} is invalid: {}{}",
                        c.key(),
                        c.problem(),
                        c.policy() == null
                                ? " (it covers no path)"
                                : " (no in-cluster pod may publish or watch its paths until fixed)");
            }
        }
        return List.copyOf(out);
    }

    private static List<AccessPolicy.Peer> peers(
            List<StreamPolicySpec.Peer> in, String field, String ownNs, List<String> problems) {
        List<AccessPolicy.Peer> out = new ArrayList<>();
        for (int i = 0; i < in.size(); i++) {
            StreamPolicySpec.Peer p = in.get(i);
            String f = field + "[" + i + "]";
            if (p == null) {
                problems.add(f + " must be a peer (namespace, serviceAccount, podLabels)");
                continue;
            }
            String ns = p.namespace == null || p.namespace.isEmpty() ? ownNs : p.namespace;
            if (!ns.equals("*") && !DNS_LABEL.matcher(ns).matches()) {
                problems.add(f + ".namespace must be a namespace name or \"*\" (got '" + ns + "')");
                continue;
            }
            String sa =
                    p.serviceAccount == null || p.serviceAccount.isEmpty()
                            ? null
                            : p.serviceAccount;
            if (sa != null && !DNS_SUBDOMAIN.matcher(sa).matches()) {
                problems.add(
                        f + ".serviceAccount must be a ServiceAccount name (got '" + sa + "')");
                continue;
            }
            Map<String, String> labels = p.podLabels == null ? Map.of() : p.podLabels;
            boolean ok = true;
            for (Map.Entry<String, String> e : labels.entrySet()) {
                String v = e.getValue() == null ? "" : e.getValue();
                if (!LABEL_KEY.matcher(e.getKey()).matches() || !LABEL_VALUE.matcher(v).matches()) {
                    problems.add(
                            f
                                    + ".podLabels has '"
                                    + e.getKey()
                                    + "="
                                    + v
                                    + "', not a label key and value");
                    ok = false;
                }
            }
            if (ok) {
                out.add(new AccessPolicy.Peer(ns, sa, Map.copyOf(labels)));
            }
        }
        return List.copyOf(out);
    }

    /** "/cams/" → "cams". */
    static String strip(String v) {
        int from = 0;
        int to = v.length();
        while (from < to && v.charAt(from) == '/') {
            from++;
        }
        while (to > from && v.charAt(to - 1) == '/') {
            to--;
        }
        return v.substring(from, to);
    }
}
