package io.msm.bpf.maps;

import java.net.Inet4Address;
import java.nio.ByteBuffer;

/** struct msm_fanout_key: the upstream flow a group replicates (UDP to addr:port). */
public record FanoutKey(Inet4Address addr, int port) {
    public static final StructLayout LAYOUT =
            StructLayout.of("msm_fanout_key", 20, "family", 0, "proto", 1, "port", 2, "addr", 4);

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
                    b.put(off, (byte) 4);
                    b.put(off + 1, (byte) FlowKey.IPPROTO_UDP);
                    b.putShort(off + 2, (short) k.port);
                    Addr.write4(b, off + 4, k.addr);
                }

                @Override
                public FanoutKey read(ByteBuffer b, int off) {
                    return new FanoutKey(Addr.read4(b, off + 4), b.getShort(off + 2) & 0xffff);
                }
            };
}
