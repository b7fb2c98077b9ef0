package io.msm.agent.media;

import io.msm.agent.identity.Identities;
import io.msm.agent.identity.IdentityLookup;
import io.msm.agent.identity.IdentitySink;
import io.msm.bpf.Datapath;
import io.msm.bpf.maps.IdentityKey;
import io.msm.bpf.maps.IdentityName;
import io.msm.bpf.maps.SourceIdentity;
import java.net.InetAddress;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kernel plane's identities: the {@link IdentitySink} that writes msm_identities (source
 * address to identity, read by TC for groups with identity checks) and msm_identity_names (SPIFFE
 * IDs for the CLI), with a copy in memory that the plane's relays read when they serve packets in
 * userspace (fallback, bypass) — so both paths apply the same rule to the same data.
 *
 * <p>The pinned maps outlive the agent: what a previous agent wrote is read back at start (the
 * kernel keeps using it until the directory's first full listing calls {@link #retainOnly}).
 */
final class KernelIdentities implements IdentitySink, IdentityLookup {
    private static final Logger log = LoggerFactory.getLogger(KernelIdentities.class);

    private final Datapath dp;
    private final Map<InetAddress, Integer> byAddr = new ConcurrentHashMap<>();
    private final Map<Integer, String> names = new ConcurrentHashMap<>();

    /** the map was full: logged once per agent run */
    private volatile boolean fullLogged;

    KernelIdentities(Datapath dp) {
        this.dp = dp;
        dp.identities().forEach((k, v) -> byAddr.put(k.addr(), v.identity()));
        dp.identityNames().forEach((id, n) -> names.put(id, n.name()));
    }

    @Override
    public void put(InetAddress addr, int identity) {
        if (identity == Identities.WORLD) {
            remove(addr);
            return;
        }
        try {
            // one update replaces the old value atomically: the address never has none between
            dp.identities().update(new IdentityKey(addr), new SourceIdentity(identity));
        } catch (RuntimeException e) {
            // a full map (or any failure) leaves the address without identity: fail closed
            dp.identities().delete(new IdentityKey(addr));
            byAddr.remove(addr);
            if (!fullLogged) {
                fullLogged = true;
                log.warn(
                        "cannot record the identity of {} in the kernel ({}): it is treated as having"
                                + " none (raise the identity map size); logged once",
                        addr.getHostAddress(),
                        e.getMessage());
            }
            return;
        }
        byAddr.put(addr, identity);
    }

    @Override
    public void remove(InetAddress addr) {
        // memory first: a userspace path never trusts what the kernel no longer does
        byAddr.remove(addr);
        dp.identities().delete(new IdentityKey(addr));
    }

    @Override
    public void name(int identity, String spiffeId) {
        names.put(identity, spiffeId);
        try {
            dp.identityNames().update(identity, new IdentityName(spiffeId));
        } catch (RuntimeException e) {
            log.debug("cannot record the name of identity {}: {}", identity, e.getMessage());
        }
    }

    @Override
    public void forget(int identity) {
        names.remove(identity);
        dp.identityNames().delete(identity);
    }

    @Override
    public void retainOnly(Set<InetAddress> known) {
        int removed = 0;
        for (IdentityKey k : dp.identities().keys()) {
            if (!known.contains(k.addr())) {
                remove(k.addr());
                removed++;
            }
        }
        byAddr.keySet().removeIf(a -> !known.contains(a));
        if (removed > 0) {
            log.info("removed {} address identit(ies) no workload holds any more", removed);
        }
    }

    @Override
    public int identityOf(InetAddress addr) {
        return byAddr.getOrDefault(addr, Identities.WORLD);
    }

    @Override
    public Optional<String> nameOf(int identity) {
        return Optional.ofNullable(names.get(identity));
    }
}
