package io.msm.bpf.maps;

import java.nio.ByteBuffer;

/**
 * struct msm_source_identity: the workload identity of an address in msm_identities (never {@link
 * #WORLD}: an address without one is not in the map).
 */
public record SourceIdentity(int identity) {
    /** MSM_IDENTITY_WORLD: an address with no identity. */
    public static final int WORLD = 0;

    /** MSM_IDENTITY_NAME_LEN: bytes of an identity's name in msm_identity_names, NUL included. */
    public static final int NAME_LEN = 256;

    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_source_identity", 8)
                    .u32("identity", 0)
                    .pad("pad", 4, 4)
                    .build();
    private static final int IDENTITY = LAYOUT.u32("identity");
    private static final int PAD = LAYOUT.u32("pad");

    public static final Codec<SourceIdentity> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, SourceIdentity s) {
                    b.putInt(off + IDENTITY, s.identity);
                    b.putInt(off + PAD, 0);
                }

                @Override
                public SourceIdentity read(ByteBuffer b, int off) {
                    return new SourceIdentity(b.getInt(off + IDENTITY));
                }
            };
}
