package io.msm.agent.identity;

import java.net.InetAddress;
import java.util.Set;

/**
 * Where the agent's view of "which address is which workload" is written: the kernel's identity map
 * in kernel mode (so TC can check a packet's sender before the fan-out copies), a map in memory in
 * userspace mode. Calls come from one thread at a time (the directory's); implementations need not
 * be reentrant but must be safe to call from any thread.
 *
 * <p>Ordering contract: an address is removed (or overwritten) before another workload is given it,
 * so an address never keeps the identity of a pod that left.
 */
public interface IdentitySink {
    /** {@code addr} now belongs to workload {@code identity} (never {@link Identities#WORLD}). */
    void put(InetAddress addr, int identity);

    /** {@code addr} has no identity any more ({@link Identities#WORLD}). */
    void remove(InetAddress addr);

    /** The human name of {@code identity}: its SPIFFE ID, for 'msm fanout' and 'msm flows'. */
    void name(int identity, String spiffeId);

    /** {@code identity} is no longer used by any address or policy; its name may be dropped. */
    void forget(int identity);

    /**
     * After a (re)start's first full listing: every address not in {@code known} loses its identity
     * (entries a previous agent left in the pinned map).
     */
    void retainOnly(Set<InetAddress> known);

    /** A sink that keeps nothing (no Kubernetes, or identities off). */
    IdentitySink NONE =
            new IdentitySink() {
                @Override
                public void put(InetAddress addr, int identity) {}

                @Override
                public void remove(InetAddress addr) {}

                @Override
                public void name(int identity, String spiffeId) {}

                @Override
                public void forget(int identity) {}

                @Override
                public void retainOnly(Set<InetAddress> known) {}
            };
}
