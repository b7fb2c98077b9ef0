package io.msm.bpf.maps;

import java.net.InetAddress;
import java.nio.ByteBuffer;

/** struct msm_flow_key: the 5-tuple. Ports in host order, addresses as {@link InetAddress}. */
public record FlowKey(
        int family, int proto, int sport, int dport, InetAddress src, InetAddress dst) {
    public static final int IPPROTO_TCP = 6;
    public static final int IPPROTO_UDP = 17;

    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_flow_key", 40)
                    .u8("family", 0)
                    .u8("proto", 1)
                    .u16("sport", 2)
                    .u16("dport", 4)
                    .pad("pad", 6, 2)
                    .member("saddr", 8, 16)
                    .member("daddr", 24, 16)
                    .build();
    private static final int FAMILY = LAYOUT.u8("family");
    private static final int PROTO = LAYOUT.u8("proto");
    private static final int SPORT = LAYOUT.u16("sport");
    private static final int DPORT = LAYOUT.u16("dport");
    private static final int SADDR = LAYOUT.bytes("saddr", 16);
    private static final int DADDR = LAYOUT.bytes("daddr", 16);

    public static FlowKey udp(InetAddress src, int sport, InetAddress dst, int dport) {
        return new FlowKey(Addr.family(src), IPPROTO_UDP, sport, dport, src, dst);
    }

    public static FlowKey tcp(InetAddress src, int sport, InetAddress dst, int dport) {
        return new FlowKey(Addr.family(src), IPPROTO_TCP, sport, dport, src, dst);
    }

    public String protoName() {
        return proto == IPPROTO_UDP
                ? "udp"
                : proto == IPPROTO_TCP ? "tcp" : Integer.toString(proto);
    }

    public String srcString() {
        return Addr.hostPort(src, sport);
    }

    public String dstString() {
        return Addr.hostPort(dst, dport);
    }

    @Override
    public String toString() {
        return protoName() + " " + srcString() + " -> " + dstString();
    }

    public static final Codec<FlowKey> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, FlowKey k) {
                    for (int i = 0; i < size(); i++) {
                        b.put(off + i, (byte) 0); // padding too: keys are compared bytewise
                    }
                    b.put(off + FAMILY, (byte) k.family);
                    b.put(off + PROTO, (byte) k.proto);
                    b.putShort(off + SPORT, (short) k.sport);
                    b.putShort(off + DPORT, (short) k.dport);
                    Addr.write16(b, off + SADDR, k.src);
                    Addr.write16(b, off + DADDR, k.dst);
                }

                @Override
                public FlowKey read(ByteBuffer b, int off) {
                    int family = b.get(off + FAMILY) & 0xff;
                    return new FlowKey(
                            family,
                            b.get(off + PROTO) & 0xff,
                            b.getShort(off + SPORT) & 0xffff,
                            b.getShort(off + DPORT) & 0xffff,
                            Addr.read16(b, off + SADDR, family),
                            Addr.read16(b, off + DADDR, family));
                }
            };
}
