package io.msm.bpf.maps;

import java.net.Inet4Address;
import java.nio.ByteBuffer;

/**
 * struct msm_game_rev_key: a reply's (backend address:port, the session's first client
 * address:port), the key of msm_game_rev.
 */
public record GameRevKey(
        Inet4Address backendAddr, Inet4Address clientAddr, int backendPort, int clientPort) {
    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_game_rev_key", 12)
                    .member("backend_addr", 0, 4)
                    .member("client_addr", 4, 4)
                    .u16("backend_port", 8)
                    .u16("client_port", 10)
                    .build();
    private static final int BACKEND_ADDR = LAYOUT.bytes("backend_addr", 4);
    private static final int CLIENT_ADDR = LAYOUT.bytes("client_addr", 4);
    private static final int BACKEND_PORT = LAYOUT.u16("backend_port");
    private static final int CLIENT_PORT = LAYOUT.u16("client_port");

    public static final Codec<GameRevKey> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, GameRevKey k) {
                    Addr.write4(b, off + BACKEND_ADDR, k.backendAddr);
                    Addr.write4(b, off + CLIENT_ADDR, k.clientAddr);
                    b.putShort(off + BACKEND_PORT, (short) k.backendPort);
                    b.putShort(off + CLIENT_PORT, (short) k.clientPort);
                }

                @Override
                public GameRevKey read(ByteBuffer b, int off) {
                    return new GameRevKey(
                            Addr.read4(b, off + BACKEND_ADDR),
                            Addr.read4(b, off + CLIENT_ADDR),
                            b.getShort(off + BACKEND_PORT) & 0xffff,
                            b.getShort(off + CLIENT_PORT) & 0xffff);
                }
            };
}
