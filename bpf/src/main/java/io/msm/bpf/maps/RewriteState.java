package io.msm.bpf.maps;

import java.net.Inet4Address;
import java.nio.ByteBuffer;

/**
 * struct msm_rewrite: a fan-out group's continuity state ({@link FanoutGroup#F_REWRITE}), indexed
 * by group id in msm_rewrites. The agent writes the configuration ({@code rtpGroup}, {@code
 * outSsrc}, {@code clockRate}, the standby source and silence); the kernel keeps the rest.
 *
 * @param flags {@link #F_PRIMED}: a source has been seen (kernel); {@link #F_RESYNC}: the next
 *     packet starts a new source whatever its SSRC (the agent sets it, the kernel clears it)
 * @param rtpGroup the RTP group whose source state applies: the group itself for an RTP group, the
 *     RTP group of its track for an RTCP group (its sender reports follow)
 * @param outSsrc the SSRC subscribers see, as in the RTP header (0: the first source's own)
 * @param inSsrc the current source's SSRC, as in the RTP header
 * @param clockRate Hz of the RTP timestamps (0: 90000)
 * @param seqDelta added to the source's sequence numbers (mod 2^16)
 * @param lastSeq the last sequence number sent
 * @param tsDelta added to the source's timestamps (mod 2^32)
 * @param lastTs the last timestamp sent
 * @param lastNs CLOCK_MONOTONIC of the last rewritten packet
 * @param switches sources after the first
 * @param rewritten packets (RTP) or sender reports (RTCP) rewritten
 * @param dropped sender reports of a non-current source; standby packets while the active source is
 *     live
 * @param altAddr hot standby: the second source admitted (null: none)
 * @param altPort its port (0: any)
 * @param activeAlt the second source is the active one
 * @param silenceNs the active source silent this long: the other takes over at its next packet
 * @param activeNs CLOCK_MONOTONIC of the active source's last packet
 */
