package io.msm.agent.ng;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.msm.agent.auth.CidrSet;
import io.msm.agent.config.HostPort;
import io.msm.agent.config.NgSettings;
import io.msm.agent.media.UserspaceMediaPlane;
import io.msm.agent.sip.sdp.Sdp;
import io.msm.bpf.maps.PortTable;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The NG listener end to end on loopback with the userspace media plane: offer, answer, media both
 * ways through the anchor, query counters, delete frees the share; errors as rtpengine answers
 * them; retransmissions from the reply cache; sources, rates and sizes refused; a restart keeps the
 * calls.
 */
class NgServerTest {
    static final InetAddress LO = InetAddress.getLoopbackAddress();

    @TempDir Path dir;
    UserspaceMediaPlane plane;
    SimpleMeterRegistry registry;
    NgService service;
    DatagramSocket client;
    int cookie;

    NgSettings settings(String sources, int rps, Path state) {
        return new NgSettings(
                new HostPort(LO, 0),
                false,
                CidrSet.parse(List.of(sources)),
                rps,
                rps * 2,
                4096,
                2,
                4,
                64,
                Duration.ofSeconds(30),
                null,
                Map.of(),
                state,
                Duration.ofMinutes(5),
                Duration.ofSeconds(60));
    }

    void start(NgSettings s) throws Exception {
        registry = new SimpleMeterRegistry();
        service = new NgService(s, plane, registry);
        service.start();
    }

    @BeforeEach
    void setUp() throws Exception {
        plane = new UserspaceMediaPlane(new PortTable.Range(46000, 46099), 1);
        client = new DatagramSocket(0, LO);
        client.setSoTimeout(3000);
    }

    @AfterEach
    void tearDown() {
        if (service != null) {
            service.close();
        }
        plane.close();
        client.close();
    }

    byte[] raw(String cookie, byte[] body) throws Exception {
        byte[] c = (cookie + " ").getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[c.length + body.length];
        System.arraycopy(c, 0, out, 0, c.length);
        System.arraycopy(body, 0, out, c.length, body.length);
        return out;
    }

    void send(byte[] d) throws Exception {
        client.send(new DatagramPacket(d, d.length, service.server().local()));
    }

    Map<String, Object> receive(String expectCookie) throws Exception {
        byte[] buf = new byte[65536];
        DatagramPacket p = new DatagramPacket(buf, buf.length);
        client.receive(p);
        String s = new String(p.getData(), 0, p.getLength(), StandardCharsets.ISO_8859_1);
        int sp = s.indexOf(' ');
        assertEquals(expectCookie, s.substring(0, sp));
        byte[] body = s.substring(sp + 1).getBytes(StandardCharsets.ISO_8859_1);
        return Bencode.decodeDict(body, 0, body.length, Bencode.Limits.NG);
    }

    Map<String, Object> call(Map<String, Object> req) throws Exception {
        String c = "c" + (++cookie);
        send(raw(c, Bencode.encode(req)));
        return receive(c);
    }

    static Map<String, Object> req(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }

    static String sdp(int port) {
        return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                + "m=audio "
                + port
                + " RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=sendrecv\r\n"
                + "a=ice-ufrag:x\r\na=candidate:1 1 UDP 1 127.0.0.1 "
                + port
                + " typ host\r\n";
    }

    static byte[] rtp(int seq) {
        byte[] b = new byte[172];
        b[0] = (byte) 0x80;
        b[1] = 8;
        b[2] = (byte) (seq >> 8);
        b[3] = (byte) seq;
        b[11] = 7;
        return b;
    }

