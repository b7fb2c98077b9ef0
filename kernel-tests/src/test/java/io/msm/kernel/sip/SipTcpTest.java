package io.msm.kernel.sip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Timeouts;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * sipp calling over TCP through msm to a callee on UDP: msm record-routes once per transport (RFC
 * 5658), the ACK and BYE come back over the caller's connection along that route set, and the media
 * is anchored as over UDP.
 */
@KernelTest
@Tag("vm-slow")
class SipTcpTest {
    @Test
    void aTcpCallerReachesAUdpCalleeThroughMsm() throws Exception {
        try (SipBed bed = new SipBed(SipBed.rtpTimeout(30_000))) {
            bed.startAgent();
            bed.register("bob");
            SipBed.Counter atUas = bed.counter(bed.uas, SipBed.UAS, SipBed.UAS_RTP, false);
            Process callee = bed.uas(1);
            Timeouts.sleep(300);
            Process caller = bed.uac("bob", 1, 1, 3000, "t1");
            bed.awaitCalls(
                    c -> c.size() == 1 && c.get(0).path("state").asText().equals("answered"),
                    15_000,
                    "the call answered");
            assertEquals(
                    0,
                    bed.await(caller, 30_000),
                    "the TCP caller's call completed\n" + bed.sippLogs());
            assertEquals(0, bed.await(callee, 10_000), bed.sippLogs());
            bed.awaitCalls(JsonNode::isEmpty, 5000, "the call ended by the BYE over TCP");
            Timeouts.sleep(200);
            double relayed =
                    bed.metric("msm_sip_relayed_packets_total", "direction", "caller_to_callee");
            System.out.println(
                    "SipTcpTest: relayed " + relayed + ", at the callee " + atUas.total.get());
            assertTrue(relayed >= 50, "media relayed: " + relayed);
            assertEquals((long) relayed, atUas.total.get());
            assertEquals(1.0, bed.metric("msm_sip_calls_ended_total", "reason", "bye"));
            assertEquals(0, bed.fanoutGroups());
        }
    }
}