public record RewriteState(
        int flags,
        int rtpGroup,
        int outSsrc,
        int inSsrc,
        int clockRate,
        int seqDelta,
        int lastSeq,
        int tsDelta,
        int lastTs,
        long lastNs,
        long switches,
        long rewritten,
        long dropped,
        Inet4Address altAddr,
        int altPort,
        boolean activeAlt,
        long silenceNs,
        long activeNs) {
    public static final int F_PRIMED = 1;

    /**
     * The next packet starts a new source even with the current SSRC: a publisher resuming within
     * the grace with the SSRC it had would otherwise jump the players' sequence numbers. The kernel
     * sets it itself when a hot standby becomes active.
     */
    public static final int F_RESYNC = 2;

    /** The same state with {@link #F_RESYNC} set. */
    public RewriteState resynced() {
        return new RewriteState(
                flags | F_RESYNC,
                rtpGroup,
                outSsrc,
                inSsrc,
                clockRate,
                seqDelta,
                lastSeq,
                tsDelta,
                lastTs,
                lastNs,
                switches,
                rewritten,
                dropped,
                altAddr,
                altPort,
                activeAlt,
                silenceNs,
                activeNs);
    }

    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_rewrite", 88)
                    .u32("flags", 0)
                    .u32("rtp_group", 4)
                    .u32("out_ssrc", 8)
                    .u32("in_ssrc", 12)
                    .u32("clock_rate", 16)
                    .u16("seq_delta", 20)
                    .u16("last_seq", 22)
                    .u32("ts_delta", 24)
                    .u32("last_ts", 28)
                    .u64("last_ns", 32)
                    .u64("switches", 40)
                    .u64("rewritten", 48)
                    .u64("dropped", 56)
                    .u32("alt_addr", 64)
                    .u16("alt_port", 68)
                    .u16("active_alt", 70)
                    .u64("silence_ns", 72)
                    .u64("active_ns", 80)
                    .build();
    private static final int ACTIVE_ALT = LAYOUT.u16("active_alt");
    private static final int ALT_PORT = LAYOUT.u16("alt_port");
    private static final int LAST_SEQ = LAYOUT.u16("last_seq");
    private static final int SEQ_DELTA = LAYOUT.u16("seq_delta");
    private static final int ALT_ADDR = LAYOUT.u32("alt_addr");
    private static final int CLOCK_RATE = LAYOUT.u32("clock_rate");
    private static final int FLAGS = LAYOUT.u32("flags");
    private static final int IN_SSRC = LAYOUT.u32("in_ssrc");
    private static final int LAST_TS = LAYOUT.u32("last_ts");
    private static final int OUT_SSRC = LAYOUT.u32("out_ssrc");
    private static final int RTP_GROUP = LAYOUT.u32("rtp_group");
    private static final int TS_DELTA = LAYOUT.u32("ts_delta");
    private static final int ACTIVE_NS = LAYOUT.u64("active_ns");
    private static final int DROPPED = LAYOUT.u64("dropped");
    private static final int LAST_NS = LAYOUT.u64("last_ns");
    private static final int REWRITTEN = LAYOUT.u64("rewritten");
    private static final int SILENCE_NS = LAYOUT.u64("silence_ns");
    private static final int SWITCHES = LAYOUT.u64("switches");

    /** A fresh state: the agent's configuration, nothing seen yet. */
    public static RewriteState of(
            int rtpGroup,
            int outSsrc,
            int clockRate,
            Inet4Address altAddr,
            int altPort,
            long silenceNs) {
        return new RewriteState(
                0, rtpGroup, outSsrc, 0, clockRate, 0, 0, 0, 0, 0, 0, 0, 0, altAddr, altPort, false,
                silenceNs, 0);
    }

    public boolean primed() {
        return (flags & F_PRIMED) != 0;
    }

    private static void putNet(ByteBuffer b, int off, int v) {
        b.put(off, (byte) (v >>> 24));
        b.put(off + 1, (byte) (v >>> 16));
        b.put(off + 2, (byte) (v >>> 8));
        b.put(off + 3, (byte) v);
    }

    private static int getNet(ByteBuffer b, int off) {
        return ((b.get(off) & 0xff) << 24)
                | ((b.get(off + 1) & 0xff) << 16)
                | ((b.get(off + 2) & 0xff) << 8)
                | (b.get(off + 3) & 0xff);
    }

    public static final Codec<RewriteState> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, RewriteState r) {
                    b.putInt(off + FLAGS, r.flags);
                    b.putInt(off + RTP_GROUP, r.rtpGroup);
                    putNet(b, off + OUT_SSRC, r.outSsrc);
                    putNet(b, off + IN_SSRC, r.inSsrc);
                    b.putInt(off + CLOCK_RATE, r.clockRate);
                    b.putShort(off + SEQ_DELTA, (short) r.seqDelta);
                    b.putShort(off + LAST_SEQ, (short) r.lastSeq);
                    b.putInt(off + TS_DELTA, r.tsDelta);
                    b.putInt(off + LAST_TS, r.lastTs);
                    b.putLong(off + LAST_NS, r.lastNs);
                    b.putLong(off + SWITCHES, r.switches);
                    b.putLong(off + REWRITTEN, r.rewritten);
                    b.putLong(off + DROPPED, r.dropped);
                    if (r.altAddr != null) {
                        Addr.write4(b, off + ALT_ADDR, r.altAddr);
                    } else {
                        b.putInt(off + ALT_ADDR, 0);
                    }
                    b.putShort(off + ALT_PORT, (short) r.altPort);
                    b.putShort(off + ACTIVE_ALT, (short) (r.activeAlt ? 1 : 0));
                    b.putLong(off + SILENCE_NS, r.silenceNs);
                    b.putLong(off + ACTIVE_NS, r.activeNs);
                }

                @Override
                public RewriteState read(ByteBuffer b, int off) {
                    int alt = b.getInt(off + ALT_ADDR);
                    return new RewriteState(
                            b.getInt(off + FLAGS),
                            b.getInt(off + RTP_GROUP),
                            getNet(b, off + OUT_SSRC),
                            getNet(b, off + IN_SSRC),
                            b.getInt(off + CLOCK_RATE),
                            b.getShort(off + SEQ_DELTA) & 0xffff,
                            b.getShort(off + LAST_SEQ) & 0xffff,
                            b.getInt(off + TS_DELTA),
                            b.getInt(off + LAST_TS),
                            b.getLong(off + LAST_NS),
                            b.getLong(off + SWITCHES),
                            b.getLong(off + REWRITTEN),
                            b.getLong(off + DROPPED),
                            alt == 0 ? null : Addr.read4(b, off + ALT_ADDR),
                            b.getShort(off + ALT_PORT) & 0xffff,
                            b.getShort(off + ACTIVE_ALT) != 0,
                            b.getLong(off + SILENCE_NS),
                            b.getLong(off + ACTIVE_NS));
                }
            };
}
