package io.msm.agent.media;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The userspace twin of the kernel's rewrite: resync re-bases a source that kept its SSRC. */
class RtpContinuityTest {
    static ByteBuf rtp(int seq, int ts, int ssrc) {
        ByteBuf b = Unpooled.buffer(12);
        b.writeByte(0x80).writeByte(96).writeShort(seq).writeInt(ts).writeInt(ssrc);
        return b;
    }

    static int seq(ByteBuf b) {
        return b.getUnsignedShort(2);
    }

    static final long MS = 1_000_000L;

    @Test
    void aResumedPublisherWithItsOldSsrcContinuesTheSequenceAfterResync() {
        RtpContinuity c = new RtpContinuity(RtpContinuity.Config.rtp(90000));
        for (int i = 0; i < 5; i++) {
            ByteBuf b = rtp(100 + i, 1000 + 3000 * i, 0xA);
            assertTrue(c.rtp(b, false, i * 40L * MS));
            assertEquals(100 + i, seq(b), "the first source as it is");
        }
        c.resync(); // the agent resumes the stream: the publisher comes back, same SSRC
        ByteBuf first = rtp(20, 5, 0xA);
        assertTrue(c.rtp(first, false, 1160 * MS));
        assertEquals(105, seq(first), "the sequence continues, not 20");
        assertEquals(0xA, first.getInt(8));
        long step = (first.getInt(4) & 0xffffffffL) - (1000 + 3000 * 4);
        assertEquals(90_000, step, "the timestamp moves by the silence (1 s at 90 kHz)");
        ByteBuf next = rtp(21, 3005, 0xA);
        c.rtp(next, false, 1200 * MS);
        assertEquals(106, seq(next), "one re-base, then steady");
        assertEquals(1, c.snapshot().switches());
    }

    @Test
    void withoutResyncTheSameSsrcIsTheSameSource() {
        RtpContinuity c = new RtpContinuity(RtpContinuity.Config.rtp(90000));
        c.rtp(rtp(100, 0, 0xA), false, 0);
        ByteBuf b = rtp(101, 3000, 0xA);
        c.rtp(b, false, 40 * MS);
        assertEquals(101, seq(b), "packets of one source pass as they are");
        assertEquals(0, c.snapshot().switches());
    }

    @Test
    void aStandbyWithTheActiveSourcesSsrcIsStillANewSource() {
        RtpContinuity c =
                new RtpContinuity(
                        RtpContinuity.Config.rtp(90000)
                                .withStandby(
                                        new InetSocketAddress("127.0.0.2", 4000),
                                        Duration.ofMillis(50)));
        for (int i = 0; i < 3; i++) {
            c.rtp(rtp(10 + i, 3000 * i, 0xA), false, (1000L + i * 40L) * MS);
        }
        ByteBuf b = rtp(7000, 123456, 0xA); // two encoders configured with one SSRC
        assertTrue(c.rtp(b, true, 1200 * MS), "the standby takes over after the silence");
        assertEquals(13, seq(b), "and continues the sequence");
        assertEquals(1, c.snapshot().switches());
    }
}
