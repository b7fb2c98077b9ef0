package io.msm.agent.rtsp.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Writes requests, responses and interleaved frames; Content-Length is set from the body. */
@ChannelHandler.Sharable
public final class RtspEncoder extends MessageToMessageEncoder<RtspMessage> {
    public static final RtspEncoder INSTANCE = new RtspEncoder();

    @Override
    protected void encode(ChannelHandlerContext ctx, RtspMessage msg, List<Object> out) {
        if (msg instanceof InterleavedFrame f) {
            ByteBuf h = ctx.alloc().buffer(4);
            h.writeByte('$').writeByte(f.channel()).writeShort(f.data().readableBytes());
            out.add(h);
            out.add(f.data().retain());
            return;
        }
        out.add(encode(ctx.alloc(), msg));
    }

    public static ByteBuf encode(ByteBufAllocator alloc, RtspMessage msg) {
        StringBuilder sb = new StringBuilder(256);
        RtspHeaders headers;
        byte[] body;
        if (msg instanceof RtspResponse r) {
            sb.append("RTSP/1.0 ").append(r.status()).append(' ').append(r.reason()).append("\r\n");
            headers = r.headers();
            body = r.body();
        } else if (msg instanceof RtspRequest q) {
            sb.append(q.method()).append(' ').append(q.uri()).append(" RTSP/1.0\r\n");
            headers = q.headers();
            body = q.body();
        } else {
            throw new IllegalArgumentException(
                    "not encodable as text: " + msg.getClass().getSimpleName());
        }
        for (RtspHeaders.Field f : headers.fields()) {
            if (!f.name().equalsIgnoreCase("Content-Length")) {
                sb.append(f.name()).append(": ").append(f.value()).append("\r\n");
            }
        }
        if (body.length > 0) {
            sb.append("Content-Length: ").append(body.length).append("\r\n");
        }
        sb.append("\r\n");
        // byte for byte as the decoder reads headers (ISO-8859-1): what came in goes out unchanged
        byte[] head = sb.toString().getBytes(StandardCharsets.ISO_8859_1);
        ByteBuf b = alloc.buffer(head.length + body.length);
        b.writeBytes(head).writeBytes(body);
        return b;
    }
}
