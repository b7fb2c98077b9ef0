package io.msm.kernel.sip;

import static io.msm.kernel.sip.SipBed.NODE_UAC;
import static io.msm.kernel.sip.SipBed.NODE_UAS;
import static io.msm.kernel.sip.SipBed.UAC;
import static io.msm.kernel.sip.SipBed.UAS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msm.testkit.AgentProcess;
import io.msm.testkit.Frame;
import io.msm.testkit.KernelTest;
import io.msm.testkit.KernelTestCondition;
import io.msm.testkit.Sh;
import io.msm.testkit.Testkit;
import io.msm.testkit.Timeouts;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Kamailio drives msm's media relay over rtpengine's NG protocol, unchanged: the test ships a
 * Kamailio config (resources/kamailio/kamailio-ng.cfg: the rtpengine module, the flags common
 * configs send) that sits between sipp's caller and callee in the node namespace, its {@code
 * rtpengine_sock} pointed at msm-agent's NG listener on loopback. G.711 media flows both ways
 * through msm's kernel relay, the BYE's delete frees everything, and an agent killed mid-call
 * leaves the media flowing and answers query/delete once restarted. rtpengine's own NG client
 * (rtpengine-utils) does an offer/answer/query/delete round trip.
 */
@KernelTest
@Tag("vm-slow")
class KamailioNgTest {
    static final String NG = "127.0.0.1:2223";

    /** The agent's ng section: Kamailio's direction=uac/uas name the node's two sides. */
    static String ngYaml(SipBed bed) {
        return String.join(
                "\n",
                SipBed.rtpTimeout(30_000),
                "ng:",
                "  listen: " + NG,
                "  interfaces: {uac: " + NODE_UAC + ", uas: " + NODE_UAS + "}",
                "  state-file: " + bed.work.resolve("ng-state.json"));
    }

    static void requirePeers() {
        KernelTestCondition.requireTools("kamailio", "rtpengine-ng-client");
    }

