package io.msm.agent.sip.message;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SipParserTest {
    static final String INVITE =
            """
            INVITE sip:bob@10.0.0.2:5060 SIP/2.0\r
            Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK776asdhds;rport\r
            v: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKold, SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bKv6\r
            Max-Forwards: 70\r
            To: Bob <sip:bob@biloxi.example.com>\r
            f: "Alice, A." <sip:alice@atlanta.example.com>;tag=1928301774\r
            i: a84b4c76e66710@pc33.atlanta.example.com\r
            CSeq: 314159 INVITE\r
            Contact: <sip:alice@10.0.0.1:5062>\r
            Subject: folded\r
             over two lines\r
            Content-Type: application/sdp\r
            l: 4\r
            \r
            v=0
            """;

    static SipMessage parse(String s) throws SipParseException {
        return SipParser.parse(s.getBytes(StandardCharsets.UTF_8), 16384);
    }

    @Test
    void aRequestWithCompactFormsListsAndFolding() throws Exception {
        SipRequest r = (SipRequest) parse(INVITE);
        assertEquals("INVITE", r.method());
        assertEquals("sip:bob@10.0.0.2:5060", r.uri());
        assertEquals(3, r.all(HeaderNames.VIA).size(), "a Via list is split into entries");
        assertEquals("z9hG4bK776asdhds", r.topVia().branch());
        assertTrue(r.topVia().wantsRport());
        assertEquals(-1, r.topVia().rport(), "rport without value");
        assertEquals("[2001:db8::1]", Via.parse(r.all(HeaderNames.VIA).get(2)).host());
        assertEquals("1928301774", r.from().tag());
        assertEquals(
                "\"Alice, A.\"", r.from().display(), "a comma inside quotes is no list separator");
        assertEquals("a84b4c76e66710@pc33.atlanta.example.com", r.callId());
        assertEquals(new CSeq(314159, "INVITE"), r.cseq());
        assertEquals("folded over two lines", r.first("Subject"));
        assertEquals("v=0\n", new String(r.body(), StandardCharsets.UTF_8));
        assertTrue(r.hasSdp());
    }

    @Test
    void encodeRoundTripsAndRecomputesContentLength() throws Exception {
        SipRequest r = (SipRequest) parse(INVITE);
        r.body("v=0\r\ns=-\r\n".getBytes(StandardCharsets.UTF_8));
        SipRequest again = (SipRequest) SipParser.parse(r.encode(), 16384);
        assertEquals("10", again.first(HeaderNames.CONTENT_LENGTH));
        assertEquals(r.all(HeaderNames.VIA), again.all(HeaderNames.VIA));
        assertEquals("v=0\r\ns=-\r\n", again.bodyText());
    }

    @Test
    void aResponse() throws Exception {
        SipResponse r =
                (SipResponse)
                        parse(
                                "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h:5060;branch=z9hG4bKx\r\n"
                                        + "To: <sip:b@h>;tag=9\r\nFrom: <sip:a@h>;tag=1\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n");
        assertEquals(180, r.status());
        assertEquals("Ringing", r.reason());
        assertTrue(r.provisional());
    }

    @Test
    void keepAlivesAreNotMessages() throws Exception {
        assertNull(SipParser.parse("\r\n\r\n".getBytes(UTF_8), 100));
    }

    @Test
    void extraDatagramBytesAfterContentLengthAreDiscarded() throws Exception {
        SipMessage m = parse(INVITE.replace("l: 4", "l: 2"));
        assertEquals("v=", new String(m.body(), StandardCharsets.UTF_8));
    }

    /**
     * Each of these is refused with 400 and still answerable (Via, From, To, Call-ID, CSeq are
     * fine).
     */
    @ParameterizedTest
    @ValueSource(
            strings = {
                "CSeq: 314159 INVITE|CSeq: 314159 BYE",
                "Max-Forwards: 70|Max-Forwards: 700",
                "Contact: <sip:alice@10.0.0.1:5062>|Contact: <sip:alice@10.0.0.1:99999>",
                "l: 4|l: 400",
                "l: 4|l: -1",
                "Subject: folded|Bad Header Name: x",
                "INVITE sip:bob@10.0.0.2:5060 SIP/2.0|INVITE sip:bob@[::1 SIP/2.0",
            })
    void malformedButAnswerable(String change) {
        String[] p = change.split("\\|");
        SipParseException e =
                assertThrows(SipParseException.class, () -> parse(INVITE.replace(p[0], p[1])));
        assertEquals(400, e.status(), e.getMessage());
        SipResponse r = e.response("t1");
        assertNotNull(r, "a 400 can be sent: " + e.getMessage());
        assertEquals(400, r.status());
        assertEquals(3, r.all(HeaderNames.VIA).size());
        assertTrue(r.first(HeaderNames.TO).contains("tag=t1"));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK776asdhds;rport\r\nv: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKold, SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bKv6\r\n|",
                "CSeq: 314159 INVITE|CSeq: 99999999999 INVITE",
                "i: a84b4c76e66710@pc33.atlanta.example.com\r\n|",
                "To: Bob <sip:bob@biloxi.example.com>|To: Bob <sip:bob@biloxi.example.com",
            })
    void withoutTheHeadersAResponseNeedsItIsDropped(String change) {
        String[] p = change.split("\\|", -1);
        SipParseException e =
                assertThrows(SipParseException.class, () -> parse(INVITE.replace(p[0], p[1])));
        assertEquals(400, e.status());
        assertNull(e.response("t"), "nothing to answer to: " + e.getMessage());
    }

    @Test
    void oversizedIs513() {
        String big = INVITE.replace("Subject: folded", "Subject: " + "x".repeat(2000));
        SipParseException e =
                assertThrows(
                        SipParseException.class,
                        () -> SipParser.parse(big.getBytes(StandardCharsets.UTF_8), 1024));
        assertEquals(513, e.status());
        assertEquals(513, e.response("t").status());
    }

    @Test
    void otherVersionsAre505() {
        SipParseException e =
                assertThrows(
                        SipParseException.class,
                        () -> parse(INVITE.replace("5060 SIP/2.0", "5060 SIP/3.0")));
        assertEquals(505, e.status());
        assertEquals(505, e.response("t").status());
    }

    @Test
    void tooManyHeaders() {
        StringBuilder sb = new StringBuilder(INVITE.substring(0, INVITE.indexOf("Max-Forwards")));
        for (int i = 0; i < SipParser.MAX_HEADERS + 5; i++) {
            sb.append("X-H").append(i).append(": v\r\n");
        }
        sb.append(INVITE.substring(INVITE.indexOf("Max-Forwards")));
        SipParseException e =
                assertThrows(
                        SipParseException.class,
                        () -> SipParser.parse(sb.toString().getBytes(UTF_8), 65535));
        assertTrue(e.getMessage().contains("header fields"), e.getMessage());
    }

    @Test
    void controlCharactersAndBadUtf8AreRefused() {
        assertThrows(
                SipParseException.class,
                () -> parse(INVITE.replace("Subject: folded", "Subject: a\u0001b")));
        byte[] b = INVITE.getBytes(StandardCharsets.UTF_8);
        b[INVITE.indexOf("Subject") + 1] = (byte) 0xC3;
        assertThrows(SipParseException.class, () -> SipParser.parse(b, 16384));
    }

    @Test
    void responseHeadersForAnError() throws Exception {
        SipRequest r = (SipRequest) parse(INVITE);
        SipResponse resp = SipResponse.to(r, 486, null, "xyz");
        assertEquals(486, resp.status());
        assertEquals(
                "Busy Here", resp.reason().equals("Client Error") ? "Busy Here" : resp.reason());
        assertEquals("xyz", resp.to().tag());
        assertEquals(r.all(HeaderNames.VIA), resp.all(HeaderNames.VIA));
        assertFalse(resp.has(HeaderNames.CONTACT));
    }

    @Test
    void urisAndAddresses() {
        SipUri u = SipUri.parse("sip:alice:secret@[2001:db8::7]:5070;transport=TCP;lr?subject=x");
        assertEquals("alice", u.userName());
        assertEquals(5070, u.port());
        assertEquals("tcp", u.transport());
        assertTrue(u.hasParam("lr"));
        assertEquals(
                "sip:alice:secret@[2001:db8::7]:5070;transport=TCP;lr?subject=x", u.toString());
        assertNull(SipUri.parse("sip:bob@example.com").address(), "names are never resolved");
        assertEquals("bob@example.com", SipUri.parse("sip:bob@EXAMPLE.com:5080;x=1").aor());
        for (String bad :
                List.of(
                        "sip:",
                        "sip:@h",
                        "sip:h:0",
                        "sip:h:70000",
                        "sip:bad_host",
                        "sip:999.1.1.1",
                        "http://x",
                        "sip:a b@h",
                        "sip:[::1")) {
            assertThrows(SipSyntaxException.class, () -> SipUri.parse(bad), bad);
        }
        NameAddr n = NameAddr.parse("sip:carol@chicago.com;tag=55");
        assertEquals("sip:carol@chicago.com", n.uri());
        assertEquals("55", n.tag(), "a bare URI's parameters belong to the header");
        assertEquals("<tel:+1555>;tag=x", NameAddr.parse("<tel:+1555>;tag=x").toString());
    }
}
