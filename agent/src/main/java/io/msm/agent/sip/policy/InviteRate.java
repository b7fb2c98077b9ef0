package io.msm.agent.sip.policy;

import java.util.function.LongSupplier;

/** A token bucket for new INVITEs: sip.invites-per-second, with a burst of one second's worth. */
final class InviteRate {
    private final double perSecond;
    private final LongSupplier nanos;
    private double tokens;
    private long last;

    InviteRate(int perSecond, LongSupplier nanos) {
        this.perSecond = perSecond;
        this.nanos = nanos;
        this.tokens = perSecond;
        this.last = nanos.getAsLong();
    }

    boolean tryAcquire() {
        long now = nanos.getAsLong();
        tokens = Math.min(perSecond, tokens + (now - last) / 1e9 * perSecond);
        last = now;
        if (tokens >= 1) {
            tokens -= 1;
            return true;
        }
        return false;
    }
}
