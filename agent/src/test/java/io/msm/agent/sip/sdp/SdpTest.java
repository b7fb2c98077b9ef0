package io.msm.agent.sip.sdp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SdpTest {
    static final String OFFER =
            """
            v=0\r
            o=alice 2890844526 2890844526 IN IP4 10.0.0.1\r
            s=-\r
            c=IN IP4 10.0.0.1\r
            t=0 0\r
            m=audio 49170 RTP/AVP 0 8 101\r
            a=rtpmap:0 PCMU/8000\r
            a=rtcp:49175\r
            a=sendonly\r
            a=candidate:1 1 UDP 2130706431 10.0.0.1 49170 typ host\r
            m=video 51372 RTP/AVP 31\r
            c=IN IP4 10.0.0.5\r
            a=rtcp-mux\r
            m=audio 0 RTP/AVP 0\r
            """;

    static Sdp parse(String s) throws SdpException {
        return Sdp.parse(s.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void readsWhatAnchoringNeeds() throws Exception {
        Sdp s = parse(OFFER);
        assertEquals(3, s.media().size());
        assertEquals(new InetSocketAddress("10.0.0.1", 49170), s.rtp(0));
        assertEquals(
                new InetSocketAddress("10.0.0.1", 49175), s.rtcp(0, false), "a=rtcp (RFC 3605)");
        assertEquals(Direction.SENDONLY, s.direction(0));
        assertEquals(new InetSocketAddress("10.0.0.5", 51372), s.rtp(1), "media-level c= wins");
        assertEquals(
                new InetSocketAddress("10.0.0.5", 51373),
                s.rtcp(1, false),
                "RTP + 1 without a=rtcp");
        assertEquals(
                new InetSocketAddress("10.0.0.5", 51372),
                s.rtcp(1, true),
                "rtcp-mux: on the RTP port");
        assertTrue(s.media().get(1).rtcpMux());
        assertEquals(Direction.SENDRECV, s.direction(1));
        assertTrue(s.media().get(2).disabled());
        assertNull(s.rtp(2));
    }

    @Test
    void anchoringRewritesAddressesPortsAndRtcpAndDropsCandidates() throws Exception {
        Sdp s = parse(OFFER);
        Inet4Address node = (Inet4Address) InetAddress.getByName("192.0.2.10");
        String out =
                new String(
                        s.anchor(
                                node,
                                Arrays.asList(
                                        new Sdp.Anchor(20000, 20001),
                                        new Sdp.Anchor(20004, 20005),
                                        null)),
                        StandardCharsets.UTF_8);
        Sdp a = Sdp.parse(out.getBytes(StandardCharsets.UTF_8));
        assertEquals(new InetSocketAddress(node, 20000), a.rtp(0));
        assertEquals(new InetSocketAddress(node, 20001), a.rtcp(0, false));
        assertEquals(new InetSocketAddress(node, 20004), a.rtp(1));
        assertEquals(Direction.SENDONLY, a.direction(0), "directions pass through");
        assertTrue(a.media().get(1).rtcpMux());
        assertTrue(a.media().get(2).disabled());
        assertFalse(out.contains("candidate"), out);
        assertFalse(out.contains("10.0.0.5"), "no party address remains in a c= line: " + out);
        assertTrue(
                out.contains("o=alice 2890844526 2890844526 IN IP4 10.0.0.1"),
                "the origin line is kept");
        assertEquals(out.lines().count(), a.lines().size());
    }

    @Test
    void heldStreamsKeepTheirZeroAddress() throws Exception {
        Sdp s = parse(OFFER.replace("c=IN IP4 10.0.0.1", "c=IN IP4 0.0.0.0"));
        assertNull(s.rtp(0), "on hold (RFC 2543 style)");
        String out =
                new String(
                        s.anchor(
                                (Inet4Address) InetAddress.getByName("192.0.2.10"),
                                Arrays.asList(
                                        new Sdp.Anchor(20000, 20001),
                                        new Sdp.Anchor(20004, 20005),
                                        null)),
                        StandardCharsets.UTF_8);
        Sdp a = Sdp.parse(out.getBytes(StandardCharsets.UTF_8));
        assertNull(a.rtp(0), "the other side still sees the hold: " + out);
        assertEquals(20004, a.rtp(1).getPort());
    }

    @Test
    void muxedRtcpAttributeStaysOnTheRtpPort() throws Exception {
        Sdp s =
                parse(
                        "v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:4000\r\na=rtcp-mux\r\n");
        String out =
                new String(
                        s.anchor(
                                (Inet4Address) InetAddress.getByName("192.0.2.1"),
                                List.of(new Sdp.Anchor(30000, 30001))),
                        StandardCharsets.UTF_8);
        assertTrue(out.contains("a=rtcp:30000"), out);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "",
                "v=1\r\n",
                "x\r\n",
                "v=0\r\nm=audio 99999 RTP/AVP 0\r\n",
                "v=0\r\nm=audio x RTP/AVP 0\r\n",
                "v=0\r\nm=audio 4000\r\n",
                "v=0\r\nc=IN IP4\r\n",
                "v=0\r\nc=IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.5\r\n",
                "v=0\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:0\r\n",
                "v=0\r\nA=b\r\n",
                "v=0\r\na=\u0007\r\n",
            })
    void malformedDescriptionsAreRefused(String s) {
        assertThrows(SdpException.class, () -> parse(s));
    }

    @Test
    void unanchorableAddressesAreSaid() throws Exception {
        SdpException e =
                assertThrows(
                        SdpException.class,
                        () ->
                                parse("v=0\r\nc=IN IP4 host.example\r\nm=audio 4000 RTP/AVP 0\r\n")
                                        .rtp(0));
        assertTrue(e.getMessage().contains("not a unicast IP literal"), e.getMessage());
        assertThrows(
                SdpException.class,
                () -> parse("v=0\r\nc=IN IP4 224.2.1.1/127\r\nm=audio 4000 RTP/AVP 0\r\n").rtp(0));
        assertThrows(SdpException.class, () -> parse("v=0\r\nm=audio 4000 RTP/AVP 0\r\n").rtp(0));
    }

    @Test
    void boundedInSize() {
        StringBuilder sb = new StringBuilder("v=0\r\nc=IN IP4 1.2.3.4\r\n");
        for (int i = 0; i <= Sdp.MAX_MEDIA; i++) {
            sb.append("m=audio ").append(4000 + 2 * i).append(" RTP/AVP 0\r\n");
        }
        assertThrows(SdpException.class, () -> parse(sb.toString()));
        StringBuilder lines = new StringBuilder("v=0\r\n");
        for (int i = 0; i <= Sdp.MAX_LINES; i++) {
            lines.append("a=x\r\n");
        }
        assertThrows(SdpException.class, () -> parse(lines.toString()));
    }
}
