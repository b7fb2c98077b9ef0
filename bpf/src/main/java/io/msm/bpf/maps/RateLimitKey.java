package io.msm.bpf.maps;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * struct msm_ratelimit_key: a source with a new-flow token bucket — an IPv4 address, or an IPv6 /64
 * (the address with its low 64 bits zero), since one host owns a /64 and picks addresses in it
 * freely. {@link #of} maps a packet's source to its key.
 */
public record RateLimitKey(InetAddress source) {
    /** The bucket a packet from {@code addr} is counted in. */
    public static RateLimitKey of(InetAddress addr) {
        if (!(addr instanceof Inet6Address)) {
            return new RateLimitKey(addr);
        }
        byte[] a = Arrays.copyOf(addr.getAddress(), 16);
        Arrays.fill(a, 8, 16, (byte) 0);
        try {
            return new RateLimitKey(InetAddress.getByAddress(a));
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // 16 bytes are always an address
        }
    }

    private static final int PAD_LEN = 3;

    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_ratelimit_key", 20)
                    .u8("family", 0)
                    .pad("pad", 1, PAD_LEN)
                    .member("addr", 4, 16)
                    .build();
    private static final int FAMILY = LAYOUT.u8("family");
    private static final int PAD = LAYOUT.bytes("pad", PAD_LEN);
    private static final int ADDR = LAYOUT.bytes("addr", 16);

    public static final Codec<RateLimitKey> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, RateLimitKey k) {
                    for (int i = 0; i < PAD_LEN; i++) {
                        b.put(off + PAD + i, (byte) 0);
                    }
                    b.put(off + FAMILY, (byte) Addr.family(k.source));
                    Addr.write16(b, off + ADDR, k.source);
                }

                @Override
                public RateLimitKey read(ByteBuffer b, int off) {
                    return new RateLimitKey(Addr.read16(b, off + ADDR, b.get(off + FAMILY) & 0xff));
                }
            };
}
