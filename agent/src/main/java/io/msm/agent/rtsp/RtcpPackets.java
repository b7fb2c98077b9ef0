package io.msm.agent.rtsp;

import io.netty.buffer.ByteBuf;

/**
 * The little of RTCP (RFC 3550 section 6.4) the proxy reads from viewers: receiver report blocks.
 */
final class RtcpPackets {
    /**
     * First report block of a receiver report: loss fraction (0..1) and interarrival jitter in
     * timestamp units.
     */
    record Report(double fractionLost, long cumulativeLost, long jitter) {}

    private RtcpPackets() {}

    /** True for an RTCP compound packet (version 2, packet type 200..204 first). */
    static boolean isRtcp(ByteBuf b) {
        if (b.readableBytes() < 8) {
            return false;
        }
        int v = b.getUnsignedByte(b.readerIndex()) >> 6;
        int pt = b.getUnsignedByte(b.readerIndex() + 1);
        return v == 2 && pt >= 200 && pt <= 204;
    }

    /** The first report block of the first SR or RR in a compound packet, or null. */
    static Report firstReport(ByteBuf b) {
        int i = b.readerIndex();
        int end = b.writerIndex();
        for (int n = 0; n < 16 && i + 4 <= end; n++) {
            int b0 = b.getUnsignedByte(i);
            int pt = b.getUnsignedByte(i + 1);
            int len = (b.getUnsignedShort(i + 2) + 1) * 4;
            if (b0 >> 6 != 2 || i + len > end) {
                return null;
            }
            int count = b0 & 0x1f;
            int block = pt == 201 ? i + 8 : pt == 200 ? i + 28 : -1;
            if (block > 0 && count > 0 && block + 24 <= i + len) {
                int lost = b.getInt(block + 4);
                int cumulative = lost & 0xffffff;
                if ((cumulative & 0x800000) != 0) {
                    cumulative |= 0xff000000; // signed 24 bits
                }
                return new Report(
                        ((lost >>> 24) & 0xff) / 256.0, cumulative, b.getUnsignedInt(block + 12));
            }
            i += len;
        }
        return null;
    }
}
