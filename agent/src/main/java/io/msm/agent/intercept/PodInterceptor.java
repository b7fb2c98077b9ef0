package io.msm.agent.intercept;

import java.net.Inet4Address;
import java.util.Collection;
import java.util.Set;

/** What the Kubernetes watcher drives: the set of intercepted pods and the proxy's node address. */
public interface PodInterceptor {
    /** Make the intercepted set exactly {@code pods}; returns the UIDs attached now. */
    Set<String> reconcile(Collection<PodRef> pods);

    /** Pods wanted whose cgroup was not found yet (retried on the next reconcile). */
    Set<String> pending();

    /** The node's address as pods reach it (a pod's status.hostIP), unless one was configured. */
    void proxyAddress(Inet4Address address);
}
