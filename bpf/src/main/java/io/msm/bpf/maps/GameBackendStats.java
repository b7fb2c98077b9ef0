package io.msm.bpf.maps;

import java.nio.ByteBuffer;
import java.util.List;

/** struct msm_game_be_stats: per-backend counters (per CPU; {@link #sum} adds them). */
public record GameBackendStats(
        long toPackets, long toBytes, long fromPackets, long fromBytes, long sessions) {
    public static final GameBackendStats ZERO = new GameBackendStats(0, 0, 0, 0, 0);

    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_game_be_stats", 40)
                    .u64("to_packets", 0)
                    .u64("to_bytes", 8)
                    .u64("from_packets", 16)
                    .u64("from_bytes", 24)
                    .u64("sessions", 32)
                    .build();
    private static final int TO_PACKETS = LAYOUT.u64("to_packets");
    private static final int TO_BYTES = LAYOUT.u64("to_bytes");
    private static final int FROM_PACKETS = LAYOUT.u64("from_packets");
    private static final int FROM_BYTES = LAYOUT.u64("from_bytes");
    private static final int SESSIONS = LAYOUT.u64("sessions");

    public static GameBackendStats sum(List<GameBackendStats> perCpu) {
        long a = 0, b = 0, c = 0, d = 0, e = 0;
        for (GameBackendStats s : perCpu) {
            a += s.toPackets;
            b += s.toBytes;
            c += s.fromPackets;
            d += s.fromBytes;
            e += s.sessions;
        }
        return new GameBackendStats(a, b, c, d, e);
    }

    public static final Codec<GameBackendStats> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, GameBackendStats s) {
                    b.putLong(off + TO_PACKETS, s.toPackets);
                    b.putLong(off + TO_BYTES, s.toBytes);
                    b.putLong(off + FROM_PACKETS, s.fromPackets);
                    b.putLong(off + FROM_BYTES, s.fromBytes);
                    b.putLong(off + SESSIONS, s.sessions);
                }

                @Override
                public GameBackendStats read(ByteBuffer b, int off) {
                    return new GameBackendStats(
                            b.getLong(off + TO_PACKETS),
                            b.getLong(off + TO_BYTES),
                            b.getLong(off + FROM_PACKETS),
                            b.getLong(off + FROM_BYTES),
                            b.getLong(off + SESSIONS));
                }
            };
}
