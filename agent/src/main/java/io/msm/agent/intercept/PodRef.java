package io.msm.agent.intercept;

/** A pod to intercept, as far as interception cares: its UID finds its cgroup. */
public record PodRef(String uid, String namespace, String name, String qosClass) {
    @Override
    public String toString() {
        return namespace + "/" + name + " (uid " + uid + ")";
    }
}
