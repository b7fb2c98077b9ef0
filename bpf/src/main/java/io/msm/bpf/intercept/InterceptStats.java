package io.msm.bpf.intercept;

import io.msm.bpf.maps.Codec;
import io.msm.bpf.maps.StructLayout;
import java.nio.ByteBuffer;
import java.util.List;

/** struct msm_icpt_stats: per-CPU counters of the interception programs. */
public record InterceptStats(long redirected, long passed, long peerRestored) {
    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_icpt_stats", 24)
                    .u64("redirected", 0)
                    .u64("passed", 8)
                    .u64("peer_restored", 16)
                    .build();
    private static final int REDIRECTED = LAYOUT.u64("redirected");
    private static final int PASSED = LAYOUT.u64("passed");
    private static final int PEER_RESTORED = LAYOUT.u64("peer_restored");

    public static final InterceptStats ZERO = new InterceptStats(0, 0, 0);

    public static InterceptStats sum(List<InterceptStats> perCpu) {
        long r = 0, p = 0, g = 0;
        for (InterceptStats s : perCpu) {
            r += s.redirected;
            p += s.passed;
            g += s.peerRestored;
        }
        return new InterceptStats(r, p, g);
    }

    public static final Codec<InterceptStats> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, InterceptStats s) {
                    b.putLong(off + REDIRECTED, s.redirected);
                    b.putLong(off + PASSED, s.passed);
                    b.putLong(off + PEER_RESTORED, s.peerRestored);
                }

                @Override
                public InterceptStats read(ByteBuffer b, int off) {
                    return new InterceptStats(
                            b.getLong(off + REDIRECTED),
                            b.getLong(off + PASSED),
                            b.getLong(off + PEER_RESTORED));
                }
            };
}
