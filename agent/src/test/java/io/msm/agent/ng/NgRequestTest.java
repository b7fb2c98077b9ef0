package io.msm.agent.ng;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Requests read as rtpengine reads them: spellings, flags lists, rtpp_flags. */
class NgRequestTest {
    @Test
    void keysAndFlagsInEitherSpelling() {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("command", "Offer");
        d.put("call-id", "c");
        d.put("transport protocol", "RTP/AVP");
        d.put("flags", List.of("trust address", "SIP-source-address"));
        d.put("replace", List.of("origin", "session connection"));
        d.put("direction", List.of("pub", "priv"));
        d.put("limit", "7");
        NgRequest r = new NgRequest(d);
        assertEquals("offer", r.command());
        assertEquals("RTP/AVP", r.string("transport-protocol"));
        assertTrue(r.flag("trust-address") && r.flag("sip source address"));
        assertTrue(r.replaces("session-connection") && r.replaces("origin"));
        assertEquals(List.of("pub", "priv"), r.list("direction"));
        assertEquals(7, r.integer("limit", 32));
        assertEquals(32, r.integer("nope", 32));
    }

    @Test
    void rtppFlagsStringAsNewerModulesSendIt() {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("command", "offer");
        d.put(
                "rtpp_flags",
                "replace-origin trust-address ICE=remove transport-protocol=RTP/AVP"
                        + " direction=[uac uas] label=caller");
        NgRequest r = new NgRequest(d);
        assertTrue(r.replaces("origin"));
        assertTrue(r.flag("trust-address"));
        assertEquals("remove", r.string("ICE"));
        assertEquals("RTP/AVP", r.string("transport-protocol"));
        assertEquals(List.of("uac", "uas"), r.list("direction"));
        assertEquals("caller", r.string("label"));
    }
}
