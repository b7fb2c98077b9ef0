package io.msm.bpf.maps;

import java.net.Inet4Address;
import java.nio.ByteBuffer;

/** struct msm_fanout_key: the upstream flow a group replicates (UDP to addr:port). */
public record FanoutKey(Inet4Address addr, int port) {
    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_fanout_key", 20)
                    .u8("family", 0)
                    .u8("proto", 1)
                    .u16("port", 2)
                    .member("addr", 4, 16)
                    .build();
    private static final int FAMILY = LAYOUT.u8("family");
    private static final int PROTO = LAYOUT.u8("proto");
    private static final int PORT = LAYOUT.u16("port");
    private static final int ADDR = LAYOUT.bytes("addr", 16);

    public FanoutKey {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port must be 1..65535, got " + port);
        }
    }

    @Override
    public String toString() {
        return Addr.hostPort(addr, port);
    }

    public static final Codec<FanoutKey> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, FanoutKey k) {
                    for (int i = 0; i < size(); i++) {
                        b.put(off + i, (byte) 0);
                    }
                    b.put(off + FAMILY, (byte) Addr.FAMILY_IPV4);
                    b.put(off + PROTO, (byte) FlowKey.IPPROTO_UDP);
                    b.putShort(off + PORT, (short) k.port);
                    Addr.write4(b, off + ADDR, k.addr);
                }

                @Override
                public FanoutKey read(ByteBuffer b, int off) {
                    return new FanoutKey(
                            Addr.read4(b, off + ADDR), b.getShort(off + PORT) & 0xffff);
                }
            };
}
