package io.msm.bpf;

/**
 * Map sizes chosen at load time (the object's defaults are in msm_shared.h).
 *
 * @param flows flow table entries (LRU)
 * @param groups fan-out groups (each preallocates MSM_MAX_SUBS subscriber slots, 36 kB)
 * @param subIds subscriber counter slots across all groups
 * @param deny deny-list prefixes
 * @param rateLimit sources tracked by the new-flow limiter
 * @param identities source addresses with a workload identity (msm_identities): one per pod IP the
 *     agent knows cluster-wide (pods on other nodes may send to this node's groups). 16384 fits
 *     clusters of that many pods for about 1.3 MB (preallocated hash: 24-byte key, 8-byte value,
 *     ~48 bytes of element header); a full map leaves further pods WORLD, which fails closed
 * @param identityNames SPIFFE IDs (msm_identity_names, 256 bytes each, allocated on use): one per
 *     distinct namespace/ServiceAccount, far fewer than pods
 * @param groupAllow {group, identity} entries (msm_group_allow), ~64 bytes each preallocated. Only
 *     the identities that may <em>feed</em> a group are listed (a stream's publishers, not its
 *     viewers), typically one or two per group: 16384 (1 MB) is 64 per group at the default 256
 *     groups; a full map fails closed (the identity is not admitted, and the agent logs it)
 * @param gameServices game services the maps hold (service ids 0..n-1, at most
 *     GameService.MAX_SERVICES = 64): the Maglev slot array is n × 16,381 slots × 4 bytes (64 KB a
 *     service, 4 MB at 64), preallocated. 0: no game services — every game map is minimal (one
 *     entry) and {@link Datapath#configure} refuses DatapathConfig.F_GAME
 */
public record DatapathSpec(
        int flows,
        int groups,
        int subIds,
        int deny,
        int rateLimit,
        int identities,
        int identityNames,
        int groupAllow,
        int gameServices) {
    /** GameService.MAX_SERVICES: service ids the kernel accepts. */
    public static final int MAX_GAME_SERVICES = 64;

    public static final DatapathSpec DEFAULT =
            new DatapathSpec(65536, 256, 8192, 4096, 65536, 16384, 4096, 16384, MAX_GAME_SERVICES);

    public DatapathSpec {
        check("flows", flows, 16, 16_777_216);
        check("groups", groups, 1, 65536);
        check("subIds", subIds, 1, 1_048_576);
        check("deny", deny, 1, 1_048_576);
        check("rateLimit", rateLimit, 16, 16_777_216);
        check("identities", identities, 1, 16_777_216);
        check("identityNames", identityNames, 1, 1_048_576);
        check("groupAllow", groupAllow, 1, 16_777_216);
        check("gameServices", gameServices, 0, MAX_GAME_SERVICES);
    }

    /** The game maps at their default size (64 services). */
    public DatapathSpec(
            int flows,
            int groups,
            int subIds,
            int deny,
            int rateLimit,
            int identities,
            int identityNames,
            int groupAllow) {
        this(
                flows,
                groups,
                subIds,
                deny,
                rateLimit,
                identities,
                identityNames,
                groupAllow,
                MAX_GAME_SERVICES);
    }

    /** The identity maps at their default sizes. */
    public DatapathSpec(int flows, int groups, int subIds, int deny, int rateLimit) {
        this(flows, groups, subIds, deny, rateLimit, 16384, 4096, 16384, MAX_GAME_SERVICES);
    }

    private static void check(String field, int v, int min, int max) {
        if (v < min || v > max) {
            throw new IllegalArgumentException(
                    field + " must be " + min + ".." + max + ", got " + v);
        }
    }

    public DatapathSpec withFlows(int n) {
        return new DatapathSpec(
                n,
                groups,
                subIds,
                deny,
                rateLimit,
                identities,
                identityNames,
                groupAllow,
                gameServices);
    }

    public DatapathSpec withGroups(int n) {
        return new DatapathSpec(
                flows,
                n,
                subIds,
                deny,
                rateLimit,
                identities,
                identityNames,
                groupAllow,
                gameServices);
    }

    public DatapathSpec withSubIds(int n) {
        return new DatapathSpec(
                flows,
                groups,
                n,
                deny,
                rateLimit,
                identities,
                identityNames,
                groupAllow,
                gameServices);
    }

    public DatapathSpec withIdentities(int n) {
        return new DatapathSpec(
                flows, groups, subIds, deny, rateLimit, n, identityNames, groupAllow, gameServices);
    }

    public DatapathSpec withGroupAllow(int n) {
        return new DatapathSpec(
                flows, groups, subIds, deny, rateLimit, identities, identityNames, n, gameServices);
    }

    /** Game maps for n services (0: none, minimal maps; see the record's doc). */
    public DatapathSpec withGameServices(int n) {
        return new DatapathSpec(
                flows, groups, subIds, deny, rateLimit, identities, identityNames, groupAllow, n);
    }
}
