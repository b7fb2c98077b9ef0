package io.msm.bpf.maps;

import java.nio.ByteBuffer;

/**
 * struct msm_allow_key: an entry of msm_group_allow — workload identity {@code identity} ({@link
 * SourceIdentity#WORLD}: senders with none) may feed fan-out group {@code groupId} (groups with
 * {@link FanoutGroup#F_IDENTITY}). The value is 1.
 */
public record AllowKey(int groupId, int identity) {
    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_allow_key", 8).u32("group_id", 0).u32("identity", 4).build();
    private static final int GROUP_ID = LAYOUT.u32("group_id");
    private static final int IDENTITY = LAYOUT.u32("identity");

    public static final Codec<AllowKey> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, AllowKey k) {
                    b.putInt(off + GROUP_ID, k.groupId);
                    b.putInt(off + IDENTITY, k.identity);
                }

                @Override
                public AllowKey read(ByteBuffer b, int off) {
                    return new AllowKey(b.getInt(off + GROUP_ID), b.getInt(off + IDENTITY));
                }
            };
}
