package io.msm.bpf.maps;

import java.net.Inet4Address;
import java.nio.ByteBuffer;

/**
 * struct msm_game_rev: the session a reply belongs to and the service address:port it is sent from
 * (msm_game_rev, by {@link GameRevKey}).
 */
public record GameRev(GameSessionKey session, Inet4Address svcAddr, int svcPort) {
    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_game_rev", 32)
                    .member("session", 0, 24)
                    .member("svc_addr", 24, 4)
                    .u16("svc_port", 28)
                    .pad("pad", 30, 2)
                    .build();
    private static final int SESSION = LAYOUT.bytes("session", 24);
    private static final int SVC_ADDR = LAYOUT.bytes("svc_addr", 4);
    private static final int SVC_PORT = LAYOUT.u16("svc_port");
    private static final int PAD = LAYOUT.u16("pad");

    public static final Codec<GameRev> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, GameRev r) {
                    GameSessionKey.CODEC.write(b, off + SESSION, r.session);
                    Addr.write4(b, off + SVC_ADDR, r.svcAddr);
                    b.putShort(off + SVC_PORT, (short) r.svcPort);
                    b.putShort(off + PAD, (short) 0);
                }

                @Override
                public GameRev read(ByteBuffer b, int off) {
                    return new GameRev(
                            GameSessionKey.CODEC.read(b, off + SESSION),
                            Addr.read4(b, off + SVC_ADDR),
                            b.getShort(off + SVC_PORT) & 0xffff);
                }
            };
}
