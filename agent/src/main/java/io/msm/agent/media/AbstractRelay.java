package io.msm.agent.media;

import io.msm.agent.identity.Identities;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Set;

/**
 * What both planes' relays share: the socket, the options, the tap, and the rule that decides which
 * packets are upstream.
 */
abstract class AbstractRelay implements Relay, RelaySocket.Receiver {
    protected volatile RelayOptions options;
    protected RelaySocket socket;
    protected volatile PacketListener tap;
    protected volatile boolean tapUpstream;

    AbstractRelay(RelayOptions options) {
        this.options = options;
    }

    void bind(EventLoopGroup group, InetSocketAddress addr) throws IOException {
        socket = RelaySocket.bind(group, addr, this);
    }

    /** The options or the tap changed (the kernel plane rewrites its group). */
    protected void changed() {}

    /**
     * Upstream: from the expected source (any port when its port is 0), or anyone when none is
     * expected.
     */
    static boolean matches(InetSocketAddress expected, InetSocketAddress from) {
        return expected == null
                || (expected.getAddress().equals(from.getAddress())
                        && (expected.getPort() == 0 || expected.getPort() == from.getPort()));
    }

    /** {@link #identityRefusal}: the sender may feed the relay */
    static final int ADMITTED = 0;

    /** the sender has no identity ({@code WORLD}) and the relay does not admit that */
    static final int UNKNOWN = 1;

    /** the sender's identity is not one the relay admits */
    static final int DENIED = 2;

    /**
     * The identity rule, the same as TC's for groups with identity checks: with {@code allowed}
     * set, only senders whose identity is in it feed the relay (WORLD in it admits senders with
     * none); null admits everyone.
     */
    static int identityRefusal(Set<Integer> allowed, int identity) {
        if (allowed == null || allowed.contains(identity)) {
            return ADMITTED;
        }
        return identity == Identities.WORLD ? UNKNOWN : DENIED;
    }

    @Override
    public InetSocketAddress local() {
        return socket.local();
    }

    @Override
    public RelayOptions options() {
        return options;
    }

    @Override
    public void expectSource(InetSocketAddress source) {
        options = options.withExpectedSource(source);
        changed();
    }

    @Override
    public void allowIdentities(Set<Integer> identities) {
        options = options.withAllowedIdentities(identities);
        changed();
    }

    @Override
    public void tap(PacketListener listener, boolean upstreamToo) {
        tap = listener;
        tapUpstream = upstreamToo;
        changed();
    }

    @Override
    public void send(ByteBuf data, InetSocketAddress to) {
        socket.send(data, to);
    }
}
