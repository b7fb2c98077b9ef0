package io.msm.bpf.rtp;

import java.util.function.IntToLongFunction;

/**
 * RFC 3550 receiver statistics in plain Java: A.1 sequence validation, A.3 extended sequence and
 * loss, A.8 interarrival jitter. The same integer arithmetic as the kernel's msm_rtp.h, so the two
 * agree packet by packet (the kernel tests compare them); the userspace datapath uses it as is.
 *
 * <p>Arrival times are given in nanoseconds relative to the flow's first packet, as the kernel
 * measures them.
 */
public final class RtpReceiverStats {
    public static final int SEQ_MOD = 1 << 16;
    public static final int MAX_DROPOUT = 3000;
    public static final int MAX_MISORDER = 100;
    public static final int MIN_SEQUENTIAL = 2;

    private boolean init;
    private boolean haveTransit;
    private long ssrc;
    private int pt;
    private int probation;
    private int maxSeq;
    private long cycles;
    private long baseSeq;
    private long badSeq;
    private long received;
    private long late;
    private int transit;
    private long jitter; // unsigned 32-bit, scaled by 16
    private long clockRate;

    private final IntToLongFunction clockRateOfPt;

    /**
     * @param clockRateOfPt clock rate (Hz) for a payload type
     */
    public RtpReceiverStats(IntToLongFunction clockRateOfPt) {
        this.clockRateOfPt = clockRateOfPt;
    }

    private void initSeq(int seq) {
        baseSeq = seq;
        maxSeq = seq;
        badSeq = SEQ_MOD + 1;
        cycles = 0;
        received = 0;
        late = 0;
    }

    /** A.1 update_seq; true when the packet counts as received. */
    private boolean updateSeq(int seq) {
        int udelta = (seq - maxSeq) & 0xffff;
        if (probation > 0) {
            if (seq == maxSeq + 1) {
                probation--;
                maxSeq = seq;
                if (probation == 0) {
                    initSeq(seq);
                    received++;
                    return true;
                }
            } else {
                probation = MIN_SEQUENTIAL - 1;
                maxSeq = seq;
            }
            return false;
        } else if (udelta < MAX_DROPOUT) {
            if (seq < maxSeq) {
                cycles = (cycles + SEQ_MOD) & 0xffffffffL;
            }
            maxSeq = seq;
        } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
            if (seq == badSeq) {
                initSeq(seq);
            } else {
                badSeq = (seq + 1L) & (SEQ_MOD - 1);
                return false;
            }
        } else {
            late++;
        }
        received++;
        return true;
    }

    /**
     * One RTP packet.
     *
     * @param arrivalNs nanoseconds since the flow's first packet
     */
    public void onPacket(long ssrc, int seq, long timestamp, int payloadType, long arrivalNs) {
        seq &= 0xffff;
        if (!init || this.ssrc != ssrc) {
            this.ssrc = ssrc;
            initSeq(seq);
            maxSeq = (seq - 1) & 0xffff;
            probation = MIN_SEQUENTIAL;
            jitter = 0;
            transit = 0;
            clockRate = clockRateOfPt.applyAsLong(payloadType & 0x7f);
            init = true;
            haveTransit = false;
        }
        pt = payloadType & 0x7f;
        updateSeq(seq);

        long ageUs = Long.divideUnsigned(arrivalNs, 1000);
        int arrival = (int) Long.divideUnsigned(ageUs * clockRate, 1_000_000);
        int t = arrival - (int) timestamp;
        if (haveTransit) {
            int d = t - transit;
            if (d < 0) {
                d = -d;
            }
            jitter = (jitter + (d & 0xffffffffL) - ((jitter + 8) >>> 4)) & 0xffffffffL;
        }
        transit = t;
        haveTransit = true;
    }

    public long ssrc() {
        return ssrc;
    }

    public int payloadType() {
        return pt;
    }

    public int maxSeq() {
        return maxSeq;
    }

    public long cycles() {
        return cycles;
    }

    public long baseSeq() {
        return baseSeq;
    }

    public long received() {
        return received;
    }

    public long late() {
        return late;
    }

    public long jitterScaled() {
        return jitter;
    }

    public long clockRate() {
        return clockRate;
    }

    public long transit() {
        return transit & 0xffffffffL;
    }

    public int probation() {
        return probation;
    }

    public long extendedHighestSeq() {
        return cycles + maxSeq;
    }

    public long expected() {
        return extendedHighestSeq() - baseSeq + 1;
    }

    public long lost() {
        return received == 0 ? 0 : expected() - received;
    }

    public double jitterMs() {
        return clockRate == 0 ? 0 : (jitter / 16.0) * 1000.0 / clockRate;
    }
}
