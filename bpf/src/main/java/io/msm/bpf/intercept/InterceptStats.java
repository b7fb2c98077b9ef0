package io.msm.bpf.intercept;

import io.msm.bpf.maps.Codec;
import io.msm.bpf.maps.StructLayout;
import java.nio.ByteBuffer;
import java.util.List;

/** struct msm_icpt_stats: per-CPU counters of the interception programs. */
public record InterceptStats(long redirected, long passed, long peerRestored) {
    public static final StructLayout LAYOUT =
            StructLayout.of(
                    "msm_icpt_stats", 24, "redirected", 0, "passed", 8, "peer_restored", 16);

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
                    b.putLong(off, s.redirected);
                    b.putLong(off + 8, s.passed);
                    b.putLong(off + 16, s.peerRestored);
                }

                @Override
                public InterceptStats read(ByteBuffer b, int off) {
                    return new InterceptStats(
                            b.getLong(off), b.getLong(off + 8), b.getLong(off + 16));
                }
            };
}
