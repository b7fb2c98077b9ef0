package io.msm.agent.limits;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A deadline for each request to arrive whole, from its first byte (slowloris: a header sent a byte
 * a minute holds a connection and its buffer for ever otherwise). Two stages around a protocol's
 * decoder, made per connection by {@link #stages()}: {@code before} starts the clock when bytes
 * arrive and none is running, {@code after} stops it when the decoder hands a whole message on. A
 * connection past its deadline is counted under {@link #REASON} and closed.
 */
public final class RequestDeadline {
    public static final String REASON = "request_timeout";

    /**
     * The two stages of one connection: add {@code before} ahead of the decoder, {@code after}
     * behind it.
     */
    public record Stages(ChannelHandler before, ChannelHandler after) {}

    private final long timeoutNanos;
    private final Refusals refusals;

    public RequestDeadline(Duration timeout, Refusals refusals) {
        this.timeoutNanos = timeout.toNanos();
        this.refusals = refusals;
    }

    public Stages stages() {
        Clock clock = new Clock();
        return new Stages(new Before(clock), new After(clock));
    }

    private static final class Clock {
        ScheduledFuture<?> pending;

        void stop() {
            if (pending != null) {
                pending.cancel(false);
                pending = null;
            }
        }
    }

    private final class Before extends ChannelInboundHandlerAdapter {
        private final Clock clock;

        Before(Clock clock) {
            this.clock = clock;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (clock.pending == null) {
                clock.pending =
                        ctx.executor()
                                .schedule(
                                        () -> {
                                            clock.pending = null;
                                            refusals.refuse(
                                                    REASON,
                                                    ctx.channel().remoteAddress()
                                                            + " did not send a whole request within "
                                                            + Duration.ofNanos(timeoutNanos)
                                                                    .toMillis()
                                                            + " ms");
                                            ctx.close();
                                        },
                                        timeoutNanos,
                                        TimeUnit.NANOSECONDS);
            }
            ctx.fireChannelRead(msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            clock.stop();
            ctx.fireChannelInactive();
        }
    }

    private static final class After extends ChannelInboundHandlerAdapter {
        private final Clock clock;

        After(Clock clock) {
            this.clock = clock;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            clock.stop();
            ctx.fireChannelRead(msg);
        }
    }
}
