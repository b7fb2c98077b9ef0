package io.msm.agent.identity;

import java.net.InetAddress;

/**
 * Who may publish to and watch a path by workload identity (policies from the cluster), as the
 * control protocols ask it. A path no policy covers is not this interface's business: the
 * protocol's own rules (passwords, allow-lists) apply as before. Thread-safe.
 */
public interface PathAccess {
    enum Action {
        PUBLISH,
        WATCH
    }

    enum Verdict {
        /** no policy covers this path for this action: the protocol's own rules apply */
        NOT_COVERED,
        /** an in-cluster peer the policy admits: no password asked */
        ALLOWED,
        /** an in-cluster peer the policy does not admit: 403, no password prompt */
        DENIED,
        /**
         * a peer with no workload identity (outside the cluster, a host-network pod, an address two
         * pods claim): the protocol's own passwords and allow-lists decide
         */
        OUTSIDE
    }

    /** A verdict and, for logs, why. */
    record Decision(Verdict verdict, String why) {
        public static final Decision NOT_COVERED = new Decision(Verdict.NOT_COVERED, "no policy");
    }

    /**
     * @param path the path's name (no leading or trailing '/')
     */
    Decision check(String path, Action action, InetAddress peer);

    /** Whether a policy covers {@code path} (its relays then carry allowed identities). */
    boolean covers(String path);

    /** The numeric identity of {@code peer} ({@link Identities#WORLD} when it has none). */
    int identityOf(InetAddress peer);

    /**
     * {@code listener} runs (on the watcher's thread) after a policy or a pod's identity or labels
     * changed: whoever holds sessions checks them again.
     */
    void onChange(Runnable listener);

    /** No policies (no Kubernetes). */
    PathAccess NONE =
            new PathAccess() {
                @Override
                public Decision check(String path, Action action, InetAddress peer) {
                    return Decision.NOT_COVERED;
                }

                @Override
                public boolean covers(String path) {
                    return false;
                }

                @Override
                public int identityOf(InetAddress peer) {
                    return Identities.WORLD;
                }

                @Override
                public void onChange(Runnable listener) {}
            };
}
