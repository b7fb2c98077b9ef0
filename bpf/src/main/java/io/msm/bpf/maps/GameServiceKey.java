package io.msm.bpf.maps;

import java.net.Inet4Address;
import java.nio.ByteBuffer;

/** struct msm_game_svc_key: a game service's IPv4 address and UDP port (msm_game_services). */
public record GameServiceKey(Inet4Address addr, int port) {
    private static final int IPPROTO_UDP = 17;

    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_game_svc_key", 8)
                    .member("addr", 0, 4)
                    .u16("port", 4)
                    .u8("proto", 6)
                    .pad("pad", 7, 1)
                    .build();
    private static final int ADDR = LAYOUT.bytes("addr", 4);
    private static final int PORT = LAYOUT.u16("port");
    private static final int PROTO = LAYOUT.u8("proto");
    private static final int PAD = LAYOUT.bytes("pad", 1);

    public static final Codec<GameServiceKey> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, GameServiceKey k) {
                    Addr.write4(b, off + ADDR, k.addr);
                    b.putShort(off + PORT, (short) k.port);
                    b.put(off + PROTO, (byte) IPPROTO_UDP);
                    b.put(off + PAD, (byte) 0);
                }

                @Override
                public GameServiceKey read(ByteBuffer b, int off) {
                    return new GameServiceKey(
                            Addr.read4(b, off + ADDR), b.getShort(off + PORT) & 0xffff);
                }
            };

    @Override
    public String toString() {
        return Addr.hostPort(addr, port);
    }
}
