package io.msm.agent.identity;

import java.util.regex.Pattern;

/**
 * A workload's identity: its Kubernetes namespace and ServiceAccount, named as a SPIFFE ID {@code
 * spiffe://<trust-domain>/ns/<namespace>/sa/<serviceaccount>}.
 */
public record WorkloadIdentity(String namespace, String serviceAccount) {
    /** A SPIFFE trust domain: lowercase letters, digits, '.', '-' and '_' (SPIFFE ID spec §2.1). */
    private static final Pattern TRUST_DOMAIN = Pattern.compile("[a-z0-9._-]{1,255}");

    /** The SPIFFE ID of this identity in {@code trustDomain}. */
    public String spiffeId(String trustDomain) {
        return "spiffe://" + trustDomain + "/ns/" + namespace + "/sa/" + serviceAccount;
    }

    /** Why {@code td} is not a trust domain, or null when it is one. */
    public static String trustDomainProblem(String td) {
        if (td == null || td.isEmpty()) {
            return "must not be empty";
        }
        if (td.startsWith("spiffe://")) {
            return "is the trust domain alone, without spiffe:// (got '" + td + "')";
        }
        if (!TRUST_DOMAIN.matcher(td).matches()) {
            return "must be lowercase letters, digits, '.', '-' and '_' (got '" + td + "')";
        }
        return null;
    }
}
