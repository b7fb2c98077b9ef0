package io.msm.bpf.maps;

import java.nio.ByteBuffer;
import java.util.HexFormat;

/** struct msm_meta: identity of the pinned datapath state. */
public record Meta(int magic, int layoutVersion, long createdNs, byte[] objectSha256) {
    public static final int MAGIC = 0x314d534d;

    /** MSM_LAYOUT_VERSION this Java code understands. */
    public static final int LAYOUT_VERSION = 2;

    public static final StructLayout LAYOUT =
            StructLayout.of(
                    "msm_meta",
                    48,
                    "magic",
                    0,
                    "layout_version",
                    4,
                    "created_ns",
                    8,
                    "object_sha256",
                    16);

    public boolean written() {
        return magic == MAGIC;
    }

    public String shaHex() {
        return HexFormat.of().formatHex(objectSha256);
    }

    public static final Codec<Meta> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, Meta m) {
                    b.putInt(off, m.magic);
                    b.putInt(off + 4, m.layoutVersion);
                    b.putLong(off + 8, m.createdNs);
                    for (int i = 0; i < 32; i++) {
                        b.put(off + 16 + i, i < m.objectSha256.length ? m.objectSha256[i] : 0);
                    }
                }

                @Override
                public Meta read(ByteBuffer b, int off) {
                    byte[] sha = new byte[32];
                    for (int i = 0; i < 32; i++) {
                        sha[i] = b.get(off + 16 + i);
                    }
                    return new Meta(b.getInt(off), b.getInt(off + 4), b.getLong(off + 8), sha);
                }
            };
}
