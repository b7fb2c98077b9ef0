package io.msm.agent.media;

import io.msm.agent.identity.IdentityLookup;
import io.msm.agent.net.Transport;
import io.msm.bpf.maps.PortTable;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The media plane without BPF: every relay is a Netty (epoll) UDP socket that receives the upstream
 * and writes one datagram per subscriber (batched into sendmmsg by the epoll transport). Same
 * behaviour as the kernel plane, at userspace cost.
 */
public final class UserspaceMediaPlane implements MediaPlane {
    private final EventLoopGroup group;
    private final PortPairs pairs;
    private final MediaAdmission admission;
    final Map<InetSocketAddress, UserspaceRelay> byLocal = new ConcurrentHashMap<>();
    private volatile IdentityLookup identities = IdentityLookup.NONE;

    public UserspaceMediaPlane(PortTable.Range portRange, int threads) {
        this.group = Transport.group(threads, "msm-relay");
        this.pairs = new PortPairs(portRange);
        this.admission =
                MediaAdmission.standard(
                        portRange.hi() - portRange.lo() + 1, MediaAdmission.UNBOUNDED);
    }

    @Override
    public MediaAdmission admission() {
        return admission;
    }

    @Override
    public String mode() {
        return "userspace";
    }

    @Override
    public Relay open(InetSocketAddress bind, RelayOptions options) throws IOException {
        UserspaceRelay r = new UserspaceRelay(this, options);
        r.bind(group, bind);
        byLocal.put(r.local(), r);
        return r;
    }

    @Override
    public RelayPair openPair(InetAddress addr, RelayOptions rtp, RelayOptions rtcp)
            throws IOException {
        return pairs.open(this::open, addr, rtp, rtcp);
    }

    /**
     * Who senders are: relays whose options allow only some identities judge each packet's sender
     * by it, as TC does for the kernel plane's groups.
     */
    @Override
    public void identityLookup(IdentityLookup lookup) {
        identities = lookup == null ? IdentityLookup.NONE : lookup;
    }

    int identityOf(InetSocketAddress sender) {
        return identities.identityOf(sender.getAddress());
    }

    /** Every open relay (for metrics and inspection). */
    public List<Relay> relays() {
        return List.copyOf(byLocal.values());
    }

    void closed(UserspaceRelay r) {
        byLocal.remove(r.local(), r);
    }

    @Override
    public void close() {
        for (UserspaceRelay r : List.copyOf(byLocal.values())) {
            r.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
