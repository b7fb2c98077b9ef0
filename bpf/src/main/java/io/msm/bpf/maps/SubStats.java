package io.msm.bpf.maps;

import java.nio.ByteBuffer;
import java.util.List;

/** struct msm_sub_stats: per-CPU counters of one subscriber. */
public record SubStats(long packets, long bytes, long errors) {
    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_sub_stats", 24)
                    .u64("packets", 0)
                    .u64("bytes", 8)
                    .u64("errors", 16)
                    .build();
    private static final int PACKETS = LAYOUT.u64("packets");
    private static final int BYTES = LAYOUT.u64("bytes");
    private static final int ERRORS = LAYOUT.u64("errors");
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
                    b.putLong(off + PACKETS, s.packets);
                    b.putLong(off + BYTES, s.bytes);
                    b.putLong(off + ERRORS, s.errors);
                }

                @Override
                public SubStats read(ByteBuffer b, int off) {
                    return new SubStats(
                            b.getLong(off + PACKETS),
                            b.getLong(off + BYTES),
                            b.getLong(off + ERRORS));
                }
            };
}
