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
            StructLayout.of(
                    "msm_rtp_stats",
                    48,
                    "ssrc",
                    0,
                    "pt",
                    4,
                    "probation",
                    5,
                    "max_seq",
                    6,
                    "cycles",
                    8,
                    "base_seq",
                    12,
                    "bad_seq",
                    16,
                    "received",
                    20,
                    "late",
                    24,
                    "transit",
                    28,
                    "jitter",
                    32,
                    "clock_rate",
                    36,
                    "flags",
                    40,
                    "pad",
                    44);

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
        b.putInt(off, (int) s.ssrc);
        b.put(off + 4, (byte) s.pt);
        b.put(off + 5, (byte) s.probation);
        b.putShort(off + 6, (short) s.maxSeq);
        b.putInt(off + 8, (int) s.cycles);
        b.putInt(off + 12, (int) s.baseSeq);
        b.putInt(off + 16, (int) s.badSeq);
        b.putInt(off + 20, (int) s.received);
        b.putInt(off + 24, (int) s.late);
        b.putInt(off + 28, (int) s.transit);
        b.putInt(off + 32, (int) s.jitter);
        b.putInt(off + 36, (int) s.clockRate);
        b.putInt(off + 40, s.flags);
        b.putInt(off + 44, 0);
    }

    static RtpStats read(ByteBuffer b, int off) {
        return new RtpStats(
                b.getInt(off) & 0xffffffffL,
                b.get(off + 4) & 0xff,
                b.get(off + 5) & 0xff,
                b.getShort(off + 6) & 0xffff,
                b.getInt(off + 8) & 0xffffffffL,
                b.getInt(off + 12) & 0xffffffffL,
                b.getInt(off + 16) & 0xffffffffL,
                b.getInt(off + 20) & 0xffffffffL,
                b.getInt(off + 24) & 0xffffffffL,
                b.getInt(off + 28) & 0xffffffffL,
                b.getInt(off + 32) & 0xffffffffL,
                b.getInt(off + 36) & 0xffffffffL,
                b.getInt(off + 40));
    }
}
