package io.msm.kernel.sip;

import static io.msm.kernel.sip.SipBed.INTR;
import static io.msm.kernel.sip.SipBed.NODE_INTR;
import static io.msm.kernel.sip.SipBed.UAS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.msm.agent.auth.Credentials;
import io.msm.testkit.KernelTest;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * No open relay, in namespaces with the real agent (kernel media plane) and sipp, nobody trusted:
 * an intruder's INVITE to an IP literal is refused and the target receives nothing; the intruder's
 * REGISTER for bob and its Contact: * are refused; bob's sipp registers with a wrong password
 * (refused) and the right one (sipp's -au/-ap answer the Digest challenge), and then a caller that
 * is not trusted either reaches bob, with media in the kernel; the intruder's re-INVITEs with the
 * call's Call-ID and tags (as either party) are refused and the media stays where it was.
 */
@KernelTest
@Tag("vm-slow")
class SipRelayTest {
    static String request(String method, String uri, String to, String extra, String body) {
        return method
                + " "
                + uri
                + " SIP/2.0\r\nVia: SIP/2.0/UDP "
                + INTR
                + ":5099;branch=z9hG4bK-"
                + System.nanoTime()
                + ";rport\r\nMax-Forwards: 70\r\nFrom: <sip:eve@"
                + INTR
                + ">;tag=e1\r\nTo: <"
                + to
                + ">\r\nCall-ID: eve-"
                + System.nanoTime()
                + "\r\nCSeq: 1 "
                + method
                + "\r\nContact: <sip:eve@"
                + INTR
                + ":5099>\r\n"
                + extra
                + (body.isEmpty() ? "" : "Content-Type: application/sdp\r\n")
                + "Content-Length: "
                + body.length()
                + "\r\n\r\n"
                + body;
    }

    /** Sends from the intruder's namespace and returns the status codes msm answered within 1 s. */
    static List<String> fromIntruder(SipBed bed, String msg) throws Exception {
        DatagramChannel ch =
                bed.intruder.call(
                        () -> DatagramChannel.open().bind(new InetSocketAddress(INTR, 5099)));
        try {
            ch.send(
                    ByteBuffer.wrap(msg.getBytes(StandardCharsets.UTF_8)),
                    new InetSocketAddress(NODE_INTR, 5060));
            ch.configureBlocking(false);
            List<String> got = new ArrayList<>();
            long end = System.nanoTime() + 1_000_000_000L;
            ByteBuffer b = ByteBuffer.allocate(65535);
            while (System.nanoTime() < end) {
                b.clear();
                if (ch.receive(b) == null) {
                    Thread.sleep(10);
                    continue;
                }
                b.flip();
                String r = StandardCharsets.UTF_8.decode(b).toString();
                got.add(r.substring(8, 11)); // the status code
            }
            return got;
        } finally {
            ch.close();
        }
    }

    @Test
    void anUntrustedSourceCannotRelayNorTakeOverARegistration() throws Exception {
        Path users = Files.createTempFile("msm-sip-users", "");
        Files.write(users, Credentials.lines("bob", "msm", "bob-secret"), StandardCharsets.UTF_8);
        try (SipBed bed =
                new SipBed(
                        "  rtp-timeout: 30s\n  trusted: []\n  users-file: "
                                + users
                                + "\n  auth: {algorithms: [MD5]}")) {
            bed.startAgent();
            // the target of a toll-fraud INVITE, listening in the callee's network
            try (SipBed.Counter target = bed.counter(bed.uas, UAS, 5090, false)) {
                String sdp =
                        "v=0\r\no=- 1 1 IN IP4 "
                                + INTR
                                + "\r\ns=-\r\nc=IN IP4 "
                                + INTR
                                + "\r\nt=0 0\r\nm=audio 7000 RTP/AVP 8\r\n";
                String uri = "sip:+19005550100@" + UAS + ":5090";
                List<String> r = fromIntruder(bed, request("INVITE", uri, uri, "", sdp));
                assertEquals(List.of("407"), r);
                Thread.sleep(500);
                assertEquals(0, target.total.get(), "the target received nothing");
            }
            // the intruder's REGISTER for bob, and Contact: *
            String reg = "sip:" + NODE_INTR + ":5060";
            String bob = "sip:bob@" + NODE_INTR;
            assertEquals(
                    List.of("401"),
                    fromIntruder(bed, request("REGISTER", reg, bob, "Expires: 300\r\n", "")));
            assertEquals(
                    List.of("401"),
                    fromIntruder(
                            bed,
                            request("REGISTER", reg, bob, "Expires: 0\r\n", "")
                                    .replaceFirst("Contact: <[^>]*>", "Contact: *")));
            // bob: a wrong password fails, the right one registers
            assertNotEquals(0, bed.registerWithPassword("bob", "guess"), "a wrong password");
            assertEquals(
                    0,
                    bed.registerWithPassword("bob", "bob-secret"),
                    "bob's password\n" + bed.sippLogs());
            assertEquals(1.0, bed.metric("msm_sip_registrations"));
            // an untrusted caller still reaches bob, media in the kernel
            SipBed.Counter atUas = bed.counter(bed.uas, UAS, SipBed.UAS_RTP, true);
            Process callee = bed.uas(1);
            Thread.sleep(300);
            Process caller = bed.uac("bob", 1, 1, 6000);
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
                                            > 20,
                    15_000,
                    "an answered call with media");
            // the intruder knows the call's Call-ID and tags and re-INVITEs as the caller, then as
            // the callee, to pull the media to itself: refused, the media stays where it was
            // (the tags are not on /calls: the state file has them, as a sniffer would)
            JsonNode before = bed.calls().get(0).path("streams").get(0);
            JsonNode call =
                    new ObjectMapper().readTree(Files.readString(bed.state)).path("calls").get(0);
            JsonNode d = call.path("dialog");
            String hijack =
                    "v=0\r\no=- 9 9 IN IP4 "
                            + INTR
                            + "\r\ns=-\r\nc=IN IP4 "
                            + INTR
                            + "\r\nt=0 0\r\nm=audio 7000 RTP/AVP 8\r\n";
            for (String[] fromTo :
                    new String[][] {
                        {d.path("caller_from").asText(), d.path("callee_to").asText()},
                        {d.path("callee_to").asText(), d.path("caller_from").asText()}
                    }) {
                String msg =
                        request("INVITE", d.path("callee_contact").asText(), "x", "", hijack)
                                .replaceFirst("From: [^\r]*", "From: " + fromTo[0])
                                .replaceFirst("To: [^\r]*", "To: " + fromTo[1])
                                .replaceFirst(
                                        "Call-ID: [^\r]*",
                                        "Call-ID: " + call.path("call_id").asText())
                                .replace("CSeq: 1 INVITE", "CSeq: 99 INVITE");
                assertEquals(List.of("403"), fromIntruder(bed, msg), msg);
            }
            long relayed = atUas.total.get();
            Thread.sleep(500);
            assertTrue(atUas.total.get() > relayed, "the caller's media still reaches bob");
            JsonNode after = bed.calls().get(0).path("streams").get(0);
            assertEquals(before.path("caller").path("rtp"), after.path("caller").path("rtp"));
            assertEquals(before.path("callee").path("rtp"), after.path("callee").path("rtp"));
            assertEquals(
                    2.0, bed.metric("msm_refused_total", "protocol", "sip", "reason", "wrong_hop"));
            assertEquals(0, bed.await(caller, 20_000), "the call to bob\n" + bed.sippLogs());
            atUas.close();
            assertEquals(0, bed.await(callee, 10_000), "bob answered\n" + bed.sippLogs());
            assertTrue(
                    bed.metric("msm_refused_total", "protocol", "sip", "reason", "auth_required")
                            >= 3,
                    "the refusals are counted");
            assertTrue(
                    bed.metric("msm_refused_total", "protocol", "sip", "reason", "auth_failed")
                            >= 1,
                    "bob's wrong password is counted");
        } finally {
            Files.deleteIfExists(users);
        }
    }
}
