package io.msm.bpf.maps;

import java.net.Inet4Address;
import java.nio.ByteBuffer;

/** struct msm_game_backend: one endpoint of a game service (msm_game_backends, by backend id). */
public record GameBackend(Inet4Address addr, int port, int flags, int svcId) {
    /** MSM_GAME_BE_F_LIVE: takes new sessions. */
    public static final int F_LIVE = 1;

    /** MSM_GAME_BE_F_DRAINING: keeps its sessions, takes no new ones. */
    public static final int F_DRAINING = 2;

    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_game_backend", 16)
                    .member("addr", 0, 4)
                    .u16("port", 4)
                    .pad("pad", 6, 2)
                    .u32("flags", 8)
                    .u32("svc_id", 12)
                    .build();
    private static final int ADDR = LAYOUT.bytes("addr", 4);
    private static final int PORT = LAYOUT.u16("port");
    private static final int PAD = LAYOUT.u16("pad");
    private static final int FLAGS = LAYOUT.u32("flags");
    private static final int SVC_ID = LAYOUT.u32("svc_id");

    public static final Codec<GameBackend> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, GameBackend e) {
                    Addr.write4(b, off + ADDR, e.addr);
                    b.putShort(off + PORT, (short) e.port);
                    b.putShort(off + PAD, (short) 0);
                    b.putInt(off + FLAGS, e.flags);
                    b.putInt(off + SVC_ID, e.svcId);
                }

                @Override
                public GameBackend read(ByteBuffer b, int off) {
                    return new GameBackend(
                            Addr.read4(b, off + ADDR),
                            b.getShort(off + PORT) & 0xffff,
                            b.getInt(off + FLAGS),
                            b.getInt(off + SVC_ID));
                }
            };

    @Override
    public String toString() {
        return Addr.hostPort(addr, port);
    }
}
