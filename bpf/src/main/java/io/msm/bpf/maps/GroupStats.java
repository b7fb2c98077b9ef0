package io.msm.bpf.maps;

import java.nio.ByteBuffer;
import java.util.List;

/** struct msm_group_stats: per-CPU counters of a fan-out group. */
public record GroupStats(long packets, long bytes, long copies, long errors, long strictDrops) {
    public static final StructLayout LAYOUT =
            StructLayout.of(
                    "msm_group_stats",
                    40,
                    "packets",
                    0,
                    "bytes",
                    8,
                    "copies",
                    16,
                    "errors",
                    24,
                    "strict_drops",
                    32);
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
                    b.putLong(off, g.packets);
                    b.putLong(off + 8, g.bytes);
                    b.putLong(off + 16, g.copies);
                    b.putLong(off + 24, g.errors);
                    b.putLong(off + 32, g.strictDrops);
                }

                @Override
                public GroupStats read(ByteBuffer b, int off) {
                    return new GroupStats(
                            b.getLong(off),
                            b.getLong(off + 8),
                            b.getLong(off + 16),
                            b.getLong(off + 24),
                            b.getLong(off + 32));
                }
            };
}
