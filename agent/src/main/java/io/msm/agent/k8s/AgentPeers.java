package io.msm.agent.k8s;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import java.util.Collection;
import java.util.Objects;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * Decides which agent writes StreamRoute status, so that the agents of every node do not fight over
 * it: the ready agent with the lowest node name (the agents' pods, watched by label in the agents'
 * namespace). A stable rule without leases: every agent computes the same answer from the same
 * pods, and while pods change two agents may briefly both write — harmless, since each write is the
 * full status and only changes are written.
 */
final class AgentPeers {
    private final String node;
    private final Supplier<Collection<Pod>> agentPods;

    AgentPeers(String node, Supplier<Collection<Pod>> agentPods) {
        this.node = node;
        this.agentPods = agentPods;
    }

    /** Nodes with a ready agent, and this one. */
    TreeSet<String> nodes() {
        TreeSet<String> out = new TreeSet<>();
        out.add(node);
        for (Pod p : agentPods.get()) {
            if (p.getSpec() == null
                    || p.getSpec().getNodeName() == null
                    || p.getMetadata().getDeletionTimestamp() != null) {
                continue;
            }
            if (ready(p)) {
                out.add(p.getSpec().getNodeName());
            }
        }
        return out;
    }

    boolean isWriter() {
        return node.equals(nodes().first());
    }

    String writer() {
        return nodes().first();
    }

    static boolean ready(Pod p) {
        if (p.getStatus() == null || p.getStatus().getConditions() == null) {
            return false;
        }
        for (PodCondition c : p.getStatus().getConditions()) {
            if ("Ready".equals(c.getType())) {
                return Objects.equals(c.getStatus(), "True");
            }
        }
        return false;
    }
}
