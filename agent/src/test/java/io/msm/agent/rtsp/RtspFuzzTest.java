package io.msm.agent.rtsp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.msm.agent.rtsp.sdp.SdpException;
import io.msm.agent.rtsp.sdp.SessionDescription;
import io.msm.agent.rtsp.wire.InterleavedFrame;
import io.msm.agent.rtsp.wire.MalformedMessage;
import io.msm.agent.rtsp.wire.RtspDecoder;
import io.msm.agent.rtsp.wire.RtspEncoder;
import io.msm.agent.rtsp.wire.RtspHeaders;
import io.msm.agent.rtsp.wire.RtspRequest;
import io.msm.agent.rtsp.wire.RtspResponse;
import io.msm.agent.rtsp.wire.TransportSpec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Fuzzing of everything the proxy parses from the network: the RTSP stream (requests, responses,
 * interleaved frames, in arbitrary pieces), Transport headers and session descriptions. In a normal
 * build each method runs its stored inputs (src/test/resources/.../RtspFuzzTestInputs) as
 * regression tests; JAZZER_FUZZ=1 fuzzes for real and adds crashing inputs there.
 *
 * <p>Properties: no exception escapes a parser other than its documented rejection; a message
 * within the bounds that decodes re-encodes and decodes to the same thing; input beyond the bounds
 * is refused with the status the proxy promises; a frame's bytes are neither lost nor leaked.
 */
class RtspFuzzTest {
    static final int MAX_HEADER = 512;
    static final int MAX_BODY = 1024;

    @FuzzTest(maxDuration = "60s")
    void decoder(FuzzedDataProvider data) {
        int chunk = data.consumeInt(1, 64);
        byte[] in = data.consumeRemainingAsBytes();
        RtspDecoder d = new RtspDecoder(MAX_HEADER, MAX_BODY);
        ByteBuf cum = Unpooled.buffer();
        List<Object> out = new ArrayList<>();
        try {
            // the bytes arrive in pieces, as from a socket
            for (int i = 0; i < in.length; i += chunk) {
                cum.writeBytes(in, i, Math.min(chunk, in.length - i));
                int before;
                do {
                    before = out.size();
                    int readable = cum.readableBytes();
                    d.decode(cum, out);
                    if (out.size() == before && cum.readableBytes() == readable) {
                        break;
                    }
                } while (cum.isReadable());
                cum.discardReadBytes();
            }
            boolean closed = false;
            for (Object o : out) {
                assertTrue(!closed, "nothing after a message that closes the connection");
                if (o instanceof InterleavedFrame f) {
                    assertTrue(f.data().readableBytes() <= InterleavedFrame.MAX_PAYLOAD);
                } else if (o instanceof MalformedMessage m) {
                    assertTrue(Set.of(400, 413, 505).contains(m.status()), "status " + m.status());
                    closed = m.close();
                } else if (o instanceof RtspRequest r) {
                    assertTrue(r.body().length <= MAX_BODY);
                    assertTrue(r.headers().size() <= RtspDecoder.MAX_HEADER_FIELDS);
                    roundTrip(r);
                } else if (o instanceof RtspResponse r) {
                    assertTrue(r.status() >= 100 && r.status() <= 999);
                    assertTrue(r.body().length <= MAX_BODY);
                }
            }
        } finally {
            // frames are slices sharing the input buffer's count: once all are released, so is the
            // buffer
            for (Object o : out) {
                if (o instanceof InterleavedFrame f) {
                    assertTrue(f.refCnt() > 0, "a frame's bytes are still referenced");
                    f.release();
                }
            }
            assertTrue(
                    cum.release(),
                    "the input buffer is freed: nothing leaked, nothing released twice");
        }
    }

