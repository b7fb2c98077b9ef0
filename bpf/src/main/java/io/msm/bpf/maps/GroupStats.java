package io.msm.bpf.maps;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * struct msm_group_stats: per-CPU counters of a fan-out group.
 *
 * @param strictDrops packets from a source other than the negotiated one, dropped
 * @param identityUnknown packets refused by {@link FanoutGroup#F_IDENTITY}: the sender has no
 *     identity and the group does not admit {@link SourceIdentity#WORLD}
 * @param identityDenied packets refused by {@link FanoutGroup#F_IDENTITY}: the sender's identity is
 *     not one the group admits (refused packets are dropped, or handed to the local stack when the
 *     group has {@link FanoutGroup#F_PASS_OTHERS})
 */
public record GroupStats(
        long packets,
        long bytes,
        long copies,
        long errors,
        long strictDrops,
        long identityUnknown,
        long identityDenied) {
    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_group_stats", 56)
                    .u64("packets", 0)
                    .u64("bytes", 8)
                    .u64("copies", 16)
                    .u64("errors", 24)
                    .u64("strict_drops", 32)
                    .u64("identity_unknown", 40)
                    .u64("identity_denied", 48)
                    .build();
    private static final int PACKETS = LAYOUT.u64("packets");
    private static final int BYTES = LAYOUT.u64("bytes");
    private static final int COPIES = LAYOUT.u64("copies");
    private static final int ERRORS = LAYOUT.u64("errors");
    private static final int STRICT_DROPS = LAYOUT.u64("strict_drops");
    private static final int IDENTITY_UNKNOWN = LAYOUT.u64("identity_unknown");
    private static final int IDENTITY_DENIED = LAYOUT.u64("identity_denied");
    public static final GroupStats ZERO = new GroupStats(0, 0, 0, 0, 0, 0, 0);

    /** A group without identity refusals. */
    public GroupStats(long packets, long bytes, long copies, long errors, long strictDrops) {
        this(packets, bytes, copies, errors, strictDrops, 0, 0);
    }

    public static GroupStats sum(List<GroupStats> perCpu) {
        long p = 0, b = 0, c = 0, e = 0, s = 0, u = 0, d = 0;
        for (GroupStats g : perCpu) {
            p += g.packets;
            b += g.bytes;
            c += g.copies;
            e += g.errors;
            s += g.strictDrops;
            u += g.identityUnknown;
            d += g.identityDenied;
        }
        return new GroupStats(p, b, c, e, s, u, d);
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
                    b.putLong(off + IDENTITY_UNKNOWN, g.identityUnknown);
                    b.putLong(off + IDENTITY_DENIED, g.identityDenied);
                }

                @Override
                public GroupStats read(ByteBuffer b, int off) {
                    return new GroupStats(
                            b.getLong(off + PACKETS),
                            b.getLong(off + BYTES),
                            b.getLong(off + COPIES),
                            b.getLong(off + ERRORS),
                            b.getLong(off + STRICT_DROPS),
                            b.getLong(off + IDENTITY_UNKNOWN),
                            b.getLong(off + IDENTITY_DENIED));
                }
            };
}
