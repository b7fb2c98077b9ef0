package io.msm.agent.media;

import io.netty.buffer.ByteBuf;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * One continuous RTP stream across source switches — the userspace plane's twin of the kernel's
 * MSM_GROUP_F_REWRITE (bpf/src/main/c/include/msm_rewrite.h, same rules): the first source goes out
 * as it is; a packet with another SSRC starts a new source whose first packet continues the output
 * (sequence number last + 1, timestamp last + the silence at the clock rate, at least 1, at most 10
 * s), and every packet of it goes out with the stream's SSRC and the source's sequence numbers and
 * timestamps moved by constant deltas. An RTCP relay's sender reports follow its RTP relay's state
 * (SSRC and RTP time; SRs of other sources are dropped). With a standby source, only the active one
 * of the two is relayed; the other takes over at its first packet after the active one was silent
 * for {@code silence}. After {@link #resync()} (a publisher resuming) or a standby taking over, the
 * next packet starts a new source even with the current SSRC (the kernel's MSM_RW_F_RESYNC).
 */
public final class RtpContinuity {
    /**
     * @param clockRate Hz of the RTP timestamps (0: 90000)
     * @param rtpRelay for an RTCP relay: the local address of the RTP relay whose stream its sender
     *     reports describe (null: an RTP relay)
     * @param standby hot standby: the second source admitted (null: none; port 0: any)
     * @param silence the active source silent this long, the standby takes over
     */
    public record Config(
            int clockRate,
            InetSocketAddress rtpRelay,
            InetSocketAddress standby,
            Duration silence) {
        public Config {
            silence = silence == null ? Duration.ZERO : silence;
        }

        public static Config rtp(int clockRate) {
            return new Config(clockRate, null, null, Duration.ZERO);
        }

        public Config withStandby(InetSocketAddress s, Duration silence) {
            return new Config(clockRate, rtpRelay, s, silence);
        }

        public Config rtcpOf(InetSocketAddress rtp, InetSocketAddress standbyRtcp) {
            return new Config(0, rtp, standbyRtcp, silence);
        }
    }

    /** What 'msm fanout' shows. */
    public record Snapshot(
            boolean primed,
            long outSsrc,
            long inSsrc,
            int seqDelta,
            long tsDelta,
            long switches,
            long rewritten,
            long dropped,
            boolean standbyActive) {}

    static final long MAX_GAP_NS = 10_000_000_000L;

    volatile Config config;
    private boolean primed;
    private int outSsrc;
    private int inSsrc;
    private int seqDelta;
    private int lastSeq;
    private int tsDelta;
    private int lastTs;
    private long lastNs;
    private long switches;
    private long rewritten;
    private long dropped;
    private boolean activeAlt;
    private long activeNs;
    private boolean resync;

    public RtpContinuity(Config config) {
        this.config = config;
    }

    /** The same stream state under another configuration (a standby joins or leaves). */
    synchronized RtpContinuity with(Config c) {
        config = c;
        if (c.standby() == null) {
            activeAlt = false;
        }
        return this;
    }

    /** The next packet starts a new source, whatever its SSRC (a publisher resumed). */
    public synchronized void resync() {
        resync = true;
    }

    boolean fromStandby(InetSocketAddress from) {
        Config c = config;
        return c.standby() != null && AbstractRelay.matches(c.standby(), from);
    }

    /**
     * An RTP packet from the primary or (fromAlt) the standby source: rewritten, or false: drop.
     */
    synchronized boolean rtp(ByteBuf b, boolean fromAlt, long now) {
        Config config = this.config;
        if (config.standby() != null) {
            if (fromAlt != activeAlt) {
                if (now - activeNs < config.silence().toNanos()) {
                    dropped++;
                    return false;
                }
                activeAlt = fromAlt;
                resync = true; // another sender: a new source, even with the same SSRC
            }
            activeNs = now;
        }
        int r = b.readerIndex();
        if (b.readableBytes() < 12 || (b.getByte(r) & 0xc0) != 0x80) {
            return true;
        }
        int seq = b.getUnsignedShort(r + 2);
        int ts = b.getInt(r + 4);
        int ssrc = b.getInt(r + 8);
        if (!primed) {
            primed = true;
            resync = false;
            inSsrc = ssrc;
            if (outSsrc == 0) {
                outSsrc = ssrc;
            }
            seqDelta = 0;
            tsDelta = 0;
        } else if (ssrc != inSsrc || resync) {
            resync = false;
            long gap = Math.min(Math.max(0, now - lastNs), MAX_GAP_NS);
            long rate = config.clockRate() > 0 ? config.clockRate() : 90000;
            int step = (int) Math.max(1, gap * rate / 1_000_000_000L);
            seqDelta = (lastSeq + 1 - seq) & 0xffff;
            tsDelta = lastTs + step - ts;
            inSsrc = ssrc;
            switches++;
        }
        int outSeq = (seq + seqDelta) & 0xffff;
        int outTs = ts + tsDelta;
        lastSeq = outSeq;
        lastTs = outTs;
        lastNs = now;
        if (seqDelta == 0 && tsDelta == 0 && ssrc == outSsrc) {
            return true;
        }
        b.setShort(r + 2, outSeq);
        b.setInt(r + 4, outTs);
        b.setInt(r + 8, outSsrc);
        rewritten++;
        return true;
    }

    /** An RTCP packet of the stream {@code of} describes: SRs rewritten, or false: drop. */
    boolean rtcp(ByteBuf b, RtpContinuity of) {
        int r = b.readerIndex();
        if (of == null
                || b.readableBytes() < 28
                || (b.getByte(r) & 0xc0) != 0x80
                || (b.getByte(r + 1) & 0xff) != 200) {
            return true;
        }
        int in;
        int out;
        int delta;
        synchronized (of) {
            if (!of.primed) {
                return true;
            }
            in = of.inSsrc;
            out = of.outSsrc;
            delta = of.tsDelta;
        }
        int ssrc = b.getInt(r + 4);
        synchronized (this) {
            if (ssrc != in) {
                dropped++;
                return false;
            }
            if (delta == 0 && ssrc == out) {
                return true;
            }
            b.setInt(r + 4, out);
            b.setInt(r + 16, b.getInt(r + 16) + delta);
            rewritten++;
        }
        return true;
    }

    public synchronized Snapshot snapshot() {
        return new Snapshot(
                primed,
                outSsrc & 0xffffffffL,
                inSsrc & 0xffffffffL,
                seqDelta,
                tsDelta & 0xffffffffL,
                switches,
                rewritten,
                dropped,
                activeAlt);
    }
}
