package io.msm.bpf.maps;

import java.nio.ByteBuffer;
import java.util.List;

/** struct msm_group_stats: per-CPU counters of a fan-out group. */
public record GroupStats(long packets, long bytes, long copies, long errors, long strictDrops) {
    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_group_stats", 40)
                    .u64("packets", 0)
                    .u64("bytes", 8)
                    .u64("copies", 16)
                    .u64("errors", 24)
                    .u64("strict_drops", 32)
                    .build();
    private static final int PACKETS = LAYOUT.u64("packets");
    private static final int BYTES = LAYOUT.u64("bytes");
    private static final int COPIES = LAYOUT.u64("copies");
    private static final int ERRORS = LAYOUT.u64("errors");
    private static final int STRICT_DROPS = LAYOUT.u64("strict_drops");
    public static final GroupStats ZERO = new GroupStats(0, 0, 0, 0, 0);

    public static GroupStats sum(List<GroupStats> perCpu) {
        long p = 0, b = 0, c = 0, e = 0, s = 0;
        for (GroupStats g : perCpu) {
            p += g.packets;
            b += g.bytes;
            c += g.copies;
            e += g.errors;
            s += g.strictDrops;
        }
        return new GroupStats(p, b, c, e, s);
    }

    public static final Codec<GroupStats> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, GroupStats g) {
                    b.putLong(off + PACKETS, g.packets);
                    b.putLong(off + BYTES, g.bytes);
                    b.putLong(off + COPIES, g.copies);
                    b.putLong(off + ERRORS, g.errors);
                    b.putLong(off + STRICT_DROPS, g.strictDrops);
                }

                @Override
                public GroupStats read(ByteBuffer b, int off) {
                    return new GroupStats(
                            b.getLong(off + PACKETS),
                            b.getLong(off + BYTES),
                            b.getLong(off + COPIES),
                            b.getLong(off + ERRORS),
                            b.getLong(off + STRICT_DROPS));
                }
            };
}
