package io.msm.agent.media;

import io.netty.buffer.ByteBuf;

/** RFC 7983/5761 demux of a UDP payload, as the kernel classifier does it. */
final class RtpPackets {
    private RtpPackets() {}

    static boolean isRtp(ByteBuf b) {
        if (b.readableBytes() < 12) {
            return false;
        }
        int b0 = b.getUnsignedByte(b.readerIndex());
        int b1 = b.getUnsignedByte(b.readerIndex() + 1);
        return b0 >= 128 && b0 <= 191 && !(b1 >= 192 && b1 <= 223);
    }

    static long ssrc(ByteBuf b) {
        return b.getUnsignedInt(b.readerIndex() + 8);
    }

    static int seq(ByteBuf b) {
        return b.getUnsignedShort(b.readerIndex() + 2);
    }

    static long timestamp(ByteBuf b) {
        return b.getUnsignedInt(b.readerIndex() + 4);
    }

    static int payloadType(ByteBuf b) {
        return b.getUnsignedByte(b.readerIndex() + 1) & 0x7f;
    }
}
