package io.msm.agent.sip.call;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.msm.agent.sip.message.SipMessage;
import io.msm.agent.sip.message.SipParseException;
import io.msm.agent.sip.message.SipParser;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CallTableTest {
    private static SipMessage bye(String fromTag, String toTag) throws SipParseException {
        String m =
                "BYE sip:a@127.0.0.1 SIP/2.0\r\n"
                        + "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n"
                        + "From: <sip:x@127.0.0.1>;tag="
                        + fromTag
                        + "\r\n"
                        + "To: <sip:y@127.0.0.1>;tag="
                        + toTag
                        + "\r\n"
                        + "Call-ID: c1\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n";
        return SipParser.parse(m.getBytes(StandardCharsets.UTF_8), 16384);
    }

    @Test
    void aCallIsFoundFromEitherPartysRequests() throws SipParseException {
        CallTable t = new CallTable();
        Call c = new Call("c1", "alice", "sip:alice@a", "sip:bob@b", 0, 0);
        t.add(c);
        assertSame(c, t.find(bye("alice", "bob")), "the caller's request, by its From tag");
        assertSame(c, t.find(bye("bob", "alice")), "the callee's request, by its To tag");
        assertNull(t.find(bye("eve", "bob")));
        assertEquals(1, t.active());
    }

    @Test
    void aCallEndsOnceAndItsListenersHearItInTheOrderTheyListened() {
        CallTable t = new CallTable();
        List<String> heard = new ArrayList<>();
        for (String name : List.of("metrics", "watchdog", "media", "state")) {
            t.listen(
                    new CallTable.Listener() {
                        @Override
                        public void ended(Call c, String reason) {
                            heard.add(name + ":" + reason);
                        }
                    });
        }
        Call c = new Call("c1", "alice", "sip:alice@a", "sip:bob@b", 0, 0);
        t.add(c);
        t.end(c, "bye");
        t.end(c, "rtp_timeout");
        assertEquals(List.of("metrics:bye", "watchdog:bye", "media:bye", "state:bye"), heard);
        assertFalse(c.active());
        assertEquals(0, t.active(), "out of the table");
        assertFalse(t.has("c1", "alice"));
    }
}
