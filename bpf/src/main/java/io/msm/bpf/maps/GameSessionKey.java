package io.msm.bpf.maps;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Locale;

/**
 * struct msm_game_session_key: a client session of a game service: by address ({@link #KIND_ADDR}:
 * id0 the client's address as it lies in the packet, id1 its port), by KCP conversation id ({@link
 * #KIND_KCP}: id0) or by routing token ({@link #KIND_TOKEN}: id0 backend, id1 address, id2 port).
 */
public record GameSessionKey(int svcId, int kind, int id0, int id1, int id2, int id3) {
    public static final int KIND_ADDR = 1;
    public static final int KIND_KCP = 2;
    public static final int KIND_TOKEN = 3;

    /** MSM_GAME_KEY_RAKNET: id0, id1 the client GUID's 8 bytes as they lie in the packet. */
    public static final int KIND_RAKNET = 4;

    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_game_session_key", 24)
                    .u32("svc_id", 0)
                    .u32("kind", 4)
                    .member("id", 8, 16)
                    .build();
    private static final int SVC_ID = LAYOUT.u32("svc_id");
    private static final int KIND = LAYOUT.u32("kind");
    private static final int ID = LAYOUT.array("id", 4, 4);

    public static final Codec<GameSessionKey> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, GameSessionKey k) {
                    b.putInt(off + SVC_ID, k.svcId);
                    b.putInt(off + KIND, k.kind);
                    b.putInt(off + ID, k.id0);
                    b.putInt(off + ID + 4, k.id1);
                    b.putInt(off + ID + 8, k.id2);
                    b.putInt(off + ID + 12, k.id3);
                }

                @Override
                public GameSessionKey read(ByteBuffer b, int off) {
                    return new GameSessionKey(
                            b.getInt(off + SVC_ID),
                            b.getInt(off + KIND),
                            b.getInt(off + ID),
                            b.getInt(off + ID + 4),
                            b.getInt(off + ID + 8),
                            b.getInt(off + ID + 12));
                }
            };

    /** How people read the key: "kcp conv 0x1234abcd", "addr", "token". */
    public String describe() {
        return switch (kind) {
            case KIND_KCP -> String.format(Locale.ROOT, "kcp conv %08x", id0);
            case KIND_TOKEN -> "token";
            case KIND_RAKNET -> String.format(Locale.ROOT, "raknet guid %016x", raknetGuid());
            default -> "addr";
        };
    }

    /** A {@link #KIND_RAKNET} key's GUID as RakNet writes it (big endian on the wire). */
    public long raknetGuid() {
        return ByteBuffer.allocate(8)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putInt(id0)
                .putInt(id1)
                .order(ByteOrder.BIG_ENDIAN)
                .getLong(0);
    }
}
