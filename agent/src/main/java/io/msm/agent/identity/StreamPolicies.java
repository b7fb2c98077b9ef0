package io.msm.agent.identity;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The policies in force and the verdicts they give: of the policies covering a path, the most
 * specific match decides (Exact before the longest PathPrefix); policies with equally specific
 * matches add up (a peer any of them admits is admitted). For an action none of them restricts, the
 * path is not covered. A peer with no workload identity is {@link PathAccess.Verdict#OUTSIDE}: the
 * protocol's passwords and allow-lists decide.
 */
public final class StreamPolicies implements PathAccess {
    private static final Logger log = LoggerFactory.getLogger(StreamPolicies.class);

    private final PodIdentities pods;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private volatile List<AccessPolicy> policies = List.of();

    public StreamPolicies(PodIdentities pods) {
        this.pods = pods;
        pods.onChange(this::fire);
    }

    /** The policies now (from the watcher's rebuild); listeners run when they changed. */
    public void update(List<AccessPolicy> now) {
        List<AccessPolicy> copy = List.copyOf(now);
        if (copy.equals(policies)) {
            return;
        }
        policies = copy;
        fire();
    }

    public List<AccessPolicy> policies() {
        return policies;
    }

    private void fire() {
        for (Runnable l : listeners) {
            try {
                l.run();
            } catch (RuntimeException e) {
                log.warn("policies: a listener failed: {}", e.toString(), e);
            }
        }
    }

    @Override
    public void onChange(Runnable listener) {
        listeners.add(listener);
    }

    /** The most specific policies covering {@code path} (empty: none). */
    List<AccessPolicy> deciding(String path) {
        List<AccessPolicy> best = new ArrayList<>();
        int spec = -1;
        for (AccessPolicy p : policies) {
            if (!p.covers(path)) {
                continue;
            }
            int s = p.specificity();
            if (s > spec) {
                best.clear();
                spec = s;
            }
            if (s == spec) {
                best.add(p);
            }
        }
        return best;
    }

    @Override
    public boolean covers(String path) {
        return !deciding(path).isEmpty();
    }

    @Override
    public int identityOf(InetAddress peer) {
        return pods.identityOf(peer);
    }

    @Override
    public Decision check(String path, Action action, InetAddress peer) {
        String name = path == null ? "" : path;
        List<AccessPolicy> deciding = deciding(name);
        List<String> keys = new ArrayList<>();
        List<AccessPolicy.Peer> rules = new ArrayList<>();
        boolean restricted = false;
        for (AccessPolicy p : deciding) {
            List<AccessPolicy.Peer> r = p.rules(action);
            if (r != null) {
                restricted = true;
                rules.addAll(r);
                keys.add(p.key());
            }
        }
        if (!restricted) {
            return Decision.NOT_COVERED;
        }
        String verb = action == Action.PUBLISH ? "publish to" : "watch";
        Optional<PodIdentities.Peer> who = pods.peerOf(peer);
        if (who.isEmpty()) {
            return new Decision(
                    Verdict.OUTSIDE,
                    peer.getHostAddress()
                            + " has no workload identity: passwords and allow-lists decide");
        }
        PodIdentities.Peer p = who.get();
        for (AccessPolicy.Peer r : rules) {
            if (r.admits(p)) {
                return new Decision(
                        Verdict.ALLOWED,
                        p.spiffeId()
                                + " may "
                                + verb
                                + " "
                                + name
                                + " (StreamPolicy "
                                + keys
                                + ")");
            }
        }
        return new Decision(
                Verdict.DENIED,
                p.spiffeId()
                        + " (pod "
                        + p.pod()
                        + ") may not "
                        + verb
                        + " "
                        + name
                        + " (StreamPolicy "
                        + String.join(", ", keys)
                        + ")");
    }
}
