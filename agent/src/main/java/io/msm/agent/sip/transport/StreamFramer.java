package io.msm.agent.sip.transport;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/**
 * Cuts a TCP byte stream into SIP messages (RFC 3261 section 18.3): the header section ends at the
 * first blank line, Content-Length (mandatory on streams, read as 0 when absent) says how much body
 * follows. CR/LF keep-alives between messages are skipped. A message larger than {@code maxBytes}
 * yields a {@link Frame} with only its header section and {@code oversized} set: the proxy answers
 * 513 and the connection closes, since the stream cannot be resynchronised.
 */
final class StreamFramer extends ByteToMessageDecoder {
    /** One message (or the header section of an oversized one). */
    record Frame(byte[] data, boolean oversized, int declaredLength) {}

    private final int maxBytes;
    private boolean failed;

    StreamFramer(int maxBytes) {
        this.maxBytes = maxBytes;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        while (in.isReadable()
                && (in.getByte(in.readerIndex()) == '\r' || in.getByte(in.readerIndex()) == '\n')) {
            in.skipBytes(1);
        }
        if (!in.isReadable()) {
            return;
        }
        int start = in.readerIndex();
        int scanEnd = Math.min(in.writerIndex(), start + maxBytes);
        int headEnd = -1;
        for (int i = start; i + 3 < scanEnd; i++) {
            if (in.getByte(i) == '\r'
                    && in.getByte(i + 1) == '\n'
                    && in.getByte(i + 2) == '\r'
                    && in.getByte(i + 3) == '\n') {
                headEnd = i + 4;
                break;
            }
        }
        if (headEnd < 0) {
            if (in.readableBytes() > maxBytes) {
                failed = true;
                byte[] head = new byte[Math.min(in.readableBytes(), maxBytes)];
                in.readBytes(head);
                in.skipBytes(in.readableBytes());
                out.add(new Frame(head, true, Integer.MAX_VALUE));
            }
            return; // wait for more
        }
        int headLen = headEnd - start;
        String head = in.toString(start, headLen, StandardCharsets.ISO_8859_1);
        int bodyLen = contentLength(head);
        if (bodyLen < 0 || headLen + (long) bodyLen > maxBytes) {
            failed = true;
            byte[] h = new byte[headLen];
            in.readBytes(h);
            in.skipBytes(in.readableBytes());
            out.add(new Frame(h, true, bodyLen < 0 ? Integer.MAX_VALUE : headLen + bodyLen));
            return;
        }
        if (in.readableBytes() < headLen + bodyLen) {
            return;
        }
        byte[] msg = new byte[headLen + bodyLen];
        in.readBytes(msg);
        out.add(new Frame(msg, false, msg.length));
    }

    /** Content-Length (or l:) of a header section; 0 when absent, -1 when unreadable. */
    static int contentLength(String head) {
        for (String line : head.split("\r\n")) {
            int c = line.indexOf(':');
            if (c <= 0) {
                continue;
            }
            String name = line.substring(0, c).trim().toLowerCase(Locale.ROOT);
            if (name.equals("content-length") || name.equals("l")) {
                String v = line.substring(c + 1).trim();
                if (v.isEmpty() || v.length() > 9 || !v.chars().allMatch(Character::isDigit)) {
                    return -1;
                }
                return Integer.parseInt(v);
            }
        }
        return 0;
    }
}
