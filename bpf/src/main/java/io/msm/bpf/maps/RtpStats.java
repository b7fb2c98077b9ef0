package io.msm.bpf.maps;

import java.nio.ByteBuffer;

/**
 * struct msm_rtp_stats: the RFC 3550 receiver state the kernel keeps for an RTP flow, with the
 * derived A.3 figures.
 */
public record RtpStats(
        long ssrc,
        int pt,
        int probation,
        int maxSeq,
        long cycles,
        long baseSeq,
        long badSeq,
        long received,
        long late,
        long transit,
        long jitter,
        long clockRate,
        int flags) {
    public static final int F_INIT = 1;
    public static final int F_TRANSIT = 2;

    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_rtp_stats", 48)
                    .u32("ssrc", 0)
                    .u8("pt", 4)
                    .u8("probation", 5)
                    .u16("max_seq", 6)
                    .u32("cycles", 8)
                    .u32("base_seq", 12)
                    .u32("bad_seq", 16)
                    .u32("received", 20)
                    .u32("late", 24)
                    .u32("transit", 28)
                    .u32("jitter", 32)
                    .u32("clock_rate", 36)
                    .u32("flags", 40)
                    .pad("pad", 44, 4)
                    .build();
    private static final int SSRC = LAYOUT.u32("ssrc");
    private static final int PT = LAYOUT.u8("pt");
    private static final int PROBATION = LAYOUT.u8("probation");
    private static final int MAX_SEQ = LAYOUT.u16("max_seq");
    private static final int CYCLES = LAYOUT.u32("cycles");
    private static final int BASE_SEQ = LAYOUT.u32("base_seq");
    private static final int BAD_SEQ = LAYOUT.u32("bad_seq");
    private static final int RECEIVED = LAYOUT.u32("received");
    private static final int LATE = LAYOUT.u32("late");
    private static final int TRANSIT = LAYOUT.u32("transit");
    private static final int JITTER = LAYOUT.u32("jitter");
    private static final int CLOCK_RATE = LAYOUT.u32("clock_rate");
    private static final int FLAGS = LAYOUT.u32("flags");
    private static final int PAD = LAYOUT.u32("pad");

    public static final RtpStats EMPTY = new RtpStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    public boolean initialised() {
        return (flags & F_INIT) != 0;
    }

    /** A.3: extended highest sequence number received. */
    public long extendedHighestSeq() {
        return cycles + maxSeq;
    }

    /** A.3: packets expected since the base sequence number. */
    public long expected() {
        return extendedHighestSeq() - baseSeq + 1;
    }

    /** A.3: cumulative number of packets lost (negative with duplicates). */
    public long lost() {
        return received == 0 ? 0 : expected() - received;
    }

    /** A.8 jitter in RTP timestamp units (the kernel keeps it scaled by 16). */
    public double jitterUnits() {
        return jitter / 16.0;
    }

    /** A.8 jitter in milliseconds, by this flow's clock rate. */
    public double jitterMs() {
        return clockRate == 0 ? 0 : jitterUnits() * 1000.0 / clockRate;
    }

    static void write(ByteBuffer b, int off, RtpStats s) {
        b.putInt(off + SSRC, (int) s.ssrc);
        b.put(off + PT, (byte) s.pt);
        b.put(off + PROBATION, (byte) s.probation);
        b.putShort(off + MAX_SEQ, (short) s.maxSeq);
        b.putInt(off + CYCLES, (int) s.cycles);
        b.putInt(off + BASE_SEQ, (int) s.baseSeq);
        b.putInt(off + BAD_SEQ, (int) s.badSeq);
        b.putInt(off + RECEIVED, (int) s.received);
        b.putInt(off + LATE, (int) s.late);
        b.putInt(off + TRANSIT, (int) s.transit);
        b.putInt(off + JITTER, (int) s.jitter);
        b.putInt(off + CLOCK_RATE, (int) s.clockRate);
        b.putInt(off + FLAGS, s.flags);
        b.putInt(off + PAD, 0);
    }

    static RtpStats read(ByteBuffer b, int off) {
        return new RtpStats(
                b.getInt(off + SSRC) & 0xffffffffL,
                b.get(off + PT) & 0xff,
                b.get(off + PROBATION) & 0xff,
                b.getShort(off + MAX_SEQ) & 0xffff,
                b.getInt(off + CYCLES) & 0xffffffffL,
                b.getInt(off + BASE_SEQ) & 0xffffffffL,
                b.getInt(off + BAD_SEQ) & 0xffffffffL,
                b.getInt(off + RECEIVED) & 0xffffffffL,
                b.getInt(off + LATE) & 0xffffffffL,
                b.getInt(off + TRANSIT) & 0xffffffffL,
                b.getInt(off + JITTER) & 0xffffffffL,
                b.getInt(off + CLOCK_RATE) & 0xffffffffL,
                b.getInt(off + FLAGS));
    }
}
