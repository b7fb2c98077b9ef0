package io.msm.bpf.maps;

import java.nio.ByteBuffer;

/** struct msm_ratelimit_state: a source's new-flow token bucket (tokens in 1e-9 units). */
public record RateLimitState(long tokens, long lastNs, long dropped) {
    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_ratelimit_state", 24)
                    .u64("tokens", 0)
                    .u64("last_ns", 8)
                    .u64("dropped", 16)
                    .build();
    private static final int TOKENS = LAYOUT.u64("tokens");
    private static final int LAST_NS = LAYOUT.u64("last_ns");
    private static final int DROPPED = LAYOUT.u64("dropped");

    public static final Codec<RateLimitState> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, RateLimitState s) {
                    b.putLong(off + TOKENS, s.tokens);
                    b.putLong(off + LAST_NS, s.lastNs);
                    b.putLong(off + DROPPED, s.dropped);
                }

                @Override
                public RateLimitState read(ByteBuffer b, int off) {
                    return new RateLimitState(
                            b.getLong(off + TOKENS),
                            b.getLong(off + LAST_NS),
                            b.getLong(off + DROPPED));
                }
            };
}
