package io.msm.agent.identity;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A set of workload identities given by SPIFFE ID: {@code spiffe://<td>/ns/<ns>/sa/<sa>} names one,
 * {@code spiffe://<td>/ns/<ns>/sa/*} every ServiceAccount of a namespace.
 */
public final class SpiffeIdSet {
    private static final Pattern ID =
            Pattern.compile(
                    "spiffe://([a-z0-9._-]{1,255})/ns/([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)/sa/(\\*|[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)");

    public static final SpiffeIdSet EMPTY = new SpiffeIdSet(List.of());

    private final List<String> exact;
    private final List<String> prefixes;
    private final List<String> patterns;

    private SpiffeIdSet(List<String> patterns) {
        this.patterns = List.copyOf(patterns);
        List<String> e = new ArrayList<>();
        List<String> p = new ArrayList<>();
        for (String s : patterns) {
            if (s.endsWith("/sa/*")) {
                p.add(s.substring(0, s.length() - 1));
            } else {
                e.add(s);
            }
        }
        this.exact = List.copyOf(e);
        this.prefixes = List.copyOf(p);
    }

    /** Why {@code s} is not a SPIFFE ID pattern this set takes, or null. */
    public static String problem(String s) {
        if (s == null || !ID.matcher(s).matches()) {
            return "must be spiffe://<trust-domain>/ns/<namespace>/sa/<serviceaccount> or"
                    + " .../sa/* (got '"
                    + s
                    + "')";
        }
        return null;
    }

    /** The set of {@code patterns}, each valid ({@link #problem} is null). */
    public static SpiffeIdSet of(List<String> patterns) {
        for (String s : patterns) {
            if (problem(s) != null) {
                throw new IllegalArgumentException(problem(s));
            }
        }
        return patterns.isEmpty() ? EMPTY : new SpiffeIdSet(patterns);
    }

    public boolean isEmpty() {
        return patterns.isEmpty();
    }

    public boolean contains(String spiffeId) {
        if (spiffeId == null) {
            return false;
        }
        if (exact.contains(spiffeId)) {
            return true;
        }
        for (String p : prefixes) {
            if (spiffeId.startsWith(p) && spiffeId.indexOf('/', p.length()) < 0) {
                return true;
            }
        }
        return false;
    }

    public List<String> patterns() {
        return patterns;
    }

    @Override
    public String toString() {
        return patterns.toString();
    }
}