    @Test
    void offerAnswerMediaQueryDelete() throws Exception {
        start(settings("127.0.0.0/8", 1000, dir.resolve("ng.json")));
        assertEquals(Map.of("result", "pong"), call(req("command", "ping")));
        try (DatagramSocket a = new DatagramSocket(0, LO);
                DatagramSocket b = new DatagramSocket(0, LO)) {
            a.setSoTimeout(2000);
            b.setSoTimeout(2000);
            Map<String, Object> o =
                    call(
                            req(
                                    "command", "offer",
                                    "call-id", "call-1",
                                    "from-tag", "ft",
                                    "sdp", sdp(a.getLocalPort()),
                                    "ICE", "remove",
                                    "replace", List.of("origin", "session-connection"),
                                    "flags", List.of("trust-address", "symmetric", "no-such-flag"),
                                    "transport-protocol", "RTP/AVP",
                                    "label", "caller",
                                    "via-branch", "z9hG4bK1"));
            assertEquals("ok", o.get("result"), o.toString());
            Sdp offered = Sdp.parse(((String) o.get("sdp")).getBytes(StandardCharsets.ISO_8859_1));
            InetSocketAddress toCallee = offered.rtp(0);
            assertTrue(toCallee.getPort() >= 46000 && toCallee.getPort() < 46100, o.toString());
            assertTrue(!((String) o.get("sdp")).contains("candidate"), "ICE removed");
            assertTrue(service.calls().share().ports() == 4, "one stream: four ports");

            Map<String, Object> an =
                    call(
                            req(
                                    "command", "answer",
                                    "call-id", "call-1",
                                    "from-tag", "ft",
                                    "to-tag", "tt",
                                    "sdp", sdp(b.getLocalPort())));
            assertEquals("ok", an.get("result"), an.toString());
            InetSocketAddress toCaller =
                    Sdp.parse(((String) an.get("sdp")).getBytes(StandardCharsets.ISO_8859_1))
                            .rtp(0);
            for (int i = 0; i < 5; i++) {
                byte[] p = rtp(i);
                a.send(new DatagramPacket(p, p.length, toCaller));
                b.send(new DatagramPacket(p, p.length, toCallee));
            }
            DatagramPacket got = new DatagramPacket(new byte[2048], 2048);
            for (int i = 0; i < 5; i++) {
                b.receive(got);
                assertEquals(172, got.getLength());
                assertEquals(toCallee, got.getSocketAddress(), "from the callee-side port");
                a.receive(got);
                assertEquals(toCaller, got.getSocketAddress(), "from the caller-side port");
            }
            // a stranger's packets to the caller side are dropped (strict source)
            try (DatagramSocket x = new DatagramSocket(0, LO)) {
                byte[] p = rtp(99);
                x.send(new DatagramPacket(p, p.length, toCaller));
            }
            Thread.sleep(200);

            Map<String, Object> q = call(req("command", "query", "call-id", "call-1"));
            assertEquals("ok", q.get("result"), q.toString());
            @SuppressWarnings("unchecked")
            Map<String, Object> totals = (Map<String, Object>) q.get("totals");
            @SuppressWarnings("unchecked")
            Map<String, Object> rtpTotals = (Map<String, Object>) totals.get("RTP");
            assertEquals(10L, rtpTotals.get("packets"), q.toString());
            @SuppressWarnings("unchecked")
            Map<String, Object> tags = (Map<String, Object>) q.get("tags");
            assertEquals(List.of("ft", "tt"), new ArrayList<>(tags.keySet()));

            Map<String, Object> l = call(req("command", "list"));
            assertEquals(List.of("call-1"), l.get("calls"));
            List<ObjectNode> shown = service.callsJson(System.currentTimeMillis());
            assertEquals(1, shown.size());
            assertEquals("caller", shown.get(0).path("caller").asText(), shown.toString());
            assertEquals("tag tt", shown.get(0).path("callee").asText(), shown.toString());
            assertEquals("ng", shown.get(0).path("via").asText());
            assertEquals(
                    10,
                    shown.get(0)
                                    .path("streams")
                                    .get(0)
                                    .path("caller_to_callee")
                                    .path("packets")
                                    .asLong()
                            + shown.get(0)
                                    .path("streams")
                                    .get(0)
                                    .path("callee_to_caller")
                                    .path("packets")
                                    .asLong(),
                    shown.toString());
            Map<String, Object> st = call(req("command", "statistics"));
            assertEquals("ok", st.get("result"), st.toString());

            Map<String, Object> d =
                    call(req("command", "delete", "call-id", "call-1", "from-tag", "ft"));
            assertEquals("ok", d.get("result"), d.toString());
            assertNotNull(d.get("totals"));
            assertEquals(0, service.calls().share().ports(), "the share is back to zero");
            assertEquals(0, plane.relays().size(), "every relay closed");
            Map<String, Object> again = call(req("command", "delete", "call-id", "call-1"));
            assertEquals("ok", again.get("result"));
            assertNotNull(again.get("warning"));
            Map<String, Object> fatal =
                    call(
                            req(
                                    "command", "delete",
                                    "call-id", "call-1",
                                    "flags", List.of("fatal")));
            assertEquals("error", fatal.get("result"));
        }
    }

