package io.msm.kernel.sip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msm.testkit.AgentProcess;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Timeouts;
import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The agent is killed with SIGKILL in the middle of a call: the kernel keeps relaying its media;
 * the restarted agent restores the call from its state file and reclaims the call's kernel groups
 * (no duplicates); the caller's BYE then goes through the new agent and frees the ports and
 * entries.
 */
@KernelTest
@Tag("vm-slow")
class SipRestartTest {
    @Test
    void aCallSurvivesSigkillAndItsByeStillCleansUp() throws Exception {
        try (SipBed bed = new SipBed(SipBed.rtpTimeout(30_000))) {
            AgentProcess first = bed.startAgent();
            bed.register("bob");
            SipBed.Counter atUas = bed.counter(bed.uas, SipBed.UAS, SipBed.UAS_RTP, false);
            Process callee = bed.uas(1);
            Timeouts.sleep(300);
            Process caller = bed.uac("bob", 1, 1, 9000);
            SipBed.waitFor(() -> atUas.total.get() > 30, 15_000, "media at the callee");
            JsonNode before = bed.calls();
            assertEquals(1, before.size());
            List<InetSocketAddress> ports = SipBed.nodePorts(before);

            first.kill();
            assertFalse(first.alive());
            long atKill = atUas.total.get();
            Thread.sleep(1000);
            long whileDown = atUas.total.get() - atKill;
            assertTrue(
                    whileDown > 30,
                    "media keeps flowing while the agent is down: "
                            + whileDown
                            + " packets in 1 s");

            AgentProcess second = bed.startAgent();
            assertTrue(second.log().contains("restored 1 of 1 call(s)"), second.log());
            assertTrue(second.log().contains("reclaimed fan-out group"), second.log());
            JsonNode after = bed.calls();
            assertEquals(1, after.size(), after.toString());
            assertEquals(
                    before.get(0).path("call_id").asText(), after.get(0).path("call_id").asText());
            assertEquals(SipBed.nodePorts(before), SipBed.nodePorts(after), "the same node ports");
            assertEquals(
                    4, bed.fanoutGroups(), "the call's four groups, reclaimed, not duplicated");

            assertEquals(
                    0,
                    bed.await(caller, 30_000),
                    "the caller's BYE went through the restarted agent\n" + bed.sippLogs());
            assertEquals(0, bed.await(callee, 10_000), bed.sippLogs());
            bed.awaitCalls(JsonNode::isEmpty, 5000, "the call ended by the BYE");
            Timeouts.sleep(200);
            String numbers =
                    atUas.total.get()
                            + " packets at the callee, "
                            + whileDown
                            + " while the agent was down";
            System.out.println("SipRestartTest: " + numbers);
            assertTrue(
                    atUas.total.get() >= 230,
                    "the whole g711a.pcap (236 packets) arrived: " + numbers);
            assertEquals(0, bed.fanoutGroups(), "kernel entries removed");
            assertTrue(bed.bindable(ports), "ports free again");
            assertEquals(1.0, bed.metric("msm_sip_calls_ended_total", "reason", "bye"));
        }
    }
}
