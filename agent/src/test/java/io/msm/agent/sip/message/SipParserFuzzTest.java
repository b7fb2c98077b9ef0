package io.msm.agent.sip.message;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Fuzzes the SIP parser. Whatever the bytes, parsing ends in a message, a keep-alive (null) or a
 * {@link SipParseException} — never another exception — and what it accepts, the proxy can use: the
 * headers it reads parse, the message encodes and parses again to the same thing, and a refusal's
 * response (when there is one) encodes.
 *
 * <p>{@code mvn test} replays the inputs kept in
 * src/test/resources/io/msm/agent/sip/message/SipParserFuzzTestInputs/sipMessage (seeds and
 * everything the fuzzer found); {@code JAZZER_FUZZ=1} fuzzes.
 */
class SipParserFuzzTest {
    static final int MAX = 4096;

    @FuzzTest(maxDuration = "2m")
    void sipMessage(byte[] data) {
        SipMessage m;
        try {
            m = SipParser.parse(data, MAX);
        } catch (SipParseException e) {
            SipResponse r = e.response("fuzz");
            if (r != null) {
                assertNotNull(r.encode());
                try {
                    SipParser.parse(r.encode(), 65535);
                } catch (SipParseException again) {
                    fail(
                            "msm's own error response does not parse: "
                                    + again.getMessage()
                                    + "\n"
                                    + r);
                }
            }
            return;
        }
        if (m == null) {
            return;
        }
        // what the proxy reads of every message it accepted
        m.callId();
        m.cseq();
        m.from().tag();
        m.to().tag();
        for (String v : m.all(HeaderNames.VIA)) {
            Via.parse(v).branch();
        }
        if (m instanceof SipRequest r && SipUri.isSip(r.uri())) {
            SipUri u = SipUri.parse(r.uri());
            u.aor();
            u.socketAddress();
            SipUri.parse(u.toString());
        }
        byte[] again = m.encode();
        SipMessage m2;
        try {
            m2 = SipParser.parse(again, 65535);
        } catch (SipParseException e) {
            throw new AssertionError(
                    "an accepted message does not parse once encoded: " + e.getMessage(), e);
        }
        assertNotNull(m2);
        assertEquals(m.startLine(), m2.startLine());
        assertEquals(
                m.headers().size() + (m.has(HeaderNames.CONTENT_LENGTH) ? 0 : 1),
                m2.headers().size());
        assertEquals(m.bodyText(), m2.bodyText());
        if (m instanceof SipRequest r) {
            SipResponse resp = SipResponse.to(r, 400, null, "t");
            assertNotNull(resp.encode());
        }
    }
}
