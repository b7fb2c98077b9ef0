package io.msm.kernel.sip;

import static io.msm.kernel.sip.SipBed.INTR;
import static io.msm.kernel.sip.SipBed.NODE_INTR;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.msm.testkit.KernelTest;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * One untrusted source cannot take what others need, in namespaces with the real agent and sipp: a
 * flood of tagged INVITEs and INVITEs with many m= lines from the intruder hit their limits, and
 * 1,030 idle TCP connections from it are capped per source — while the trusted caller's call over
 * TCP, with media in the kernel, goes through.
 */
@KernelTest
@Tag("vm-slow")
class SipLimitsTest {
    static String invite(int i, String toTag, int lines) {
        StringBuilder sdp =
                new StringBuilder(
                        "v=0\r\no=- 1 1 IN IP4 "
                                + INTR
                                + "\r\ns=-\r\nc=IN IP4 "
                                + INTR
                                + "\r\nt=0 0\r\n");
        for (int k = 0; k < lines; k++) {
            sdp.append("m=audio ").append(7000 + 2 * k).append(" RTP/AVP 8\r\n");
        }
        String uri = "sip:bob@" + NODE_INTR + ":5060";
        return "INVITE "
                + uri
                + " SIP/2.0\r\nVia: SIP/2.0/UDP "
                + INTR
                + ":5099;branch=z9hG4bK-f"
                + i
                + "-"
                + System.nanoTime()
                + ";rport\r\nMax-Forwards: 70\r\nFrom: <sip:eve@"
                + INTR
                + ">;tag=e"
                + i
                + "\r\nTo: <"
                + uri
                + ">"
                + (toTag == null ? "" : ";tag=" + toTag)
                + "\r\nCall-ID: flood-"
                + i
                + "\r\nCSeq: 1 INVITE\r\nContact: <sip:eve@"
                + INTR
                + ":5099>\r\nContent-Type: application/sdp\r\nContent-Length: "
                + sdp.length()
                + "\r\n\r\n"
                + sdp;
    }

    @Test
    void anIntrudersFloodsAndIdleConnectionsDoNotStopAnotherSourcesCall() throws Exception {
        try (SipBed bed = new SipBed("  rtp-timeout: 30s")) {
            bed.startAgent();
            bed.register("bob");
            // 1,030 idle TCP connections from the intruder
            List<Socket> idle = new ArrayList<>();
            int connected = 0;
            long t0 = System.nanoTime();
            try {
                for (int i = 0; i < 1030; i++) {
                    Socket s =
                            bed.intruder.call(
                                    () -> {
                                        Socket x = new Socket();
                                        x.connect(new InetSocketAddress(NODE_INTR, 5060), 2000);
                                        return x;
                                    });
                    idle.add(s);
                    connected++;
                }
                long connectMs = (System.nanoTime() - t0) / 1_000_000;
                // a flood of tagged INVITEs and INVITEs with 16 m= lines, over UDP
                int answered = 0;
                int busy = 0;
                int noDialog = 0;
                int tooManyLines = 0;
                try (DatagramChannel ch =
                        bed.intruder.call(
                                () ->
                                        DatagramChannel.open()
                                                .bind(new InetSocketAddress(INTR, 5099)))) {
                    InetSocketAddress msm = new InetSocketAddress(NODE_INTR, 5060);
                    for (int i = 0; i < 200; i++) {
                        String m = i % 10 == 9 ? invite(i, null, 16) : invite(i, "t" + i, 1);
                        ch.send(ByteBuffer.wrap(m.getBytes(StandardCharsets.UTF_8)), msm);
                    }
                    ch.configureBlocking(false);
                    long end = System.nanoTime() + 2_000_000_000L;
                    ByteBuffer b = ByteBuffer.allocate(65535);
                    while (System.nanoTime() < end) {
                        b.clear();
                        if (ch.receive(b) == null) {
                            Thread.sleep(5);
                            continue;
                        }
                        b.flip();
                        String r = StandardCharsets.UTF_8.decode(b).toString();
                        answered++;
                        busy += r.startsWith("SIP/2.0 503") ? 1 : 0;
                        noDialog += r.startsWith("SIP/2.0 481") ? 1 : 0;
                        tooManyLines += r.startsWith("SIP/2.0 488") ? 1 : 0;
                    }
                }
                // meanwhile the trusted caller's call over TCP, media in the kernel
                SipBed.Counter atUas = bed.counter(bed.uas, SipBed.UAS, SipBed.UAS_RTP, false);
                Process callee = bed.uas(1);
                Thread.sleep(300);
                Process caller = bed.uac("bob", 1, 1, 3000, "t1");
                bed.awaitCalls(
                        c -> c.size() == 1 && c.get(0).path("state").asText().equals("answered"),
                        15_000,
                        "the call answered");
                JsonNode stream = bed.calls().get(0).path("streams").get(0);
                assertEquals(0, bed.await(caller, 30_000), "the call\n" + bed.sippLogs());
                assertEquals(0, bed.await(callee, 10_000), bed.sippLogs());
                double perSource =
                        bed.metric(
                                "msm_refused_total",
                                "protocol",
                                "sip",
                                "reason",
                                "connections_per_source");
                String numbers =
                        connected
                                + " connections in "
                                + connectMs
                                + " ms, "
                                + perSource
                                + " refused per source; 200 INVITEs: "
                                + answered
                                + " answered, "
                                + noDialog
                                + " 481, "
                                + busy
                                + " 503, "
                                + tooManyLines
                                + " 488; the call's media at the callee: "
                                + atUas.total.get();
                System.out.println("SipLimitsTest: " + numbers);
                assertEquals("kernel", stream.path("caller_to_callee").path("served_by").asText());
                assertTrue(perSource >= 1030 - 32, numbers);
                assertTrue(busy >= 100, "the per-source INVITE rate: " + numbers);
                assertTrue(noDialog >= 1 && tooManyLines >= 1, numbers);
                assertTrue(atUas.total.get() >= 50, numbers);
                atUas.close();
            } finally {
                for (Socket s : idle) {
                    s.close();
                }
            }
        }
    }
}
