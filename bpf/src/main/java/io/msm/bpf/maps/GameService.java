package io.msm.bpf.maps;

import java.nio.ByteBuffer;

/**
 * struct msm_game_svc: a game service (msm_game_services): its id (row of the Maglev table, index
 * of its stats), how sessions are keyed, who may move a session's replies to a new client address
 * (rebind: REBIND_*, after rebindConfirm packets in a row from it), and the idle time after which a
 * session picks again.
 */
public record GameService(
        int svcId,
        int flags,
        int keyOff,
        int tokenLen,
        int rebind,
        int rebindConfirm,
        long idleNs) {
    /** Rebinding by port only ({@link #REBIND_PORT}), replies move at the first packet. */
    public GameService(int svcId, int flags, int keyOff, int tokenLen, long idleNs) {
        this(svcId, flags, keyOff, tokenLen, REBIND_PORT, 0, idleNs);
    }

    /** MSM_GAME_REBIND_PORT: a session's replies may move to another port of its first IP. */
    public static final int REBIND_PORT = 0;

    /** MSM_GAME_REBIND_PREFIX: ... to another address of its first address's IPv4 /24. */
    public static final int REBIND_PREFIX = 1;

    /** MSM_GAME_REBIND_ANY: ... anywhere (unsafe: a guessed session id takes the replies). */
    public static final int REBIND_ANY = 2;

    /** MSM_GAME_REBIND_NONE: never; packets from another address:port are dropped. */
    public static final int REBIND_NONE = 3;

    /** MSM_GAME_F_KCP: the session key is the KCP conversation id at keyOff of the payload. */
    public static final int F_KCP = 1;

    /** MSM_GAME_F_TOKEN: the last tokenLen bytes of the payload name the backend. */
    public static final int F_TOKEN = 2;

    /**
     * MSM_GAME_F_RAKNET: the client GUID of RakNet's Open Connection Request 2 picks the backend (a
     * {@link GameSessionKey#KIND_RAKNET} session); the client's address session follows it, also
     * when the client reconnects from another address:port.
     */
    public static final int F_RAKNET = 4;

    /** MSM_GAME_MAGLEV_SIZE: slots per service (prime). */
    public static final int MAGLEV_SIZE = 16381;

    /** MSM_GAME_MAX_SERVICES: service ids 0..n-1. */
    public static final int MAX_SERVICES = 64;

    /** MSM_GAME_MAX_BACKENDS: backend ids 0..n-1. */
    public static final int MAX_BACKENDS = 4096;

    /** MSM_GAME_TOKEN_MAX: longest routing token. */
    public static final int TOKEN_MAX = 16;

    /** MSM_GAME_NO_BACKEND: an empty Maglev slot. */
    public static final int NO_BACKEND = 0xffffffff;

    /** MSM_DEFAULT_GAME_SERVICES / _SESSIONS / _TOKENS: map sizes. */
    public static final int DEFAULT_SERVICES = 256;

    public static final int DEFAULT_SESSIONS = 65536;
    public static final int DEFAULT_TOKENS = 16384;

    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_game_svc", 24)
                    .u32("svc_id", 0)
                    .u32("flags", 4)
                    .u16("key_off", 8)
                    .u8("token_len", 10)
                    .u8("rebind", 11)
                    .u16("rebind_confirm", 12)
                    .pad("pad", 14, 2)
                    .u64("idle_ns", 16)
                    .build();
    private static final int SVC_ID = LAYOUT.u32("svc_id");
    private static final int FLAGS = LAYOUT.u32("flags");
    private static final int KEY_OFF = LAYOUT.u16("key_off");
    private static final int TOKEN_LEN = LAYOUT.u8("token_len");
    private static final int REBIND = LAYOUT.u8("rebind");
    private static final int REBIND_CONFIRM = LAYOUT.u16("rebind_confirm");
    private static final int PAD = LAYOUT.u16("pad");
    private static final int IDLE_NS = LAYOUT.u64("idle_ns");

    public static final Codec<GameService> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, GameService s) {
                    b.putInt(off + SVC_ID, s.svcId);
                    b.putInt(off + FLAGS, s.flags);
                    b.putShort(off + KEY_OFF, (short) s.keyOff);
                    b.put(off + TOKEN_LEN, (byte) s.tokenLen);
                    b.put(off + REBIND, (byte) s.rebind);
                    b.putShort(off + REBIND_CONFIRM, (short) s.rebindConfirm);
                    b.putShort(off + PAD, (short) 0);
                    b.putLong(off + IDLE_NS, s.idleNs);
                }

                @Override
                public GameService read(ByteBuffer b, int off) {
                    return new GameService(
                            b.getInt(off + SVC_ID),
                            b.getInt(off + FLAGS),
                            b.getShort(off + KEY_OFF) & 0xffff,
                            b.get(off + TOKEN_LEN) & 0xff,
                            b.get(off + REBIND) & 0xff,
                            b.getShort(off + REBIND_CONFIRM) & 0xffff,
                            b.getLong(off + IDLE_NS));
                }
            };
}
