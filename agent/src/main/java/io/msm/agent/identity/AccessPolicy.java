package io.msm.agent.identity;

import java.util.List;
import java.util.Map;

/**
 * One compiled access policy (a StreamPolicy resource): the paths it covers and who may publish to
 * and watch them.
 *
 * @param key "namespace/name" of the resource
 * @param exact the path itself only (else the path and every path below it)
 * @param path the path's name without leading or trailing '/' ("" with a prefix: every path)
 * @param publish who may publish; null: publishing is not restricted by this policy
 * @param watch who may watch; null: watching is not restricted by this policy
 * @param problem why the resource is invalid, or null: an invalid policy covers its path and admits
 *     no in-cluster peer at all (fail closed), never "everyone"
 */
public record AccessPolicy(
        String key,
        boolean exact,
        String path,
        List<Peer> publish,
        List<Peer> watch,
        String problem) {

    /**
     * Pods a rule admits: all that is given must hold.
     *
     * @param namespace the pod's namespace, or "*" for any
     * @param serviceAccount the pod's ServiceAccount, or null for any
     * @param labels labels the pod must carry (empty: any)
     */
    public record Peer(String namespace, String serviceAccount, Map<String, String> labels) {
        public boolean admits(PodIdentities.Peer p) {
            return ("*".equals(namespace) || namespace.equals(p.workload().namespace()))
                    && (serviceAccount == null
                            || serviceAccount.equals(p.workload().serviceAccount()))
                    && p.labels().entrySet().containsAll(labels.entrySet());
        }

        @Override
        public String toString() {
            return "ns="
                    + namespace
                    + (serviceAccount == null ? "" : ",sa=" + serviceAccount)
                    + (labels.isEmpty() ? "" : ",labels=" + labels);
        }
    }

    public boolean valid() {
        return problem == null;
    }

    /** Whether this policy covers the path named {@code name}. */
    public boolean covers(String name) {
        if (exact) {
            return name.equals(path);
        }
        return path.isEmpty() || name.equals(path) || name.startsWith(path + "/");
    }

    /** How specific the match is: the most specific policies covering a path decide. */
    public int specificity() {
        return exact ? Integer.MAX_VALUE : path.isEmpty() ? 0 : 1 + path.length();
    }

    /**
     * The rules for {@code a} (empty for an invalid policy: nobody), or null when not restricted.
     */
    public List<Peer> rules(PathAccess.Action a) {
        if (!valid()) {
            return List.of();
        }
        return a == PathAccess.Action.PUBLISH ? publish : watch;
    }
}
