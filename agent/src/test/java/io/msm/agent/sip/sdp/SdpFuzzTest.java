package io.msm.agent.sip.sdp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Fuzzes the SDP parser and the anchoring rewrite. Whatever the bytes: parsing ends in a
 * description or an {@link SdpException}; the addresses of an accepted description are read or
 * refused with an SdpException; and the anchored rewrite parses again, with the same media
 * sections, every anchored one naming the node's port.
 *
 * <p>{@code mvn test} replays src/test/resources/io/msm/agent/sip/sdp/SdpFuzzTestInputs/sdp; {@code
 * JAZZER_FUZZ=1} fuzzes.
 */
class SdpFuzzTest {
    static final Inet4Address NODE;

    static {
        try {
            NODE = (Inet4Address) InetAddress.getByName("192.0.2.1");
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @FuzzTest(maxDuration = "2m")
    void sdp(byte[] data) {
        Sdp s;
        try {
            s = Sdp.parse(data);
        } catch (SdpException e) {
            return;
        }
        List<Sdp.Anchor> anchors = new ArrayList<>();
        for (int i = 0; i < s.media().size(); i++) {
            try {
                s.rtp(i);
                s.rtcp(i, false);
                s.rtcp(i, true);
            } catch (SdpException e) {
                // refused addresses: the proxy answers 488
            }
            s.direction(i);
            anchors.add(
                    s.media().get(i).disabled()
                            ? null
                            : new Sdp.Anchor(20000 + 2 * i, 20001 + 2 * i));
        }
        byte[] out = s.anchor(NODE, anchors);
        Sdp a;
        try {
            a = Sdp.parse(out);
        } catch (SdpException e) {
            throw new AssertionError(
                    "the anchored SDP does not parse: "
                            + e.getMessage()
                            + "\n"
                            + new String(out, StandardCharsets.UTF_8),
                    e);
        }
        assertEquals(s.media().size(), a.media().size());
        for (int i = 0; i < a.media().size(); i++) {
            if (anchors.get(i) == null) {
                continue;
            }
            assertEquals(20000 + 2 * i, a.media().get(i).port());
            try {
                InetSocketAddress rtp = a.rtp(i);
                if (rtp != null) {
                    assertEquals(NODE, rtp.getAddress(), "an anchored stream names the node");
                }
            } catch (SdpException e) {
                throw new AssertionError(
                        "the anchored stream " + i + " has no usable address: " + e.getMessage());
            }
        }
    }
}
