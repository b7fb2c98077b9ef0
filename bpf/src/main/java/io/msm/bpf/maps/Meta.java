package io.msm.bpf.maps;

import java.nio.ByteBuffer;
import java.util.HexFormat;

/** struct msm_meta: identity of the pinned datapath state. */
public record Meta(int magic, int layoutVersion, long createdNs, byte[] objectSha256) {
    public static final int MAGIC = 0x314d534d;

    /** MSM_LAYOUT_VERSION this Java code understands. */
    public static final int LAYOUT_VERSION = 7;

    private static final int SHA256_LEN = 32;

    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_meta", 48)
                    .u32("magic", 0)
                    .u32("layout_version", 4)
                    .u64("created_ns", 8)
                    .member("object_sha256", 16, SHA256_LEN)
                    .build();
    private static final int MAGIC_OFF = LAYOUT.u32("magic");
    private static final int LAYOUT_VERSION_OFF = LAYOUT.u32("layout_version");
    private static final int CREATED_NS = LAYOUT.u64("created_ns");
    private static final int OBJECT_SHA256 = LAYOUT.bytes("object_sha256", SHA256_LEN);

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
                    b.putInt(off + MAGIC_OFF, m.magic);
                    b.putInt(off + LAYOUT_VERSION_OFF, m.layoutVersion);
                    b.putLong(off + CREATED_NS, m.createdNs);
                    for (int i = 0; i < SHA256_LEN; i++) {
                        b.put(
                                off + OBJECT_SHA256 + i,
                                i < m.objectSha256.length ? m.objectSha256[i] : 0);
                    }
                }

                @Override
                public Meta read(ByteBuffer b, int off) {
                    byte[] sha = new byte[SHA256_LEN];
                    for (int i = 0; i < SHA256_LEN; i++) {
                        sha[i] = b.get(off + OBJECT_SHA256 + i);
                    }
                    return new Meta(
                            b.getInt(off + MAGIC_OFF),
                            b.getInt(off + LAYOUT_VERSION_OFF),
                            b.getLong(off + CREATED_NS),
                            sha);
                }
            };
}
