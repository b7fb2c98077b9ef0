package io.msm.bpf.maps;

import java.net.InetAddress;
import java.nio.ByteBuffer;

/** struct msm_ratelimit_key: a source address with a token bucket. */
public record RateLimitKey(InetAddress source) {
    public static final StructLayout LAYOUT =
            StructLayout.of("msm_ratelimit_key", 20, "family", 0, "pad", 1, "addr", 4);

    public static final Codec<RateLimitKey> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, RateLimitKey k) {
                    for (int i = 0; i < 4; i++) {
                        b.put(off + i, (byte) 0);
                    }
                    b.put(off, (byte) Addr.family(k.source));
                    Addr.write16(b, off + 4, k.source);
                }

                @Override
                public RateLimitKey read(ByteBuffer b, int off) {
                    return new RateLimitKey(Addr.read16(b, off + 4, b.get(off) & 0xff));
                }
            };
}