    /** Kamailio in the node namespace on 5080, its rtpengine module at {@code ng}. */
    static Process kamailio(SipBed bed, String ng, String direction) throws IOException {
        String cfg;
        try (InputStream in =
                KamailioNgTest.class.getResourceAsStream("/kamailio/kamailio-ng.cfg")) {
            cfg = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        cfg =
                cfg.replace("@NODE_UAC@", NODE_UAC)
                        .replace("@NODE_UAS@", NODE_UAS)
                        .replace("@UAS@", UAS)
                        .replace("@NG@", "udp:" + ng)
                        .replace("@DIRECTION@", direction);
        Path f = bed.work.resolve("kamailio.cfg");
        Files.writeString(f, cfg);
        List<String> cmd =
                List.of(
                        "ip",
                        "netns",
                        "exec",
                        bed.node.name(),
                        "kamailio",
                        "-f",
                        f.toString(),
                        "-DD",
                        "-E",
                        "-L",
                        "/usr/lib/x86_64-linux-gnu/kamailio/modules",
                        "-Y",
                        bed.work.toString(),
                        "-P",
                        bed.work.resolve("kamailio.pid").toString());
        Process p =
                new ProcessBuilder(cmd)
                        .redirectErrorStream(true)
                        .redirectOutput(bed.work.resolve("kamailio-0.out").toFile())
                        .start();
        bed.adopt(p);
        return p;
    }

    /** sipp's caller, calling through Kamailio (5080) and playing g711a.pcap. */
    static Process caller(SipBed bed, int talkMs) throws IOException {
        return bed.sipp(
                bed.uac,
                NODE_UAC + ":5080",
                "-sf",
                "uac.xml",
                "-s",
                "bob",
                "-i",
                UAC,
                "-p",
                "5061",
                "-mi",
                UAC,
                "-mp",
                Integer.toString(SipBed.UAC_RTP),
                "-key",
                "pcap",
                SipBed.pcap(),
                "-d",
                Long.toString(Timeouts.ms(talkMs)),
                "-m",
                "1",
                "-l",
                "1",
                "-r",
                "1");
    }

    /** rtpengine-ng-client in the node namespace; its Data::Dumper output. */
    static String ngClient(SipBed bed, String... args) {
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                "ip",
                                "netns",
                                "exec",
                                bed.node.name(),
                                "rtpengine-ng-client",
                                "--proxy-address=127.0.0.1",
                                "--proxy-port=2223"));
        cmd.addAll(List.of(args));
        Sh.Result r = Sh.exec(20, cmd.toArray(new String[0]));
        return r.out() + r.err();
    }

    /**
     * The client prints the result dictionary without its "result" when that is "ok": an answer
     * with neither an error nor a warning.
     */
    static boolean answered(String out) {
        boolean replied = out.contains("Result dictionary:") || out.contains("New SDP:");
        return replied && !out.contains("error-reason") && !out.contains("warning");
    }

    static JsonNode ngCall(SipBed bed) throws IOException {
        JsonNode calls = bed.calls();
        assertEquals(1, calls.size(), calls.toString());
        assertEquals("ng", calls.get(0).path("via").asText(), calls.toString());
        return calls.get(0);
    }

    @Test
    void kamailioAnchorsACallsMediaInMsmsKernelRelay() throws Exception {
        requirePeers();
        try (SipBed bed = new SipBed("");
                Testkit kit = Testkit.load()) {
            Files.writeString(bed.config, ngYaml(bed) + "\n", StandardOpenOption.APPEND);
            bed.startAgent();
            kamailio(bed, NG, "direction=uac direction=uas");
            SipBed.Counter atUas = bed.counter(bed.uas, UAS, SipBed.UAS_RTP, true);
            kit.attach(bed.uac, "a0", Testkit.PROG_CAPTURE_PASS);
            Timeouts.sleep(1500); // Kamailio up, its rtpengine module has pinged msm
            long nodeUdpBefore = SipBed.udpInDatagrams(bed.node);

            Process callee = bed.uas(1);
            Timeouts.sleep(300);
            Process caller = caller(bed, 8000);
            bed.awaitCalls(
                    c ->
                            c.size() == 1
                                    && c.get(0).path("state").asText().equals("answered")
                                    && c.get(0)
                                                    .path("streams")
                                                    .get(0)
                                                    .path("callee_to_caller")
                                                    .path("packets")
                                                    .asLong()
                                            > 50,
                    20_000,
                    "a call set up over NG with media both ways\n" + bed.sippLogs());
            JsonNode call = ngCall(bed);
            JsonNode stream = call.path("streams").get(0);
            assertEquals("kernel", stream.path("caller_to_callee").path("served_by").asText());
            assertEquals("kernel", stream.path("callee_to_caller").path("served_by").asText());
            String callerSide = stream.path("caller_side").asText();
            assertTrue(callerSide.startsWith(NODE_UAC + ":"), "direction=uac: " + call);
            assertTrue(
                    stream.path("callee_side").asText().startsWith(NODE_UAS + ":"),
                    "direction=uas: " + call);
            assertEquals(UAC + ":" + SipBed.UAC_RTP, stream.path("caller").path("rtp").asText());
            assertEquals(UAS + ":" + SipBed.UAS_RTP, stream.path("callee").path("rtp").asText());
            List<InetSocketAddress> ports = SipBed.nodePorts(bed.calls());
            assertEquals(4, bed.fanoutGroups(), "the call's four kernel groups");
            assertEquals(4.0, bed.metric("msm_ng_media_ports"), "the call's share: four ports");
            assertEquals(4.0, bed.metric("msm_ng_media_groups"), "and four groups");
            int port = Integer.parseInt(callerSide.substring(callerSide.indexOf(':') + 1));

            // rtpengine's query, from rtpengine's own client
            String q = ngClient(bed, "query", "--call-id=" + call.path("call_id").asText());
            assertTrue(answered(q) && q.contains("tags =>"), q);
            assertTrue(q.contains("kernelized"), q);

            assertEquals(0, bed.await(caller, 30_000), "the call completed\n" + bed.sippLogs());
            assertEquals(0, bed.await(callee, 10_000), bed.sippLogs());
            bed.awaitCalls(JsonNode::isEmpty, 5000, "the call deleted by Kamailio on BYE");

            long nodeUdp = SipBed.udpInDatagrams(bed.node) - nodeUdpBefore;
            long atCaller = 0;
            for (Testkit.Captured c : kit.drain()) {
                Frame f;
                try {
                    f = c.frame();
                } catch (RuntimeException e) {
                    continue;
                }
                if (f.src() != null
                        && f.sport() == port
                        && f.dport() == SipBed.UAC_RTP
                        && f.src().getHostAddress().equals(NODE_UAC)) {
                    atCaller++;
                }
            }
            String numbers =
                    "counted at the callee "
                            + atUas.total.get()
                            + " (from the node "
                            + atUas.from(NODE_UAS)
                            + "), echoes at the caller "
                            + atCaller
                            + "; node sockets got "
                            + nodeUdp
                            + " datagrams (SIP and NG)";
            System.out.println("KamailioNgTest: " + numbers);
            assertTrue(atUas.total.get() >= 200, "g711a.pcap's packets arrived: " + numbers);
            assertEquals(atUas.total.get(), atUas.from(NODE_UAS), numbers);
            assertTrue(atCaller >= atUas.total.get() - 10, "the echo came back: " + numbers);
            assertTrue(
                    nodeUdp < 100,
                    "the node's userspace saw signalling only, no media: " + numbers);
            assertEquals(0, bed.fanoutGroups(), "kernel groups removed by the delete");
            assertTrue(bed.bindable(ports), "ports free again: " + ports);
            assertEquals(1.0, bed.metric("msm_ng_calls_ended_total", "reason", "delete"));
            assertEquals(0.0, bed.metric("msm_ng_calls_active"));
            assertEquals(0.0, bed.metric("msm_ng_media_ports"), "the share is back to zero");
            assertEquals(0.0, bed.metric("msm_ng_media_groups"));
            assertTrue(
                    bed.metric("msm_ng_requests_total", "command", "offer", "result", "ok") >= 1);
            assertTrue(
                    bed.metric("msm_ng_requests_total", "command", "answer", "result", "ok") >= 1);
        }
    }

    @Test
    void aCallSurvivesSigkillOfTheAgentAndIsDeletedByTheRestartedOne() throws Exception {
        requirePeers();
        try (SipBed bed = new SipBed("")) {
            Files.writeString(bed.config, ngYaml(bed) + "\n", StandardOpenOption.APPEND);
            AgentProcess first = bed.startAgent();
            kamailio(bed, NG, "direction=uac direction=uas");
            SipBed.Counter atUas = bed.counter(bed.uas, UAS, SipBed.UAS_RTP, false);
            Timeouts.sleep(1500);
            Process callee = bed.uas(1);
            Timeouts.sleep(300);
            Process caller = caller(bed, 9000);
            SipBed.waitFor(() -> atUas.total.get() > 30, 20_000, "media at the callee");
            JsonNode before = ngCall(bed);
            List<InetSocketAddress> ports = SipBed.nodePorts(bed.calls());

            first.kill();
            assertFalse(first.alive());
            long atKill = atUas.total.get();
            Thread.sleep(1000);
            long whileDown = atUas.total.get() - atKill;
            assertTrue(whileDown > 30, "media flows with the agent down: " + whileDown + " in 1 s");

            AgentProcess second = bed.startAgent();
            assertTrue(second.log().contains("restored 1 of 1 NG call(s)"), second.log());
            assertTrue(second.log().contains("reclaimed fan-out group"), second.log());
            JsonNode after = ngCall(bed);
            assertEquals(before.path("call_id").asText(), after.path("call_id").asText());
            assertEquals(ports, SipBed.nodePorts(bed.calls()), "the same node ports");
            assertEquals(4, bed.fanoutGroups(), "reclaimed, not duplicated");
            String q = ngClient(bed, "query", "--call-id=" + after.path("call_id").asText());
            assertTrue(answered(q) && q.contains("tags =>"), q);

            assertEquals(0, bed.await(caller, 30_000), "BYE after the restart\n" + bed.sippLogs());
            assertEquals(0, bed.await(callee, 10_000), bed.sippLogs());
            bed.awaitCalls(JsonNode::isEmpty, 5000, "deleted by the restarted agent");
            String numbers = atUas.total.get() + " at the callee, " + whileDown + " while down";
            System.out.println("KamailioNgTest restart: " + numbers);
            assertTrue(atUas.total.get() >= 230, "the whole pcap arrived: " + numbers);
            assertEquals(0, bed.fanoutGroups(), "kernel entries removed");
            assertTrue(bed.bindable(ports), "ports free again");
        }
    }

    @Test
    void rtpenginesOwnClientRoundTrips() throws Exception {
        requirePeers();
        try (SipBed bed = new SipBed("")) {
            Files.writeString(bed.config, ngYaml(bed) + "\n", StandardOpenOption.APPEND);
            bed.startAgent();
            String sdpA =
                    "v=0\no=a 1 1 IN IP4 "
                            + UAC
                            + "\ns=-\nc=IN IP4 "
                            + UAC
                            + "\nt=0 0\nm=audio 7000 RTP/AVP 8\na=sendrecv\n";
            String sdpB = sdpA.replace(UAC, UAS).replace("7000", "6000");
            assertTrue(ngClient(bed, "ping").contains("pong"));
            String o =
                    ngClient(
                            bed,
                            "offer",
                            "--call-id=cli-1",
                            "--from-tag=a",
                            "--trust-address",
                            "--replace-origin",
                            "--replace-session-connection",
                            "--ICE=remove",
                            "--protocol=RTP/AVP",
                            "--direction=uac,uas",
                            "--sdp=" + sdpA);
            assertTrue(answered(o) && o.contains("New SDP:"), o);
            assertTrue(o.contains("c=IN IP4 " + NODE_UAS), "the callee is told the uas side: " + o);
            String a =
                    ngClient(
                            bed,
                            "answer",
                            "--call-id=cli-1",
                            "--from-tag=a",
                            "--to-tag=b",
                            "--trust-address",
                            "--sdp=" + sdpB);
            assertTrue(answered(a) && a.contains("New SDP:"), a);
            assertTrue(a.contains("c=IN IP4 " + NODE_UAC), a);
            String q = ngClient(bed, "query", "--call-id=cli-1");
            assertTrue(answered(q) && q.contains("tags =>"), q);
            String l = ngClient(bed, "list");
            assertTrue(l.contains("cli-1"), l);
            assertEquals(4, bed.fanoutGroups());
            String d = ngClient(bed, "delete", "--call-id=cli-1", "--from-tag=a");
            assertTrue(answered(d) && d.contains("totals =>"), d);
            assertEquals(0, bed.fanoutGroups());
            String u = ngClient(bed, "query", "--call-id=cli-1");
            assertTrue(u.contains("Unknown call-id"), u);
        }
    }
}
