package io.msm.kernel.sip;

import static io.msm.kernel.sip.SipBed.NODE_UAS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Timeouts;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * 100 concurrent calls with media between sipp peers through msm: all complete, the callee's media
 * socket gets every copy the kernel relays, and afterwards every port and kernel entry is gone.
 * Under an emulated CPU (the VM runner, {@link Timeouts#scale()} above 1) 30 calls: sipp plays a
 * pcap per call in real time, and a hundred of those plus their set-up do not keep up on two
 * emulated CPUs. The test says so.
 */
@KernelTest
@Tag("vm-slow")
class SipLoadTest {
    static final int CALLS = Timeouts.scale() > 1 ? 30 : 100;

    @Test
    void aHundredConcurrentCallsCompleteAndLeaveNothingBehind() throws Exception {
        try (SipBed bed =
                new SipBed(
                        SipBed.rtpTimeout(30_000)
                                + "\n  max-calls: 200\n  invites-per-second: 200")) {
            if (CALLS != 100) {
                System.out.println("SipLoadTest: " + CALLS + " calls, not 100 (an emulated CPU)");
            }
            bed.startAgent();
            bed.register("bob");
            SipBed.Counter atUas = bed.counter(bed.uas, SipBed.UAS, SipBed.UAS_RTP, false);
            long nodeUdpBefore = SipBed.udpInDatagrams(bed.node);
            Process callee = bed.uas(CALLS);
            Timeouts.sleep(300);
            long t0 = System.nanoTime();
            Process caller = bed.uac("bob", CALLS, 50, 6000);

            // all 100 up at once: note their ports, and the kernel's groups (4 per call)
            AtomicReference<JsonNode> peak = new AtomicReference<>();
            AtomicInteger most = new AtomicInteger();
            try {
                bed.awaitCalls(
                        c -> {
                            int answered = 0;
                            for (JsonNode x : c) {
                                answered += x.path("state").asText().equals("answered") ? 1 : 0;
                            }
                            peak.set(c);
                            most.accumulateAndGet(answered, Math::max);
                            return answered == CALLS;
                        },
                        20_000,
                        CALLS + " answered calls at once");
            } catch (AssertionError e) {
                throw new AssertionError(
                        e.getMessage() + " (at most " + most.get() + " were)\n" + bed.sippLogs(),
                        e);
            }
            int groups = bed.fanoutGroups();
            List<InetSocketAddress> ports = SipBed.nodePorts(peak.get());
            int kernelServed = 0;
            for (JsonNode c : peak.get()) {
                for (String d : new String[] {"caller_to_callee", "callee_to_caller"}) {
                    kernelServed +=
                            c.path("streams")
                                            .get(0)
                                            .path(d)
                                            .path("served_by")
                                            .asText()
                                            .equals("kernel")
                                    ? 1
                                    : 0;
                }
            }

            assertEquals(0, bed.await(caller, 60_000), "every call completed\n" + bed.sippLogs());
            assertEquals(
                    0,
                    bed.await(callee, 15_000),
                    "every call answered and hung up\n" + bed.sippLogs());
            long seconds = (System.nanoTime() - t0) / 1_000_000_000L;
            bed.awaitCalls(JsonNode::isEmpty, 10_000, "no calls left");
            Timeouts.sleep(300); // copies in flight reach the socket

            double relayed =
                    bed.metric("msm_sip_relayed_packets_total", "direction", "caller_to_callee");
            long nodeUdp = SipBed.udpInDatagrams(bed.node) - nodeUdpBefore;
            String numbers =
                    CALLS
                            + " calls in "
                            + seconds
                            + " s; "
                            + groups
                            + " kernel groups at the peak, "
                            + kernelServed
                            + " directions served by the kernel; relayed "
                            + relayed
                            + " packets to the callee, "
                            + "its socket got "
                            + atUas.total.get()
                            + "; node sockets got "
                            + nodeUdp
                            + " datagrams; "
                            + "answered "
                            + bed.metric("msm_sip_call_outcomes_total", "outcome", "answered");
            System.out.println("SipLoadTest: " + numbers);
            assertEquals(
                    4 * CALLS, groups, "an RTP and an RTCP group per side per call: " + numbers);
            assertEquals(2 * CALLS, kernelServed, numbers);
            assertEquals(
                    CALLS,
                    bed.metric("msm_sip_call_outcomes_total", "outcome", "answered"),
                    0.0,
                    numbers);
            assertEquals(
                    CALLS, bed.metric("msm_sip_calls_ended_total", "reason", "bye"), 0.0, numbers);
            assertTrue(relayed >= CALLS * 150, "each call's pcap relayed: " + numbers);
            assertEquals(
                    (long) relayed, atUas.total.get(), "every copy reached the callee: " + numbers);
            assertEquals(atUas.total.get(), atUas.from(NODE_UAS), numbers);
            assertTrue(
                    nodeUdp < 20L * CALLS && nodeUdp < relayed / 10,
                    "the node's sockets got signalling, not media: " + numbers);
            assertEquals(0, bed.fanoutGroups(), "no kernel entries left: " + numbers);
            assertEquals(0.0, bed.metric("msm_sip_calls_active"));
            List<InetSocketAddress> all = new ArrayList<>(ports);
            assertEquals(4 * CALLS, all.size(), "an RTP and RTCP port per side per call");
            assertTrue(bed.bindable(all), "all " + all.size() + " node ports are free again");
        }
    }
}
