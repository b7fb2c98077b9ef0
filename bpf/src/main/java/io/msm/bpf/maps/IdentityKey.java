package io.msm.bpf.maps;

import java.net.InetAddress;
import java.nio.ByteBuffer;

/**
 * struct msm_identity_key: one source address (IPv4 or IPv6, not a prefix) in msm_identities, the
 * map of which workload identity an address belongs to.
 */
public record IdentityKey(InetAddress addr) {
    private static final int PAD_LEN = 3;

    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_identity_key", 20)
                    .u8("family", 0)
                    .pad("pad", 1, PAD_LEN)
                    .member("addr", 4, 16)
                    .build();
    private static final int FAMILY = LAYOUT.u8("family");
    private static final int PAD = LAYOUT.bytes("pad", PAD_LEN);
    private static final int ADDR = LAYOUT.bytes("addr", 16);

    public static final Codec<IdentityKey> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, IdentityKey k) {
                    for (int i = 0; i < PAD_LEN; i++) {
                        b.put(off + PAD + i, (byte) 0);
                    }
                    b.put(off + FAMILY, (byte) Addr.family(k.addr));
                    Addr.write16(b, off + ADDR, k.addr);
                }

                @Override
                public IdentityKey read(ByteBuffer b, int off) {
                    return new IdentityKey(Addr.read16(b, off + ADDR, b.get(off + FAMILY) & 0xff));
                }
            };
}
