package io.msm.bpf.maps;

import java.net.InetAddress;
import java.nio.ByteBuffer;

/** struct msm_flow_key: the 5-tuple. Ports in host order, addresses as {@link InetAddress}. */
public record FlowKey(
        int family, int proto, int sport, int dport, InetAddress src, InetAddress dst) {
    public static final int IPPROTO_TCP = 6;
    public static final int IPPROTO_UDP = 17;

    public static final StructLayout LAYOUT =
            StructLayout.of(
                    "msm_flow_key",
                    40,
                    "family",
                    0,
                    "proto",
                    1,
                    "sport",
                    2,
                    "dport",
                    4,
                    "pad",
                    6,
                    "saddr",
                    8,
                    "daddr",
                    24);

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
                    b.put(off, (byte) k.family);
                    b.put(off + 1, (byte) k.proto);
                    b.putShort(off + 2, (short) k.sport);
                    b.putShort(off + 4, (short) k.dport);
                    Addr.write16(b, off + 8, k.src);
                    Addr.write16(b, off + 24, k.dst);
                }

                @Override
                public FlowKey read(ByteBuffer b, int off) {
                    int family = b.get(off) & 0xff;
                    return new FlowKey(
                            family,
                            b.get(off + 1) & 0xff,
                            b.getShort(off + 2) & 0xffff,
                            b.getShort(off + 4) & 0xffff,
                            Addr.read16(b, off + 8, family),
                            Addr.read16(b, off + 24, family));
                }
            };
}
