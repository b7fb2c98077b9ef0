package io.msm.agent.k8s;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Pod;
import java.util.Map;

/**
 * Which pods are intercepted: opt-in with the key (default {@code msm.io/intercept}) set to "true"
 * as a label or annotation of the pod, or as a label or annotation of its namespace; a pod's own
 * "false" opts it out of a namespace that opted in. Pods on the host network are never intercepted
 * (they are the node: the agent itself among them), nor pods that have finished.
 */
final class InterceptPolicy {
    private final String key;

    InterceptPolicy(String key) {
        this.key = key;
    }

    boolean wants(Pod pod, Namespace ns) {
        if (pod.getSpec() != null && Boolean.TRUE.equals(pod.getSpec().getHostNetwork())) {
            return false;
        }
        String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
        if ("Succeeded".equals(phase) || "Failed".equals(phase)) {
            return false;
        }
        String own = value(pod.getMetadata().getLabels(), pod.getMetadata().getAnnotations());
        if (own != null) {
            return "true".equalsIgnoreCase(own.trim());
        }
        if (ns == null) {
            return false;
        }
        String nsv = value(ns.getMetadata().getLabels(), ns.getMetadata().getAnnotations());
        return nsv != null && "true".equalsIgnoreCase(nsv.trim());
    }

    private String value(Map<String, String> labels, Map<String, String> annotations) {
        if (labels != null && labels.containsKey(key)) {
            return labels.get(key);
        }
        return annotations == null ? null : annotations.get(key);
    }
}
