package io.msm.kernel.sip;

import static io.msm.kernel.sip.SipBed.NODE_UAC;
import static io.msm.kernel.sip.SipBed.NODE_UAS;
import static io.msm.kernel.sip.SipBed.UAC;
import static io.msm.kernel.sip.SipBed.UAS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msm.cli.Main;
import io.msm.cli.source.Sources;
import io.msm.testkit.Frame;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Packets;
import io.msm.testkit.Testkit;
import io.msm.testkit.Timeouts;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * One call between real SIP peers through msm in kernel mode: sipp's callee registers, sipp's
 * caller calls it through msm and plays g711a.pcap; the test's socket on the callee's media port
 * counts what arrives and echoes it back, and a capture program at the caller counts the echo. Both
 * directions go through the kernel relay (the node's sockets receive none of it), an intruder's RTP
 * to the anchored port is dropped in the kernel and counted, 'msm calls' shows the call with kernel
 * counters, and the BYE frees the ports and kernel entries.
 */
@KernelTest
@Tag("vm-slow")
class SipCallTest {
    @Test
    void aCallsMediaIsRelayedInTheKernelBothWaysAndOnlyFromTheNegotiatedSource() throws Exception {
        try (SipBed bed = new SipBed(SipBed.rtpTimeout(30_000));
                Testkit kit = Testkit.load()) {
            bed.startAgent();
            bed.register("bob");
            SipBed.Counter atUas = bed.counter(bed.uas, UAS, SipBed.UAS_RTP, true);
            kit.attach(bed.uac, "a0", Testkit.PROG_CAPTURE_PASS);
            long nodeUdpBefore = SipBed.udpInDatagrams(bed.node);

            Process callee = bed.uas(1);
            Timeouts.sleep(300);
            Process caller = bed.uac("bob", 1, 1, 8000);

            // the call is up and media flows
            bed.awaitCalls(
                    c ->
                            c.size() == 1
                                    && c.get(0).path("state").asText().equals("answered")
                                    && c.get(0)
                                                    .path("streams")
                                                    .get(0)
                                                    .path("caller_to_callee")
                                                    .path("packets")
                                                    .asLong()
                                            > 50,
                    15_000,
                    "an answered call with media");
            JsonNode call = bed.calls().get(0);
            JsonNode stream = call.path("streams").get(0);
            assertEquals(
                    "kernel",
                    stream.path("caller_to_callee").path("served_by").asText(),
                    call.toString());
            assertEquals(
                    "kernel",
                    stream.path("callee_to_caller").path("served_by").asText(),
                    call.toString());
            String callerSide = stream.path("caller_side").asText();
            assertTrue(
                    callerSide.startsWith(NODE_UAC + ":"),
                    "the caller sends to the node address facing it: " + call);
            assertTrue(
                    stream.path("callee_side").asText().startsWith(NODE_UAS + ":"),
                    call.toString());
            assertEquals(UAC + ":" + SipBed.UAC_RTP, stream.path("caller").path("rtp").asText());
            assertEquals(UAS + ":" + SipBed.UAS_RTP, stream.path("callee").path("rtp").asText());
            List<InetSocketAddress> ports = SipBed.nodePorts(bed.calls());

            // strict source: RTP from the intruder to the caller's anchored port
            int port = Integer.parseInt(callerSide.substring(callerSide.indexOf(':') + 1));
            bed.intruder.run(
                    () -> {
                        try (DatagramChannel c =
                                DatagramChannel.open()
                                        .bind(new InetSocketAddress(SipBed.INTR, 7000))) {
                            for (int i = 0; i < 50; i++) {
                                c.send(
                                        ByteBuffer.wrap(
                                                Packets.rtp(i, i * 160L, 0xBAD, 8, false, 160)),
                                        new InetSocketAddress(NODE_UAC, port));
                            }
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    });
            SipBed.waitFor(
                    () -> bed.metric("msm_sip_strict_drops_total") >= 50,
                    5000,
                    "50 strict drops counted");

            // msm calls, in the node namespace, against the real pins and the agent
            String cli =
                    bed.node.call(
                            () -> {
                                StringWriter out = new StringWriter();
                                StringWriter err = new StringWriter();
                                int code =
                                        Main.run(
                                                Sources.live(),
                                                new PrintWriter(out),
                                                new PrintWriter(err),
                                                "--bpffs",
                                                bed.bpffs.toString(),
                                                "calls",
                                                "--agent",
                                                "http://" + SipBed.METRICS + "/calls",
                                                "--json");
                                return code + "\n" + out + err;
                            });
            assertTrue(cli.startsWith("0\n"), cli);
            JsonNode rows = SipBed.JSON.readTree(cli.substring(2));
            JsonNode up = rows.get(0).path("streams").get(0).path("directions").get(0);
            assertEquals("kernel", up.path("counters").asText(), cli);
            assertTrue(up.path("strict_drops").asLong() >= 50, cli);
            assertTrue(up.path("packets").asLong() > 50, cli);
            assertEquals(0, up.path("lost").asLong(), "no loss on a veth: " + cli);

            assertEquals(
                    0, bed.await(caller, 30_000), "the caller's call completed\n" + bed.sippLogs());
            assertEquals(
                    0, bed.await(callee, 10_000), "the callee's call completed\n" + bed.sippLogs());
            bed.awaitCalls(JsonNode::isEmpty, 5000, "the call gone after BYE");

            double toCallee =
                    bed.metric("msm_sip_relayed_packets_total", "direction", "caller_to_callee");
            double toCaller =
                    bed.metric("msm_sip_relayed_packets_total", "direction", "callee_to_caller");
            long nodeUdp = SipBed.udpInDatagrams(bed.node) - nodeUdpBefore;
            long atCaller = 0;
            for (Testkit.Captured c : kit.drain()) {
                Frame f;
                try {
                    f = c.frame();
                } catch (RuntimeException e) {
                    continue; // not IPv4/UDP (ARP)
                }
                if (f.src() != null
                        && f.sport() == port
                        && f.dport() == SipBed.UAC_RTP
                        && f.src().getHostAddress().equals(NODE_UAC)) {
                    atCaller++;
                }
            }
            String numbers =
                    "relayed to callee "
                            + toCallee
                            + ", to caller "
                            + toCaller
                            + "; counted at callee "
                            + atUas.total.get()
                            + " (from the node "
                            + atUas.from(NODE_UAS)
                            + "), at caller "
                            + atCaller
                            + "; node sockets got "
                            + nodeUdp
                            + " datagrams";
            System.out.println("SipCallTest: " + numbers);
            assertTrue(toCallee >= 200, "g711a.pcap's packets relayed: " + numbers);
            assertEquals(
                    (long) toCallee,
                    atUas.total.get(),
                    "the callee got every copy, nothing else: " + numbers);
            assertEquals(
                    atUas.total.get(),
                    atUas.from(NODE_UAS),
                    "all from the node's callee-side port: " + numbers);
            assertTrue(
                    atCaller >= toCaller - 2 && toCaller >= atUas.total.get() - 10,
                    "the echo came back through the other relay: " + numbers);
            assertTrue(
                    nodeUdp < 40,
                    "the node's userspace saw the signalling only, no media: " + numbers);
            assertTrue(
                    bed.metric("msm_datapath_events_total", "event", "strict_drop") >= 50, numbers);
            assertEquals(0, bed.fanoutGroups(), "kernel entries removed after BYE");
            assertTrue(bed.bindable(ports), "the call's ports are free again: " + ports);
            assertEquals(1.0, bed.metric("msm_sip_calls_ended_total", "reason", "bye"));
            assertEquals(0.0, bed.metric("msm_sip_calls_active"));
        }
    }
}
