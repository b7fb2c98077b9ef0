package io.msm.bpf.maps;

import java.nio.ByteBuffer;
import java.util.Arrays;

/** struct msm_game_token_key: a routing token of a game service (msm_game_tokens -> backend). */
public record GameTokenKey(int svcId, byte[] token) {
    public GameTokenKey {
        if (token.length < 1 || token.length > GameService.TOKEN_MAX) {
            throw new IllegalArgumentException("token of " + token.length + " bytes");
        }
        token = token.clone();
    }

    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_game_token_key", 20)
                    .u32("svc_id", 0)
                    .member("token", 4, GameService.TOKEN_MAX)
                    .build();
    private static final int SVC_ID = LAYOUT.u32("svc_id");
    private static final int TOKEN = LAYOUT.bytes("token", GameService.TOKEN_MAX);

    public static final Codec<GameTokenKey> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, GameTokenKey k) {
                    b.putInt(off + SVC_ID, k.svcId);
                    for (int i = 0; i < GameService.TOKEN_MAX; i++) {
                        b.put(off + TOKEN + i, i < k.token.length ? k.token[i] : 0);
                    }
                }

                @Override
                public GameTokenKey read(ByteBuffer b, int off) {
                    byte[] t = new byte[GameService.TOKEN_MAX];
                    int n = 0;
                    for (int i = 0; i < t.length; i++) {
                        t[i] = b.get(off + TOKEN + i);
                        if (t[i] != 0) {
                            n = i + 1;
                        }
                    }
                    return new GameTokenKey(
                            b.getInt(off + SVC_ID), Arrays.copyOf(t, Math.max(n, 1)));
                }
            };

    @Override
    public boolean equals(Object o) {
        return o instanceof GameTokenKey k && k.svcId == svcId && Arrays.equals(k.token, token);
    }

    @Override
    public int hashCode() {
        return 31 * svcId + Arrays.hashCode(token);
    }

    @Override
    public String toString() {
        return "GameTokenKey[" + svcId + ", " + token.length + " bytes]";
    }
}