    @Test
    void errorsAsRtpengineAnswersThem() throws Exception {
        start(settings("127.0.0.0/8", 1000, null));
        assertEquals(
                Map.of("result", "error", "error-reason", "Unrecognized command"),
                call(req("command", "frobnicate")));
        assertEquals("error", call(req("no-command", "x")).get("result"));
        assertEquals(
                "Unknown call-id",
                call(req("command", "query", "call-id", "nope")).get("error-reason"));
        assertEquals(
                "error",
                call(req("command", "offer", "call-id", "x", "from-tag", "f", "sdp", "garbage"))
                        .get("result"));
        assertEquals(
                "error",
                call(req(
                                "command", "offer",
                                "call-id", "x",
                                "from-tag", "f",
                                "sdp", sdp(9),
                                "transport-protocol", "RTP/SAVP"))
                        .get("result"));
        send(raw("bad1", "d7:commande".getBytes(StandardCharsets.US_ASCII)));
        assertEquals("Could not decode bencode dictionary", receive("bad1").get("error-reason"));
        send(raw("big1", new byte[5000]));
        assertEquals("error", receive("big1").get("result"));
        // max-calls is 2
        for (int i = 0; i < 2; i++) {
            assertEquals(
                    "ok",
                    call(req(
                                    "command",
                                    "offer",
                                    "call-id",
                                    "m" + i,
                                    "from-tag",
                                    "f",
                                    "sdp",
                                    sdp(9)))
                            .get("result"));
        }
        assertEquals(
                "Parallel session limit reached",
                call(req("command", "offer", "call-id", "m3", "from-tag", "f", "sdp", sdp(9)))
                        .get("error-reason"));
        assertEquals(8, service.calls().share().ports());
        assertTrue(
                registry.get("msm.refused")
                                .tags("protocol", "ng", "reason", "max_calls")
                                .counter()
                                .count()
                        == 1);
    }

    @Test
    void retransmissionsAreAnsweredFromTheCache() throws Exception {
        start(settings("127.0.0.0/8", 1000, null));
        byte[] offer =
                raw(
                        "rtx",
                        Bencode.encode(
                                req(
                                        "command",
                                        "offer",
                                        "call-id",
                                        "r",
                                        "from-tag",
                                        "f",
                                        "sdp",
                                        sdp(9))));
        send(offer);
        Map<String, Object> first = receive("rtx");
        send(offer);
        Map<String, Object> second = receive("rtx");
        assertEquals(first, second, "the same reply, not a second call");
        assertEquals(4, service.calls().share().ports(), "one call's ports");
        assertEquals(1.0, registry.get("msm.ng.retransmits").counter().count());
    }

    @Test
    void strangersAndFloodsAreDropped() throws Exception {
        start(settings("10.0.0.0/8", 1, null));
        send(raw("s1", Bencode.encode(req("command", "ping"))));
        try {
            receive("s1");
            throw new AssertionError("a source outside ng.sources got an answer");
        } catch (SocketTimeoutException expected) {
            // dropped
        }
        assertEquals(
                1.0,
                registry.get("msm.refused")
                        .tags("protocol", "ng", "reason", "source")
                        .counter()
                        .count());
        service.close();
        start(settings("127.0.0.0/8", 1, null));
        for (int i = 0; i < 5; i++) {
            send(raw("f" + i, Bencode.encode(req("command", "ping"))));
        }
        client.setSoTimeout(300);
        int answered = 0;
        try {
            while (true) {
                byte[] buf = new byte[2048];
                client.receive(new DatagramPacket(buf, buf.length));
                answered++;
            }
        } catch (SocketTimeoutException e) {
            // no more
        }
        assertEquals(2, answered, "the burst (2) only");
        assertTrue(
                registry.get("msm.refused")
                                .tags("protocol", "ng", "reason", "rate")
                                .counter()
                                .count()
                        >= 3);
    }

    @Test
    void callsSurviveARestart() throws Exception {
        Path state = dir.resolve("ng.json");
        start(settings("127.0.0.0/8", 1000, state));
        call(req("command", "offer", "call-id", "k", "from-tag", "f", "sdp", sdp(7000)));
        Map<String, Object> an =
                call(
                        req(
                                "command",
                                "answer",
                                "call-id",
                                "k",
                                "from-tag",
                                "f",
                                "to-tag",
                                "t",
                                "sdp",
                                sdp(7002)));
        assertEquals("ok", an.get("result"));
        service.close();
        Thread.sleep(300); // the store writes shortly after
        assertTrue(Files.readString(state).contains("\"k\""));
        // the userspace plane's relays close with the agent; a fresh plane, as after a restart
        plane.close();
        plane = new UserspaceMediaPlane(new PortTable.Range(46000, 46099), 1);
        start(settings("127.0.0.0/8", 1000, state));
        Map<String, Object> q = call(req("command", "query", "call-id", "k"));
        assertEquals("ok", q.get("result"), q.toString());
        assertEquals(4, service.calls().share().ports());
        assertEquals(
                "ok",
                call(req("command", "delete", "call-id", "k", "from-tag", "f")).get("result"));
        assertEquals(0, service.calls().share().ports());
        assertEquals(0, plane.relays().size());
    }
}
