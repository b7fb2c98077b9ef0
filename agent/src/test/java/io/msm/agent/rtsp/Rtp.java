package io.msm.agent.rtsp;

import java.nio.ByteBuffer;

/** Test packets: RTP with a sequence number, RTCP SR and RR. */
final class Rtp {
    private Rtp() {}

    static byte[] packet(int seq, long ssrc, int payload) {
        ByteBuffer b = ByteBuffer.allocate(12 + payload);
        b.put((byte) 0x80)
                .put((byte) 96)
                .putShort((short) seq)
                .putInt(seq * 3600)
                .putInt((int) ssrc);
        for (int i = 0; i < payload; i++) {
            b.put((byte) i);
        }
        return b.array();
    }

    static int seq(byte[] p) {
        return ((p[2] & 0xff) << 8) | (p[3] & 0xff);
    }

    /** A sender report (no report blocks). */
    static byte[] senderReport(long ssrc) {
        ByteBuffer b = ByteBuffer.allocate(28);
        b.put((byte) 0x80)
                .put((byte) 200)
                .putShort((short) 6)
                .putInt((int) ssrc)
                .putLong(0x1234_5678_9abc_def0L)
                .putInt(1000)
                .putInt(10)
                .putInt(1000);
        return b.array();
    }

    /** A receiver report with one block: fraction lost = lost/256. */
    static byte[] receiverReport(long ssrc, long about, int lost) {
        ByteBuffer b = ByteBuffer.allocate(32);
        b.put((byte) 0x81)
                .put((byte) 201)
                .putShort((short) 7)
                .putInt((int) ssrc)
                .putInt((int) about)
                .putInt((lost << 24) | 3)
                .putInt(100)
                .putInt(7)
                .putInt(0)
                .putInt(0);
        return b.array();
    }
}
