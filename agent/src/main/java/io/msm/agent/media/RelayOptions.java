package io.msm.agent.media;

import java.net.InetSocketAddress;
import java.util.Set;

/**
 * How a relay treats what reaches its port.
 *
 * @param label for metrics and 'msm fanout': e.g. "cam1/track0/rtp" (bounded set, no addresses)
 * @param expectedSource when set, only packets from this source (port 0: any port of that address)
 *     are upstream and replicated; null: every packet is upstream
 * @param others what happens to packets from other sources
 * @param allowedIdentities when set, only packets whose source address has one of these numeric
 *     workload identities ({@link io.msm.agent.identity.Identities}; {@code WORLD} = an address
 *     with no identity) are upstream — checked in TC for kernel relays, before the copies, and
 *     dropped and counted per group and reason otherwise; null: no identity check
 * @param upstream where the relay's stream comes from, for 'msm fanout' only (not in metrics):
 *     "publisher", "node X's agent" (a relay tree edge), "upstream"; null: not said
 */
public record RelayOptions(
        String label,
        InetSocketAddress expectedSource,
        Others others,
        Set<Integer> allowedIdentities,
        String upstream) {
    public enum Others {
        /** hand them to the relay's tap (e.g. viewers' RTCP receiver reports reach the proxy) */
        DELIVER_LOCAL,
        /** drop and count them (SIP strict source) */
        DROP
    }

    public RelayOptions {
        if (label == null || label.isBlank()) {
            throw new IllegalArgumentException("a relay needs a label");
        }
        if (others == null) {
            others = Others.DELIVER_LOCAL;
        }
        if (allowedIdentities != null) {
            allowedIdentities = Set.copyOf(allowedIdentities);
        }
    }

    public RelayOptions(String label, InetSocketAddress expectedSource, Others others) {
        this(label, expectedSource, others, null, null);
    }

    public RelayOptions(
            String label,
            InetSocketAddress expectedSource,
            Others others,
            Set<Integer> allowedIdentities) {
        this(label, expectedSource, others, allowedIdentities, null);
    }

    /**
     * The fan-out group's label for 'msm fanout': "label <- upstream" when the upstream is said.
     */
    public String groupLabel() {
        return upstream == null ? label : label + " <- " + upstream;
    }

    public RelayOptions withUpstream(String u) {
        return new RelayOptions(label, expectedSource, others, allowedIdentities, u);
    }

    public static RelayOptions of(String label) {
        return new RelayOptions(label, null, Others.DELIVER_LOCAL);
    }

    public RelayOptions withExpectedSource(InetSocketAddress src) {
        return new RelayOptions(label, src, others, allowedIdentities, upstream);
    }

    public RelayOptions withOthers(Others o) {
        return new RelayOptions(label, expectedSource, o, allowedIdentities, upstream);
    }

    public RelayOptions withAllowedIdentities(Set<Integer> ids) {
        return new RelayOptions(label, expectedSource, others, ids, upstream);
    }
}
