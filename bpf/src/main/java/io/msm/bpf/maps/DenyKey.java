package io.msm.bpf.maps;

import java.net.InetAddress;
import java.nio.ByteBuffer;

/** struct msm_deny_key: an LPM-trie key for a source prefix (IPv4 or IPv6). */
public record DenyKey(InetAddress prefix, int prefixLen) {
    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_deny_key", 24)
                    .u32("prefixlen", 0)
                    .u8("family", 4)
                    .member("addr", 5, 16)
                    .pad("pad", 21, 3)
                    .build();
    private static final int PREFIXLEN = LAYOUT.u32("prefixlen");
    private static final int FAMILY = LAYOUT.u8("family");
    private static final int ADDR = LAYOUT.bytes("addr", 16);

    public DenyKey {
        int max = Addr.family(prefix) == 6 ? 128 : 32;
        if (prefixLen < 0 || prefixLen > max) {
            throw new IllegalArgumentException(
                    "prefix length must be 0.." + max + ", got " + prefixLen);
        }
    }

    /** Parse "10.1.0.0/16", "2001:db8::/32" or a plain address (host route). */
    public static DenyKey parse(String cidr) {
        String s = cidr.trim();
        int slash = s.indexOf('/');
        InetAddress a = Addr.parse(slash < 0 ? s : s.substring(0, slash));
        int max = Addr.family(a) == 6 ? 128 : 32;
        int len;
        try {
            len = slash < 0 ? max : Integer.parseInt(s.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad prefix length in '" + cidr + "'");
        }
        return new DenyKey(a, len);
    }

    @Override
    public String toString() {
        return prefix.getHostAddress() + "/" + prefixLen;
    }

    public static final Codec<DenyKey> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, DenyKey k) {
                    for (int i = 0; i < size(); i++) {
                        b.put(off + i, (byte) 0);
                    }
                    b.putInt(
                            off + PREFIXLEN,
                            8 + k.prefixLen); // the family byte is part of the matched prefix
                    b.put(off + FAMILY, (byte) Addr.family(k.prefix));
                    byte[] raw = k.prefix.getAddress();
                    for (int i = 0; i < raw.length; i++) {
                        b.put(off + ADDR + i, raw[i]);
                    }
                }

                @Override
                public DenyKey read(ByteBuffer b, int off) {
                    int family = b.get(off + FAMILY) & 0xff;
                    return new DenyKey(
                            Addr.read16(b, off + ADDR, family), b.getInt(off + PREFIXLEN) - 8);
                }
            };
}
