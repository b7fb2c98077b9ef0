package io.msm.bpf.maps;

import java.nio.ByteBuffer;

/** struct msm_ratelimit_state: a source's new-flow token bucket (tokens in 1e-9 units). */
public record RateLimitState(long tokens, long lastNs, long dropped) {
    public static final StructLayout LAYOUT =
            StructLayout.of("msm_ratelimit_state", 24, "tokens", 0, "last_ns", 8, "dropped", 16);

    public static final Codec<RateLimitState> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, RateLimitState s) {
                    b.putLong(off, s.tokens);
                    b.putLong(off + 8, s.lastNs);
                    b.putLong(off + 16, s.dropped);
                }

                @Override
                public RateLimitState read(ByteBuffer b, int off) {
                    return new RateLimitState(
                            b.getLong(off), b.getLong(off + 8), b.getLong(off + 16));
                }
            };
}
