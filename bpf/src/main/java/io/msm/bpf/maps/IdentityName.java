package io.msm.bpf.maps;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * struct msm_identity_name: the SPIFFE ID of a numeric workload identity, for 'msm fanout' and 'msm
 * flows' (no program reads it). Longer names are cut to {@link SourceIdentity#NAME_LEN} - 1 bytes.
 */
public record IdentityName(String name) {
    private static final int LEN = SourceIdentity.NAME_LEN;
    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_identity_name", LEN).member("name", 0, LEN).build();
    private static final int NAME = LAYOUT.bytes("name", LEN);

    public static final Codec<IdentityName> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, IdentityName v) {
                    byte[] s =
                            v.name == null ? new byte[0] : v.name.getBytes(StandardCharsets.UTF_8);
                    int n = Math.min(s.length, LEN - 1);
                    for (int i = 0; i < LEN; i++) {
                        b.put(off + NAME + i, i < n ? s[i] : 0);
                    }
                }

                @Override
                public IdentityName read(ByteBuffer b, int off) {
                    int n = 0;
                    while (n < LEN && b.get(off + NAME + n) != 0) {
                        n++;
                    }
                    byte[] s = new byte[n];
                    for (int i = 0; i < n; i++) {
                        s[i] = b.get(off + NAME + i);
                    }
                    return new IdentityName(new String(s, StandardCharsets.UTF_8));
                }
            };
}
