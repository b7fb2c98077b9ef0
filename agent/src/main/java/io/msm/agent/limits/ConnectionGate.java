package io.msm.agent.limits;

import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;

/**
 * The first stage of a listener's connection pipeline: takes a lease from the listener's {@link
 * SourceLimiter} when a connection opens and gives it back when it closes; a connection over the
 * per-source or total cap is closed at once, counted and (rate-limited) logged, before any byte of
 * it is read.
 */
@Sharable
public final class ConnectionGate extends ChannelInboundHandlerAdapter {
    private static final AttributeKey<SourceLimiter.Lease> LEASE =
            AttributeKey.valueOf("msm.connection.lease");

    /** The refusal reasons this gate counts under. */
    public static final String PER_SOURCE = "connections_per_source";

    public static final String TOTAL = "connections";

    private final SourceLimiter limiter;
    private final Refusals refusals;

    public ConnectionGate(SourceLimiter limiter, Refusals refusals) {
        this.limiter = limiter;
        this.refusals = refusals;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        SourceKey source = SourceKey.of(ctx.channel().remoteAddress());
        SourceLimiter.Admission a = limiter.acquire(source);
        if (!a.admitted()) {
            boolean perSource = a.refusedBy() == SourceLimiter.Limit.PER_SOURCE;
            refusals.refuse(
                    perSource ? PER_SOURCE : TOTAL,
                    perSource
                            ? source + " holds " + limiter.perSourceLimit() + " connections already"
                            : "the listener holds "
                                    + limiter.totalLimit()
                                    + " connections ("
                                    + source
                                    + " refused)");
            ctx.close();
            return;
        }
        ctx.channel().attr(LEASE).set(a.lease());
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        SourceLimiter.Lease lease = ctx.channel().attr(LEASE).getAndSet(null);
        if (lease != null) {
            lease.close();
            ctx.fireChannelInactive();
        }
    }

    public SourceLimiter limiter() {
        return limiter;
    }
}