    /**
     * What decoded re-encodes to something that decodes the same (when it still fits the bounds).
     */
    private static void roundTrip(RtspRequest r) {
        ByteBuf enc = RtspEncoder.encode(ByteBufAllocator.DEFAULT, r);
        try {
            if (enc.readableBytes() - r.body().length > MAX_HEADER) {
                return; // normalised headers may grow past the bound; nothing to compare
            }
            List<Object> again = new ArrayList<>();
            new RtspDecoder(MAX_HEADER, MAX_BODY).decode(enc, again);
            assertEquals(1, again.size(), "one message back");
            RtspRequest b = (RtspRequest) again.get(0);
            assertEquals(r.method(), b.method());
            assertEquals(r.uri(), b.uri());
            assertArrayEquals(r.body(), b.body());
            assertEquals(r.cseq(), b.cseq());
        } finally {
            enc.release();
        }
    }

    @FuzzTest(maxDuration = "30s")
    void transportHeader(FuzzedDataProvider data) {
        String header = data.consumeRemainingAsString();
        List<TransportSpec> specs;
        try {
            specs = TransportSpec.parseAll(header);
        } catch (IllegalArgumentException expected) {
            return;
        }
        for (TransportSpec t : specs) {
            if (t.clientPort() != null) {
                assertTrue(t.clientPort().first() <= 65535 && t.clientPort().second() <= 65535);
            }
            if (t.interleaved() != null) {
                assertTrue(t.interleaved().first() <= 255 && t.interleaved().second() <= 255);
            }
            // what the proxy formats, it parses back the same
            if (t.source() == null || t.source().matches("[0-9.]+")) {
                TransportSpec back = TransportSpec.parse(t.format());
                assertEquals(t.tcp(), back.tcp());
                assertEquals(t.clientPort(), back.clientPort());
                assertEquals(t.interleaved(), back.interleaved());
                assertEquals(t.record(), back.record());
            }
        }
    }

    @FuzzTest(maxDuration = "60s")
    void sessionDescription(FuzzedDataProvider data) {
        String text = data.consumeRemainingAsString();
        SessionDescription sdp;
        try {
            sdp = SessionDescription.parse(text);
        } catch (SdpException expected) {
            return;
        }
        assertTrue(!sdp.media().isEmpty() && sdp.media().size() <= SessionDescription.MAX_MEDIA);
        // the description served to viewers is itself a valid description with our control URLs
        String served = sdp.served("10.0.0.1", 42, "path");
        SessionDescription again;
        try {
            again = SessionDescription.parse(served);
        } catch (SdpException e) {
            throw new AssertionError(
                    "the served description does not parse: " + e.getMessage() + "\n" + served, e);
        }
        assertEquals(sdp.media().size(), again.media().size());
        for (int i = 0; i < again.media().size(); i++) {
            assertEquals(SessionDescription.trackControl(i), again.media().get(i).control());
            assertEquals(sdp.media().get(i).formats(), again.media().get(i).formats());
        }
        assertEquals("*", again.control());
    }

    @FuzzTest(maxDuration = "30s")
    void rtcpReports(FuzzedDataProvider data) {
        byte[] b = data.consumeRemainingAsBytes();
        ByteBuf buf = Unpooled.wrappedBuffer(b);
        RtcpPackets.isRtcp(buf);
        RtcpPackets.Report r = RtcpPackets.firstReport(buf);
        if (r != null) {
            assertTrue(r.fractionLost() >= 0 && r.fractionLost() < 1);
        }
    }

    /** Headers built by the encoder carry no line breaks a peer could be tricked with. */
    @FuzzTest(maxDuration = "30s")
    void responseHeaders(FuzzedDataProvider data) {
        String value = data.consumeRemainingAsString().replaceAll("[\\r\\n]", " ");
        RtspResponse r = RtspResponse.of(200);
        r.headers().set("X-Reason", value);
        r.headers().set("CSeq", "1");
        ByteBuf enc = RtspEncoder.encode(ByteBufAllocator.DEFAULT, r);
        try {
            List<Object> out = new ArrayList<>();
            new RtspDecoder(1 << 20, 0).decode(enc, out);
            assertEquals(1, out.size());
            if (out.get(0) instanceof RtspResponse back) {
                assertEquals("1", back.headers().getOrNull("CSeq"));
            }
        } finally {
            enc.release();
        }
        new RtspHeaders();
    }
}
