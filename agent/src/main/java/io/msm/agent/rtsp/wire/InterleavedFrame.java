package io.msm.agent.rtsp.wire;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCounted;

/**
 * RTP or RTCP carried on the RTSP connection (RFC 2326 section 10.12): '$', a one-byte channel, a
 * two-byte length, the packet. The receiver releases {@link #data}.
 */
public record InterleavedFrame(int channel, ByteBuf data) implements RtspMessage, ReferenceCounted {
    public static final int MAX_PAYLOAD = 0xffff;

    @Override
    public int refCnt() {
        return data.refCnt();
    }

    @Override
    public InterleavedFrame retain() {
        data.retain();
        return this;
    }

    @Override
    public InterleavedFrame retain(int increment) {
        data.retain(increment);
        return this;
    }

    @Override
    public InterleavedFrame touch() {
        data.touch();
        return this;
    }

    @Override
    public InterleavedFrame touch(Object hint) {
        data.touch(hint);
        return this;
    }

    @Override
    public boolean release() {
        return data.release();
    }

    @Override
    public boolean release(int decrement) {
        return data.release(decrement);
    }
}
