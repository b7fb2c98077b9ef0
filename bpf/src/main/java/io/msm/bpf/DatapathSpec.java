package io.msm.bpf;

/**
 * Map sizes chosen at load time (the object's defaults are in msm_shared.h).
 *
 * @param flows flow table entries (LRU)
 * @param groups fan-out groups (each preallocates MSM_MAX_SUBS subscriber slots, 36 kB)
 * @param subIds subscriber counter slots across all groups
 * @param deny deny-list prefixes
 * @param rateLimit sources tracked by the new-flow limiter
 */
public record DatapathSpec(int flows, int groups, int subIds, int deny, int rateLimit) {
    public static final DatapathSpec DEFAULT = new DatapathSpec(65536, 256, 8192, 4096, 65536);

    public DatapathSpec {
        check("flows", flows, 16, 16_777_216);
        check("groups", groups, 1, 65536);
        check("subIds", subIds, 1, 1_048_576);
        check("deny", deny, 1, 1_048_576);
        check("rateLimit", rateLimit, 16, 16_777_216);
    }

    private static void check(String field, int v, int min, int max) {
        if (v < min || v > max) {
            throw new IllegalArgumentException(
                    field + " must be " + min + ".." + max + ", got " + v);
        }
    }

    public DatapathSpec withFlows(int n) {
        return new DatapathSpec(n, groups, subIds, deny, rateLimit);
    }

    public DatapathSpec withGroups(int n) {
        return new DatapathSpec(flows, n, subIds, deny, rateLimit);
    }

    public DatapathSpec withSubIds(int n) {
        return new DatapathSpec(flows, groups, n, deny, rateLimit);
    }
}
