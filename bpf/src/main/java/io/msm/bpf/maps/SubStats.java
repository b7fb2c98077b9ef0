package io.msm.bpf.maps;

import java.nio.ByteBuffer;
import java.util.List;

/** struct msm_sub_stats: per-CPU counters of one subscriber. */
public record SubStats(long packets, long bytes, long errors) {
    public static final StructLayout LAYOUT =
            StructLayout.of("msm_sub_stats", 24, "packets", 0, "bytes", 8, "errors", 16);
    public static final SubStats ZERO = new SubStats(0, 0, 0);

    public static SubStats sum(List<SubStats> perCpu) {
        long p = 0, b = 0, e = 0;
        for (SubStats s : perCpu) {
            p += s.packets;
            b += s.bytes;
            e += s.errors;
        }
        return new SubStats(p, b, e);
    }

    public static final Codec<SubStats> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, SubStats s) {
                    b.putLong(off, s.packets);
                    b.putLong(off + 8, s.bytes);
                    b.putLong(off + 16, s.errors);
                }

                @Override
                public SubStats read(ByteBuffer b, int off) {
                    return new SubStats(b.getLong(off), b.getLong(off + 8), b.getLong(off + 16));
                }
            };
}
