package io.msm.bpf.maps;

import java.net.Inet4Address;
import java.nio.ByteBuffer;

/**
 * struct msm_game_session: the backend a client session is pinned to, the client's first address
 * (what the backend sees) and current address (where replies go), and counters.
 */
public record GameSession(
        int backend,
        Inet4Address origAddr,
        int origPort,
        Inet4Address curAddr,
        int curPort,
        long firstNs,
        long lastNs,
        long packetsIn,
        long packetsOut,
        int rebinds) {
    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_game_session", 64)
                    .u32("backend", 0)
                    .member("orig_addr", 4, 4)
                    .member("cur_addr", 8, 4)
                    .u16("orig_port", 12)
                    .u16("cur_port", 14)
                    .u64("first_ns", 16)
                    .u64("last_ns", 24)
                    .u64("packets_in", 32)
                    .u64("packets_out", 40)
                    .u32("rebinds", 48)
                    .member("cand_addr", 52, 4)
                    .u16("cand_port", 56)
                    .u16("cand_packets", 58)
                    .pad("pad", 60, 4)
                    .build();
    private static final int BACKEND = LAYOUT.u32("backend");
    private static final int ORIG_ADDR = LAYOUT.bytes("orig_addr", 4);
    private static final int CUR_ADDR = LAYOUT.bytes("cur_addr", 4);
    private static final int ORIG_PORT = LAYOUT.u16("orig_port");
    private static final int CUR_PORT = LAYOUT.u16("cur_port");
    private static final int FIRST_NS = LAYOUT.u64("first_ns");
    private static final int LAST_NS = LAYOUT.u64("last_ns");
    private static final int PACKETS_IN = LAYOUT.u64("packets_in");
    private static final int PACKETS_OUT = LAYOUT.u64("packets_out");
    private static final int REBINDS = LAYOUT.u32("rebinds");
    private static final int CAND_ADDR = LAYOUT.bytes("cand_addr", 4);
    private static final int CAND_PORT = LAYOUT.u16("cand_port");
    private static final int CAND_PACKETS = LAYOUT.u16("cand_packets");
    private static final int PAD = LAYOUT.u32("pad");

    public static final Codec<GameSession> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, GameSession s) {
                    b.putInt(off + BACKEND, s.backend);
                    Addr.write4(b, off + ORIG_ADDR, s.origAddr);
                    Addr.write4(b, off + CUR_ADDR, s.curAddr);
                    b.putShort(off + ORIG_PORT, (short) s.origPort);
                    b.putShort(off + CUR_PORT, (short) s.curPort);
                    b.putLong(off + FIRST_NS, s.firstNs);
                    b.putLong(off + LAST_NS, s.lastNs);
                    b.putLong(off + PACKETS_IN, s.packetsIn);
                    b.putLong(off + PACKETS_OUT, s.packetsOut);
                    b.putInt(off + REBINDS, s.rebinds);
                    // a rebinding being confirmed: kernel state, starts empty
                    b.putInt(off + CAND_ADDR, 0);
                    b.putShort(off + CAND_PORT, (short) 0);
                    b.putShort(off + CAND_PACKETS, (short) 0);
                    b.putInt(off + PAD, 0);
                }

                @Override
                public GameSession read(ByteBuffer b, int off) {
                    return new GameSession(
                            b.getInt(off + BACKEND),
                            Addr.read4(b, off + ORIG_ADDR),
                            b.getShort(off + ORIG_PORT) & 0xffff,
                            Addr.read4(b, off + CUR_ADDR),
                            b.getShort(off + CUR_PORT) & 0xffff,
                            b.getLong(off + FIRST_NS),
                            b.getLong(off + LAST_NS),
                            b.getLong(off + PACKETS_IN),
                            b.getLong(off + PACKETS_OUT),
                            b.getInt(off + REBINDS));
                }
            };
}
