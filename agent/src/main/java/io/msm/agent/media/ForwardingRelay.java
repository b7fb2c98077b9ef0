package io.msm.agent.media;

import io.netty.buffer.ByteBuf;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A relay that hands every call to another one: the base of wrappers that change one or two things
 * (a lease given back on close, a subscription made later in a test).
 */
public abstract class ForwardingRelay implements Relay {
    protected final Relay delegate;

    protected ForwardingRelay(Relay delegate) {
        this.delegate = delegate;
    }

    @Override
    public InetSocketAddress local() {
        return delegate.local();
    }

    @Override
    public RelayOptions options() {
        return delegate.options();
    }

    @Override
    public void expectSource(InetSocketAddress source) {
        delegate.expectSource(source);
    }

    @Override
    public void allowIdentities(Set<Integer> identities) {
        delegate.allowIdentities(identities);
    }

    @Override
    public void continuity(RtpContinuity.Config config) {
        delegate.continuity(config);
    }

    @Override
    public Optional<RtpContinuity.Snapshot> continuityState() {
        return delegate.continuityState();
    }

    @Override
    public Subscriber subscribe(InetSocketAddress viewer, InetSocketAddress source) {
        return delegate.subscribe(viewer, source);
    }

    @Override
    public List<Subscriber> subscribers() {
        return delegate.subscribers();
    }

    @Override
    public void tap(PacketListener listener, boolean upstreamToo) {
        delegate.tap(listener, upstreamToo);
    }

    @Override
    public void inject(ByteBuf data) {
        delegate.inject(data);
    }

    @Override
    public void send(ByteBuf data, InetSocketAddress to) {
        delegate.send(data, to);
    }

    @Override
    public RelayStats stats() {
        return delegate.stats();
    }

    @Override
    public Optional<RtpStreamStats> rtpStats() {
        return delegate.rtpStats();
    }

    @Override
    public void close() {
        delegate.close();
    }
}
