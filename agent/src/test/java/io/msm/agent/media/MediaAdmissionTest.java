package io.msm.agent.media;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.bpf.maps.PortTable;
import java.io.IOException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** SIP and RTSP share the media plane's ports and kernel groups without starving each other. */
class MediaAdmissionTest {
    @Test
    void neitherProtocolCanTakeTheOthersReservedShare() {
        MediaAdmission a = MediaAdmission.standard(100, 40);
        MediaAdmission.Share sip = a.share("sip");
        MediaAdmission.Share rtsp = a.share("rtsp");
        assertEquals(25, sip.reservedPorts());
        assertEquals(10, rtsp.reservedGroups());
        // SIP takes everything it can: all but RTSP's reservation
        List<MediaAdmission.Lease> calls = new ArrayList<>();
        MediaAdmission.Lease l;
        while ((l = sip.reserve(4, 4)) != null) {
            calls.add(l);
        }
        assertEquals(28, sip.groups(), "seven calls of 4: 40 groups less RTSP's 10 leaves 30");
        assertEquals(7, calls.size());
        // RTSP still gets its share
        List<MediaAdmission.Lease> rtspHeld = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            MediaAdmission.Lease r = rtsp.reserve(2, 2);
            assertNotNull(r, "RTSP's reserved share is there: " + i);
            rtspHeld.add(r);
        }
        assertNotNull(rtsp.reserve(2, 2), "the 2 groups nobody reserved");
        assertNull(rtsp.reserve(2, 2), "and not more while SIP holds the rest");
        assertNull(sip.reserve(1, 1), "nor SIP");
        // a call ends: its ports and groups come back once
        calls.get(0).close();
        calls.get(0).close();
        assertEquals(24, sip.groups());
        assertNotNull(rtsp.reserve(2, 2));
        // growing a lease beyond what fits leaves it unchanged
        MediaAdmission.Lease c = calls.get(1);
        assertFalse(c.ensure(400, 400));
        assertEquals(4, c.ports());
        assertTrue(c.ensure(4, 4), "what it holds already");
    }

    @Test
    void theUserspacePlaneHasNoGroupBoundAndRtspsPlaneCountsItsRelays() throws Exception {
        UserspaceMediaPlane plane = new UserspaceMediaPlane(new PortTable.Range(45000, 45015), 1);
        try {
            assertEquals(16, plane.admission().portCapacity());
            MediaAdmission.Share sip = plane.admission("sip");
            // SIP takes its most: 16 ports less RTSP's 4
            assertNotNull(sip.reserve(12, 0));
            assertNull(sip.reserve(1, 0));
            MediaPlane rtsp = plane.admission("rtsp").plane(plane);
            InetAddress lo = InetAddress.getLoopbackAddress();
            RelayPair p1 = rtsp.openPair(lo, RelayOptions.of("t/rtp"), RelayOptions.of("t/rtcp"));
            RelayPair p2 = rtsp.openPair(lo, RelayOptions.of("t/rtp"), RelayOptions.of("t/rtcp"));
            assertEquals(4, plane.admission("rtsp").ports());
            assertThrows(
                    IOException.class,
                    () -> rtsp.openPair(lo, RelayOptions.of("t/rtp"), RelayOptions.of("t/rtcp")),
                    "beyond its share while SIP holds the rest: refused like a full range");
            assertEquals(4, plane.admission("rtsp").ports(), "a refused open holds nothing");
            p1.close();
            p2.close();
            assertEquals(0, plane.admission("rtsp").ports(), "closing the relays gives back");
        } finally {
            plane.close();
        }
    }
}
