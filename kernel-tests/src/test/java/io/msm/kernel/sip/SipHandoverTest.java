package io.msm.kernel.sip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msm.testkit.AgentProcess;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Timeouts;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A seamless upgrade in the middle of a call: the new agent (--handover) takes over the SIP socket
 * and the call's relay sockets, restores the call from the state file (the same node ports, the
 * kernel groups reclaimed, not duplicated), the old agent exits; the callee's media never stops and
 * the caller's BYE goes through the new agent.
 */
@KernelTest
@Tag("vm-slow")
class SipHandoverTest {
    @Test
    void aCallSurvivesAHandoverAndItsByeStillCleansUp() throws Exception {
        try (SipBed bed = new SipBed(SipBed.rtpTimeout(30_000))) {
            Path sock = bed.work.resolve("handover.sock");
            List<String> args =
                    List.of("--config", bed.config.toString(), "--handover", sock.toString());
            AgentProcess first =
                    AgentProcess.start(bed.node, SipBed.METRICS, args).awaitReady(30_000);
            bed.agent = first;
            try {
                bed.register("bob");
                SipBed.Counter atUas = bed.counter(bed.uas, SipBed.UAS, SipBed.UAS_RTP, false);
                Process callee = bed.uas(1);
                Timeouts.sleep(300);
                Process caller = bed.uac("bob", 1, 1, 9000);
                SipBed.waitFor(() -> atUas.total.get() > 30, 15_000, "media at the callee");
                Timeouts.sleep(1000); // the state file has the answered call
                JsonNode before = bed.calls();
                assertEquals(1, before.size());
                List<InetSocketAddress> ports = SipBed.nodePorts(before);

                long atStart = atUas.total.get();
                AgentProcess second = AgentProcess.start(bed.node, SipBed.METRICS, args);
                SipBed.waitFor(
                        () -> !first.alive(),
                        60_000,
                        "the first agent to hand over and exit\n"
                                + first.log()
                                + "\n---\n"
                                + second.log());
                bed.agent = second;
                long during = atUas.total.get() - atStart;
                assertEquals(0, first.stop(), first.log());
                assertTrue(
                        second.log().contains("took over from the previous agent"), second.log());
                assertTrue(second.log().contains("restored 1 of 1 call(s)"), second.log());
                JsonNode after = bed.calls();
                assertEquals(1, after.size(), after.toString());
                assertEquals(
                        before.get(0).path("call_id").asText(),
                        after.get(0).path("call_id").asText());
                assertEquals(ports, SipBed.nodePorts(after), "the same node ports");
                assertEquals(
                        4, bed.fanoutGroups(), "the call's four groups, reclaimed, not duplicated");

                assertEquals(
                        0,
                        bed.await(caller, 30_000),
                        "the caller's BYE went through the new agent\n" + bed.sippLogs());
                assertEquals(0, bed.await(callee, 10_000), bed.sippLogs());
                bed.awaitCalls(JsonNode::isEmpty, 5000, "the call ended by the BYE");
                Timeouts.sleep(200);
                String numbers =
                        atUas.total.get()
                                + " packets at the callee, "
                                + during
                                + " while the new agent started and took over";
                System.out.println("SipHandoverTest: " + numbers);
                assertTrue(
                        atUas.total.get() >= 230,
                        "the whole g711a.pcap (236 packets) arrived: " + numbers);
                assertEquals(0, bed.fanoutGroups(), "kernel entries removed");
                assertTrue(bed.bindable(ports), "ports free again");
            } finally {
                if (first.alive()) {
                    first.close();
                }
            }
        }
    }
}
