package io.msm.bpf.maps;

import java.nio.ByteBuffer;
import java.util.List;

/** struct msm_game_svc_stats: per-service counters (per CPU; {@link #sum} adds them). */
public record GameServiceStats(
        long packets,
        long bytes,
        long sessions,
        long rebinds,
        long noBackend,
        long tokenUnknown,
        long errors,
        long rebindRefused) {
    public static final GameServiceStats ZERO = new GameServiceStats(0, 0, 0, 0, 0, 0, 0, 0);

    /** Without refused rebindings. */
    public GameServiceStats(
            long packets,
            long bytes,
            long sessions,
            long rebinds,
            long noBackend,
            long tokenUnknown,
            long errors) {
        this(packets, bytes, sessions, rebinds, noBackend, tokenUnknown, errors, 0);
    }

    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_game_svc_stats", 64)
                    .u64("packets", 0)
                    .u64("bytes", 8)
                    .u64("sessions", 16)
                    .u64("rebinds", 24)
                    .u64("no_backend", 32)
                    .u64("token_unknown", 40)
                    .u64("errors", 48)
                    .u64("rebind_refused", 56)
                    .build();
    private static final int PACKETS = LAYOUT.u64("packets");
    private static final int BYTES = LAYOUT.u64("bytes");
    private static final int SESSIONS = LAYOUT.u64("sessions");
    private static final int REBINDS = LAYOUT.u64("rebinds");
    private static final int NO_BACKEND = LAYOUT.u64("no_backend");
    private static final int TOKEN_UNKNOWN = LAYOUT.u64("token_unknown");
    private static final int ERRORS = LAYOUT.u64("errors");
    private static final int REBIND_REFUSED = LAYOUT.u64("rebind_refused");

    public static GameServiceStats sum(List<GameServiceStats> perCpu) {
        long[] t = new long[8];
        for (GameServiceStats s : perCpu) {
            t[0] += s.packets;
            t[1] += s.bytes;
            t[2] += s.sessions;
            t[3] += s.rebinds;
            t[4] += s.noBackend;
            t[5] += s.tokenUnknown;
            t[6] += s.errors;
            t[7] += s.rebindRefused;
        }
        return new GameServiceStats(t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]);
    }

    public static final Codec<GameServiceStats> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, GameServiceStats s) {
                    b.putLong(off + PACKETS, s.packets);
                    b.putLong(off + BYTES, s.bytes);
                    b.putLong(off + SESSIONS, s.sessions);
                    b.putLong(off + REBINDS, s.rebinds);
                    b.putLong(off + NO_BACKEND, s.noBackend);
                    b.putLong(off + TOKEN_UNKNOWN, s.tokenUnknown);
                    b.putLong(off + ERRORS, s.errors);
                    b.putLong(off + REBIND_REFUSED, s.rebindRefused);
                }

                @Override
                public GameServiceStats read(ByteBuffer b, int off) {
                    return new GameServiceStats(
                            b.getLong(off + PACKETS),
                            b.getLong(off + BYTES),
                            b.getLong(off + SESSIONS),
                            b.getLong(off + REBINDS),
                            b.getLong(off + NO_BACKEND),
                            b.getLong(off + TOKEN_UNKNOWN),
                            b.getLong(off + ERRORS),
                            b.getLong(off + REBIND_REFUSED));
                }
            };
}
