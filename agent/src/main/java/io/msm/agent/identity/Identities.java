package io.msm.agent.identity;

/**
 * Numeric workload identities as the datapath knows them. Each distinct workload identity (a
 * Kubernetes namespace and ServiceAccount, named as a SPIFFE ID {@code
 * spiffe://<trust-domain>/ns/<namespace>/sa/<serviceaccount>}) gets a small number on this node;
 * the kernel maps a source address to that number and a fan-out group lists the numbers allowed to
 * feed it. Numbers are node-local: they are never compared across nodes.
 */
public final class Identities {
    /**
     * An address with no known identity: a source outside the cluster, or not yet (or no longer)
     * known.
     */
    public static final int WORLD = 0;

    private Identities() {}
}
