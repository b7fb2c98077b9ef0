package io.msm.agent.identity;

import java.net.InetAddress;
import java.util.Optional;

/** Who an address is, as the agent knows it now. Thread-safe. */
public interface IdentityLookup {
    /** The numeric identity of {@code addr}, or {@link Identities#WORLD}. */
    int identityOf(InetAddress addr);

    /** The SPIFFE ID of a numeric identity, if it is in use. */
    Optional<String> nameOf(int identity);

    /** Nobody has an identity (no Kubernetes). */
    IdentityLookup NONE =
            new IdentityLookup() {
                @Override
                public int identityOf(InetAddress addr) {
                    return Identities.WORLD;
                }

                @Override
                public Optional<String> nameOf(int identity) {
                    return Optional.empty();
                }
            };
}
