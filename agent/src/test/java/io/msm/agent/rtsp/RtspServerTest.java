package io.msm.agent.rtsp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.msm.agent.config.HostPort;
import io.msm.agent.config.RtspSettings;
import io.msm.agent.media.UserspaceMediaPlane;
import io.msm.agent.routing.Backend;
import io.msm.agent.routing.Failure;
import io.msm.agent.routing.Failure.Kind;
import io.msm.agent.routing.StreamRoutes;
import io.msm.agent.rtsp.wire.RtspResponse;
import io.msm.bpf.maps.PortTable;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The proxy end to end on loopback with the userspace media plane (no root needed): publishing over
 * UDP and TCP, viewers over UDP and TCP, RTCP routing, pulled paths sharing one upstream session,
 * and every refusal the protocol defines.
 */
@Timeout(60)
class RtspServerTest {
    static final String SDP =
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=test\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                    + "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\n"
                    + "a=control:streamid=0\r\n";
    static final InetAddress LO = InetAddress.getLoopbackAddress();

    final List<AutoCloseable> closers = new ArrayList<>();
    SimpleMeterRegistry registry;

    @AfterEach
    void tearDown() throws Exception {
        for (int i = closers.size() - 1; i >= 0; i--) {
            try {
                closers.get(i).close();
            } catch (Exception ignored) {
                // best effort
            }
        }
    }

    static RtspSettings settings(
            Duration timeout,
            int maxSessions,
            Duration linger,
            Map<String, RtspSettings.PathSource> paths) {
        return new RtspSettings(
                true,
                timeout,
                maxSessions,
                linger,
                2048,
                4096,
                16,
                Duration.ofSeconds(5),
                paths,
                // as a deployment whose publishers are on loopback would say
                LOOPBACK_PUBLISHES,
                // every client of these tests comes from one address: per-source limits as wide as
                // the totals (the limits have tests of their own)
                WIDE_PER_SOURCE,
                null);
    }

    static final RtspSettings.Auth LOOPBACK_PUBLISHES =
            RtspSettings.Auth.OPEN_READ.withDefaults(
                    new RtspSettings.Rules(
                            RtspSettings.Permission.from("127.0.0.0/8"),
                            RtspSettings.Permission.ANY));

    static final RtspSettings.Limits WIDE_PER_SOURCE =
            new RtspSettings.Limits(
                    1024,
                    1024,
                    Duration.ofSeconds(10),
                    Duration.ofSeconds(30),
                    8,
                    1000,
                    Duration.ofSeconds(10),
                    16);

    RtspServer server(RtspSettings s) throws Exception {
        int base = 20000 + 2 * ThreadLocalRandom.current().nextInt(0, 10000);
        UserspaceMediaPlane plane =
                new UserspaceMediaPlane(new PortTable.Range(base, base + 399), 1);
        closers.add(plane);
        registry = new SimpleMeterRegistry();
        RtspServer srv = new RtspServer(new HostPort(LO, 0), s, plane, registry);
        srv.start();
        closers.add(srv);
        return srv;
    }

    RtspTestClient client(RtspServer srv, String path) throws Exception {
        RtspTestClient c = new RtspTestClient(srv.address(), path);
        closers.add(c);
        return c;
    }

    DatagramChannel udp() throws Exception {
        DatagramChannel d = DatagramChannel.open().bind(new InetSocketAddress(LO, 0));
        closers.add(d);
        return d;
    }

    /** Two consecutive UDP sockets (RTP even, RTCP next). */
    DatagramChannel[] udpPair() throws Exception {
        for (int i = 0; i < 50; i++) {
            int p = 2 * ThreadLocalRandom.current().nextInt(16000, 19000);
            try {
                DatagramChannel a = DatagramChannel.open().bind(new InetSocketAddress(LO, p));
                try {
                    DatagramChannel b =
                            DatagramChannel.open().bind(new InetSocketAddress(LO, p + 1));
                    closers.add(a);
                    closers.add(b);
                    return new DatagramChannel[] {a, b};
                } catch (BindException e) {
                    a.close();
                }
            } catch (BindException ignored) {
                // next
            }
        }
        throw new IllegalStateException("no free UDP port pair");
    }

    static int port(DatagramChannel d) throws Exception {
        return ((InetSocketAddress) d.getLocalAddress()).getPort();
    }

    /** Packets readable within ms (non-blocking drain). */
    static List<byte[]> drain(DatagramChannel d, long ms) throws Exception {
        d.configureBlocking(false);
        List<byte[]> out = new ArrayList<>();
        long end = System.nanoTime() + ms * 1_000_000;
        ByteBuffer b = ByteBuffer.allocate(2048);
        while (System.nanoTime() < end) {
            b.clear();
            if (d.receive(b) != null) {
                b.flip();
                byte[] x = new byte[b.remaining()];
                b.get(x);
                out.add(x);
            } else {
                Thread.sleep(2);
            }
        }
        return out;
    }

    /**
     * Receive until n datagrams arrived or ms passed (a busy machine may deliver late, not less).
     */
    static List<byte[]> receive(DatagramChannel d, int n, long ms) throws Exception {
        d.configureBlocking(false);
        List<byte[]> out = new ArrayList<>();
        long end = System.nanoTime() + ms * 1_000_000;
        ByteBuffer b = ByteBuffer.allocate(2048);
        while (out.size() < n && System.nanoTime() < end) {
            b.clear();
            if (d.receive(b) != null) {
                b.flip();
                byte[] x = new byte[b.remaining()];
                b.get(x);
                out.add(x);
            } else {
                Thread.sleep(2);
            }
        }
        return out;
    }

    static void waitFor(BooleanSupplier cond, long ms, String what) throws InterruptedException {
        long end = System.nanoTime() + ms * 1_000_000;
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(10);
        }
    }

    /**
     * A UDP publisher: ANNOUNCE, SETUP with client_port, RECORD. Returns {rtp, rtcp} sockets and
     * the server RTP port.
     */
    record Publisher(
            RtspTestClient rtsp, DatagramChannel rtp, DatagramChannel rtcp, int serverPort) {
        void send(int from, int n) throws Exception {
            for (int i = from; i < from + n; i++) {
                rtp.send(
                        ByteBuffer.wrap(Rtp.packet(i, 0xAB, 200)),
                        new InetSocketAddress(LO, serverPort));
            }
        }
    }

    Publisher publish(RtspServer srv, String path) throws Exception {
        RtspTestClient p = client(srv, path);
        RtspResponse a = p.sendBody("ANNOUNCE", p.base, SDP, "Content-Type", "application/sdp");
        assertEquals(200, a.status(), a.headers().getOrNull("X-Reason"));
        DatagramChannel[] pr = udpPair();
        RtspResponse s =
                p.send(
                        "SETUP",
                        p.base + "/streamid=0",
                        "Transport",
                        "RTP/AVP/UDP;unicast;client_port="
                                + port(pr[0])
                                + "-"
                                + port(pr[1])
                                + ";mode=record");
        assertEquals(200, s.status(), s.headers().getOrNull("X-Reason"));
        assertTrue(s.headers().getOrNull("Session").contains(";timeout="), "Session: id;timeout=N");
        assertEquals(200, p.send("RECORD", p.base).status());
        return new Publisher(p, pr[0], pr[1], RtspTestClient.serverPort(s));
    }

    /**
     * A UDP viewer: DESCRIBE, SETUP trackID=0, PLAY; returns its {rtp, rtcp} sockets and the server
     * ports.
     */
    record Viewer(
            RtspTestClient rtsp,
            DatagramChannel rtp,
            DatagramChannel rtcp,
            int serverPort,
            String source) {}

    Viewer view(RtspServer srv, String path) throws Exception {
        RtspTestClient v = client(srv, path);
        RtspResponse d = v.send("DESCRIBE", v.base, "Accept", "application/sdp");
        assertEquals(200, d.status(), d.headers().getOrNull("X-Reason"));
        assertEquals(v.base + "/", d.headers().getOrNull("Content-Base"));
        assertTrue(d.bodyText().contains("a=control:trackID=0"), d.bodyText());
        assertTrue(d.bodyText().contains("a=rtpmap:96 H264/90000"), d.bodyText());
        DatagramChannel[] pr = udpPair();
        String control =
                URI.create(d.headers().getOrNull("Content-Base")).resolve("trackID=0").toString();
        RtspResponse s =
                v.send(
                        "SETUP",
                        control,
                        "Transport",
                        "RTP/AVP;unicast;client_port=" + port(pr[0]) + "-" + port(pr[1]));
        assertEquals(200, s.status(), s.headers().getOrNull("X-Reason"));
        String t = s.headers().getOrNull("Transport");
        assertTrue(t.contains("client_port=" + port(pr[0]) + "-" + port(pr[1])), t);
        String source = t.replaceAll(".*source=([^;]*).*", "$1");
        RtspResponse play = v.send("PLAY", v.base + "/");
        assertEquals(200, play.status());
        return new Viewer(v, pr[0], pr[1], RtspTestClient.serverPort(s), source);
    }

    double gauge(String name, String path) {
        var g = registry.find(name).tag("path", path).gauge();
        return g == null ? Double.NaN : g.value();
    }

    @Test
    void publishedStreamReachesUdpAndTcpViewersAndRtcpGoesWhereItShould() throws Exception {
        RtspServer srv = server(settings(Duration.ofSeconds(30), 100, Duration.ZERO, Map.of()));
        Publisher pub = publish(srv, "cam");
        Viewer v1 = view(srv, "cam");
        Viewer v2 = view(srv, "cam");
        assertEquals(
                "127.0.0.1",
                v1.source(),
                "copies come from the relay's address, which SETUP names");

        // an interleaved viewer on its own connection
        Socket tcp = new Socket(LO, srv.address().getPort());
        closers.add(tcp);
        tcp.setSoTimeout(3000);
        OutputStream out = tcp.getOutputStream();
        InputStream in = tcp.getInputStream();
        out.write(
                ("SETUP rtsp://127.0.0.1/cam/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;unicast;"
                                + "interleaved=4-5\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
        String setup = readResponse(in);
        assertTrue(setup.startsWith("RTSP/1.0 200"), setup);
        assertTrue(setup.contains("interleaved=4-5"), setup);
        String sid = setup.replaceAll("(?s).*Session: ([0-9a-f]+).*", "$1");
        out.write(
                ("PLAY rtsp://127.0.0.1/cam RTSP/1.0\r\nCSeq: 2\r\nSession: " + sid + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
        assertTrue(readResponse(in).startsWith("RTSP/1.0 200"));
        assertEquals(3.0, gauge("msm.rtsp.path.viewers", "cam"));
        assertEquals(1.0, gauge("msm.rtsp.path.publishing", "cam"));
        assertEquals(1.0, gauge("msm.rtsp.path.tcp.viewers", "cam"));

        pub.send(0, 100);
        List<byte[]> got1 = drain(v1.rtp(), 500);
        List<byte[]> got2 = drain(v2.rtp(), 100);
        assertEquals(100, got1.size(), "UDP viewer 1 gets every packet");
        assertEquals(100, got2.size(), "UDP viewer 2 gets every packet");
        for (int i = 0; i < 100; i++) {
            assertEquals(i, Rtp.seq(got1.get(i)));
        }
        int frames = 0;
        for (int i = 0; i < 100; i++) {
            int dollar = in.read();
            assertEquals('$', dollar, "an interleaved frame");
            int ch = in.read();
            int len = (in.read() << 8) | in.read();
            byte[] b = in.readNBytes(len);
            assertEquals(4, ch, "on the RTP channel the viewer asked for");
            assertEquals(i, Rtp.seq(b));
            frames++;
        }
        assertEquals(100, frames);

        // publisher's sender report reaches every viewer's RTCP port
        pub.rtcp()
                .send(
                        ByteBuffer.wrap(Rtp.senderReport(0xAB)),
                        new InetSocketAddress(LO, pub.serverPort() + 1));
        assertEquals(1, drain(v1.rtcp(), 300).size(), "SR to viewer 1");
        assertEquals(1, drain(v2.rtcp(), 50).size(), "SR to viewer 2");
        // a viewer's receiver report reaches the proxy only
        v1.rtcp()
                .send(
                        ByteBuffer.wrap(Rtp.receiverReport(0x11, 0xAB, 64)),
                        new InetSocketAddress(v1.source(), v1.serverPort() + 1));
        waitFor(
                () ->
                        registry.find("msm.rtsp.path.receiver.reports")
                                        .tag("path", "cam")
                                        .functionCounter()
                                        .count()
                                == 1,
                2000,
                "the receiver report counted");
        assertEquals(0.25, gauge("msm.rtsp.path.viewer.loss", "cam"), 1e-9);
        assertEquals(0, drain(v2.rtcp(), 200).size(), "no RR to the other viewer");
        assertEquals(0, drain(pub.rtcp(), 50).size(), "no RR to the publisher");

        // PAUSE stops the copies, PLAY resumes
        assertEquals(200, v2.rtsp().send("PAUSE", v2.rtsp().base).status());
        pub.send(100, 10);
        assertEquals(10, drain(v1.rtp(), 300).size());
        assertEquals(0, drain(v2.rtp(), 50).size(), "paused viewer gets nothing");
        assertEquals(200, v2.rtsp().send("PLAY", v2.rtsp().base).status());
        pub.send(110, 10);
        assertEquals(10, drain(v2.rtp(), 300).size(), "resumed");

        // TEARDOWN ends the session: no more copies, one viewer less
        assertEquals(200, v1.rtsp().send("TEARDOWN", v1.rtsp().base).status());
        assertEquals(454, v1.rtsp().send("PLAY", v1.rtsp().base).status(), "session gone");
        drain(v1.rtp(), 50);
        pub.send(120, 10);
        assertEquals(0, drain(v1.rtp(), 200).size());
        assertEquals(2.0, gauge("msm.rtsp.path.viewers", "cam"));
    }

    static String readResponse(InputStream in) throws Exception {
        StringBuilder sb = new StringBuilder();
        while (!sb.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                break;
            }
            sb.append((char) c);
        }
        String head = sb.toString();
        int len =
                head.contains("Content-Length: ")
                        ? Integer.parseInt(head.replaceAll("(?s).*Content-Length: (\\d+).*", "$1"))
                        : 0;
        return head + new String(in.readNBytes(len), StandardCharsets.UTF_8);
    }

    static String exchange(Socket s, String raw) throws Exception {
        s.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
        return readResponse(s.getInputStream());
    }

    /** A server with a configured path "fixed", room for 3 sessions, and a publisher on cam. */
    RtspServer refusingServer() throws Exception {
        return server(
                settings(
                        Duration.ofSeconds(30),
                        3,
                        Duration.ZERO,
                        Map.of(
                                "fixed",
                                new RtspSettings.PathSource(
                                        "fixed", RtspSettings.PathSource.Kind.PUBLISH, null))));
    }

    static Arguments row(
            String name, int status, String method, String uri, String body, String... headers) {
        return Arguments.of(name, status, method, uri, body, headers);
    }

    /** One request each, {base} = rtsp://127.0.0.1:port/cam (published). */
    static Stream<Arguments> requestRefusals() {
        String sdp = "application/sdp";
        return Stream.of(
                row("unknown path", 404, "DESCRIBE", "rtsp://127.0.0.1/nothing", null),
                row(
                        "configured but nothing published",
                        404,
                        "DESCRIBE",
                        "rtsp://127.0.0.1/fixed",
                        null),
                row("unknown method", 501, "REDIRECT", "{base}", null),
                row(
                        "multicast",
                        461,
                        "SETUP",
                        "{base}/trackID=0",
                        null,
                        "Transport",
                        "RTP/AVP;multicast"),
                row(
                        "RTP/SAVP",
                        461,
                        "SETUP",
                        "{base}/trackID=0",
                        null,
                        "Transport",
                        "RTP/SAVP;unicast;client_port=5000-5001"),
                row(
                        "malformed Transport",
                        400,
                        "SETUP",
                        "{base}/trackID=0",
                        null,
                        "Transport",
                        "RTP"),
                row(
                        "unknown track",
                        404,
                        "SETUP",
                        "{base}/trackID=7",
                        null,
                        "Transport",
                        "RTP/AVP;unicast;client_port=5000-5001"),
                row("unknown session", 454, "PLAY", "{base}", null, "Session", "deadbeef"),
                row(
                        "a second publisher to a busy path: already has a publisher",
                        455,
                        "ANNOUNCE",
                        "{base}",
                        SDP,
                        "Content-Type",
                        sdp),
                row(
                        "ANNOUNCE of text/plain",
                        415,
                        "ANNOUNCE",
                        "{base}2",
                        SDP,
                        "Content-Type",
                        "text/plain"),
                row(
                        "ANNOUNCE of a broken SDP",
                        400,
                        "ANNOUNCE",
                        "{base}2",
                        "v=0\r\nnonsense\r\n",
                        "Content-Type",
                        sdp),
                row(
                        "ANNOUNCE of a bad path name",
                        400,
                        "ANNOUNCE",
                        "rtsp://127.0.0.1/bad%20name",
                        SDP,
                        "Content-Type",
                        sdp));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("requestRefusals")
    void refusalsFollowTheRfc(
            String name, int status, String method, String uri, String body, String[] headers)
            throws Exception {
        RtspServer srv = refusingServer();
        publish(srv, "cam");
        RtspTestClient c = client(srv, "cam");
        RtspResponse r = c.sendBody(method, uri.replace("{base}", c.base), body, headers);
        assertEquals(status, r.status(), name + ": " + r.headers().getOrNull("X-Reason"));
        if (status == 455) {
            assertTrue(r.headers().getOrNull("X-Reason").contains("already has a publisher"));
        }
    }

    @Test
    void limitsAndMalformedRequestsFollowTheRfcAndDisturbNobody() throws Exception {
        RtspServer srv = refusingServer();
        Publisher pub = publish(srv, "cam");
        RtspTestClient c = client(srv, "cam");
        RtspResponse opt = c.send("OPTIONS", "*");
        assertEquals(200, opt.status());
        assertTrue(opt.headers().getOrNull("Public").contains("ANNOUNCE"));

        // session limit: the publisher holds one of 3
        view(srv, "cam");
        view(srv, "cam");
        RtspTestClient v3 = client(srv, "cam");
        RtspResponse full =
                v3.send(
                        "SETUP",
                        v3.base + "/trackID=0",
                        "Transport",
                        "RTP/AVP;unicast;client_port=5000-5001");
        assertEquals(453, full.status(), full.headers().getOrNull("X-Reason"));

        // malformed requests: 400, the connection goes on (framing known) or closes (framing lost);
        // others unaffected
        try (Socket raw = new Socket(LO, srv.address().getPort())) {
            raw.setSoTimeout(3000);
            String r = exchange(raw, "GARBAGE\r\nCSeq: 5\r\n\r\n");
            assertTrue(r.startsWith("RTSP/1.0 400") && r.contains("CSeq: 5"), r);
            r = exchange(raw, "OPTIONS * RTSP/2.0\r\nCSeq: 6\r\n\r\n");
            assertTrue(r.startsWith("RTSP/1.0 505"), r);
            r = exchange(raw, "OPTIONS * RTSP/1.0\r\nCSeq: 7\r\n\r\n");
            assertTrue(r.startsWith("RTSP/1.0 200"), "still served after a bad request: " + r);
            r =
                    exchange(
                            raw,
                            "OPTIONS * RTSP/1.0\r\nCSeq: 8\r\nX-Big: "
                                    + "a".repeat(3000)
                                    + "\r\n\r\n");
            assertTrue(r.startsWith("RTSP/1.0 400"), r);
            assertEquals(
                    -1,
                    raw.getInputStream().read(),
                    "closed: the header block exceeded rtsp.max-header-bytes");
        }
        try (Socket raw = new Socket(LO, srv.address().getPort())) {
            raw.setSoTimeout(3000);
            String r =
                    exchange(
                            raw,
                            "ANNOUNCE rtsp://127.0.0.1/x RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 999999\r\n\r\n");
            assertTrue(r.startsWith("RTSP/1.0 413"), r);
            assertEquals(-1, raw.getInputStream().read());
        }
        try (Socket raw = new Socket(LO, srv.address().getPort())) {
            raw.setSoTimeout(3000);
            String r = exchange(raw, "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nbroken header line\r\n\r\n");
            assertTrue(r.startsWith("RTSP/1.0 400"), r);
        }
        // the publisher and viewers were not disturbed
        assertEquals(200, pub.rtsp().send("GET_PARAMETER", pub.rtsp().base).status());
        assertEquals(1.0, gauge("msm.rtsp.path.publishing", "cam"));
        assertEquals(2.0, gauge("msm.rtsp.path.viewers", "cam"));
        assertTrue(registry.find("msm.rtsp.bad.requests").counter().count() >= 4);
    }

    @Test
    void publisherLeavingEndsItsViewersAndFreesThePath() throws Exception {
        RtspServer srv = server(settings(Duration.ofSeconds(30), 100, Duration.ZERO, Map.of()));
        Publisher pub = publish(srv, "live/one");
        Viewer v = view(srv, "live/one");
        pub.send(0, 5);
        assertEquals(5, drain(v.rtp(), 300).size());
        pub.rtsp().close();
        waitFor(() -> !v.rtsp().c.isOpen(), 3000, "the viewer's connection closed by the proxy");
        waitFor(() -> srv.sessionCount() == 0, 3000, "no sessions left");
        assertTrue(
                srv.pathStates().isEmpty(),
                "a path a publisher created goes away with it: " + srv.pathStates());
        assertTrue(Double.isNaN(gauge("msm.rtsp.path.viewers", "live/one")), "its meters too");
        // and the path can be published again
        Publisher again = publish(srv, "live/one");
        Viewer v2 = view(srv, "live/one");
        again.send(0, 5);
        assertEquals(5, drain(v2.rtp(), 300).size());
    }

    @Test
    void silentSessionsTimeOutAndReceiverReportsKeepThemAlive() throws Exception {
        RtspServer srv = server(settings(Duration.ofMillis(1500), 100, Duration.ZERO, Map.of()));
        Publisher pub = publish(srv, "cam");
        Viewer quiet = view(srv, "cam");
        Viewer reporting = view(srv, "cam");
        long end = System.nanoTime() + 3_000_000_000L;
        int seq = 0;
        while (System.nanoTime() < end) {
            pub.send(seq++, 1); // media keeps the publisher alive
            reporting
                    .rtcp()
                    .send(
                            ByteBuffer.wrap(Rtp.receiverReport(0x22, 0xAB, 0)),
                            new InetSocketAddress(reporting.source(), reporting.serverPort() + 1));
            Thread.sleep(100);
        }
        assertEquals(
                454,
                quiet.rtsp().send("PLAY", quiet.rtsp().base).status(),
                "the silent viewer timed out");
        assertEquals(
                200,
                reporting.rtsp().send("GET_PARAMETER", reporting.rtsp().base).status(),
                "the viewer sending receiver reports did not");
        assertEquals(
                200,
                pub.rtsp().send("GET_PARAMETER", pub.rtsp().base).status(),
                "nor the publisher sending media");
        assertEquals(1.0, registry.find("msm.rtsp.session.timeouts").counter().count());
    }

    @Test
    void interleavedPublisherIsInjectedIntoTheRelays() throws Exception {
        RtspServer srv = server(settings(Duration.ofSeconds(30), 100, Duration.ZERO, Map.of()));
        Socket pub = new Socket(LO, srv.address().getPort());
        closers.add(pub);
        pub.setSoTimeout(3000);
        String a =
                exchange(
                        pub,
                        "ANNOUNCE rtsp://127.0.0.1/tcpcam RTSP/1.0\r\nCSeq: 1\r\nContent-Type: application/sdp\r\n"
                                + "Content-Length: "
                                + SDP.length()
                                + "\r\n\r\n"
                                + SDP);
        assertTrue(a.startsWith("RTSP/1.0 200"), a);
        String s =
                exchange(
                        pub,
                        "SETUP rtsp://127.0.0.1/tcpcam/streamid=0 RTSP/1.0\r\nCSeq: 2\r\n"
                                + "Transport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record\r\n\r\n");
        assertTrue(s.startsWith("RTSP/1.0 200") && s.contains("interleaved=0-1"), s);
        String sid = s.replaceAll("(?s).*Session: ([0-9a-f]+).*", "$1");
        assertTrue(
                exchange(
                                pub,
                                "RECORD rtsp://127.0.0.1/tcpcam RTSP/1.0\r\nCSeq: 3\r\nSession: "
                                        + sid
                                        + "\r\n\r\n")
                        .startsWith("RTSP/1.0 200"));
        Viewer v = view(srv, "tcpcam");
        OutputStream out = pub.getOutputStream();
        for (int i = 0; i < 50; i++) {
            byte[] p = Rtp.packet(i, 0xCD, 100);
            out.write(new byte[] {'$', 0, (byte) (p.length >> 8), (byte) p.length});
            out.write(p);
        }
        out.flush();
        List<byte[]> got = drain(v.rtp(), 1000);
        assertEquals(50, got.size(), "every interleaved packet reaches the UDP viewer");
        assertEquals(49, Rtp.seq(got.get(49)));
    }

    @Test
    void aStreamRouteChoosesTheUpstreamOfAPathTheConfigDoesNotName() throws Exception {
        RtspServer origin = server(settings(Duration.ofSeconds(30), 100, Duration.ZERO, Map.of()));
        Publisher pub = publish(origin, "src");
        URI up = URI.create("rtsp://127.0.0.1:" + origin.address().getPort() + "/src");
        List<String> asked = new CopyOnWriteArrayList<>();
        List<Failure> reported = new CopyOnWriteArrayList<>();
        StreamRoutes table =
                new StreamRoutes() {
                    @Override
                    public Optional<Backend> choose(String host, String path) {
                        asked.add(host + path);
                        if (path.equals("/live/show")) {
                            return Optional.of(
                                    new Backend(
                                            "media/show",
                                            "media/origin:8554",
                                            "127.0.0.1:" + origin.address().getPort(),
                                            up));
                        }
                        if (path.equals("/dead")) {
                            return Optional.of(
                                    new Backend(
                                            "media/dead",
                                            "media/gone:1",
                                            "127.0.0.1:1",
                                            URI.create("rtsp://127.0.0.1:1/nothing")));
                        }
                        return Optional.empty();
                    }

                    @Override
                    public void report(Backend backend, Failure failure) {
                        reported.add(failure);
                    }
                };
        RtspServer proxy =
                server(settings(Duration.ofSeconds(30), 100, Duration.ofMillis(300), Map.of()))
                        .withRoutes(() -> table);

        Viewer v = view(proxy, "live/show");
        pub.send(0, 20);
        assertEquals(20, drain(v.rtp(), 500).size(), "the routed path plays the backend's stream");
        assertTrue(
                asked.get(0).startsWith("127.0.0.1:") && asked.get(0).endsWith("/live/show"),
                "the route is asked with the URL's host and path: " + asked);
        Viewer w = view(proxy, "live/show");
        assertEquals(
                1, proxy.pathStates().stream().filter(p -> p.name().equals("live/show")).count());
        assertEquals(
                1,
                proxy.pathStates().stream()
                        .filter(p -> p.name().equals("live/show"))
                        .findFirst()
                        .orElseThrow()
                        .upstreamSessions(),
                "viewers on this node share the routed upstream session");
        pub.send(20, 5);
        assertEquals(5, drain(w.rtp(), 500).size());

        RtspTestClient dead = client(proxy, "dead");
        int status = dead.send("DESCRIBE", dead.base).status();
        assertTrue(status == 502 || status == 504, "an unreachable backend: " + status);
        waitFor(() -> !reported.isEmpty(), 3000, "the failed backend reported to the route table");
        assertEquals(Kind.DESCRIBE_FAILED, reported.get(0).kind());
        waitFor(
                () -> proxy.pathStates().stream().noneMatch(p -> p.name().equals("dead")),
                3000,
                "the routed path is dropped, so the next viewer has the route choose again");

        RtspTestClient none = client(proxy, "nowhere");
        assertEquals(404, none.send("DESCRIBE", none.base).status(), "no route, no path: 404");
    }

    @Test
    void pulledPathSharesOneUpstreamSessionAndClosesItAfterTheLinger() throws Exception {
        RtspServer origin = server(settings(Duration.ofSeconds(30), 100, Duration.ZERO, Map.of()));
        Publisher pub = publish(origin, "src");
        SimpleMeterRegistry originRegistry = registry;
        URI up = URI.create("rtsp://127.0.0.1:" + origin.address().getPort() + "/src");
        Map<String, RtspSettings.PathSource> paths = new LinkedHashMap<>();
        paths.put(
                "relay",
                new RtspSettings.PathSource("relay", RtspSettings.PathSource.Kind.PULL, up));
        RtspServer proxy =
                server(settings(Duration.ofSeconds(30), 100, Duration.ofMillis(500), paths));

        Viewer a = view(proxy, "relay");
        Viewer b = view(proxy, "relay");
        Viewer c = view(proxy, "relay");
        assertEquals(
                1,
                proxy.pathStates().get(0).upstreamSessions(),
                "one upstream session for all viewers");
        assertEquals("playing", proxy.pathStates().get(0).upstream());
        assertEquals(2.0, gauge("msm.rtsp.path.upstream.state", "relay"));
        assertEquals(
                1.0,
                originRegistry.find("msm.rtsp.path.viewers").tag("path", "src").gauge().value(),
                "the origin sees one viewer: the proxy");
        pub.send(0, 40);
        assertEquals(40, drain(a.rtp(), 500).size());
        assertEquals(40, drain(b.rtp(), 100).size());
        assertEquals(40, drain(c.rtp(), 100).size());

        assertEquals(200, a.rtsp().send("TEARDOWN", a.rtsp().base).status());
        assertEquals(200, b.rtsp().send("TEARDOWN", b.rtsp().base).status());
        Thread.sleep(700);
        assertEquals("playing", proxy.pathStates().get(0).upstream(), "a viewer is left");
        c.rtsp().close();
        waitFor(
                () -> proxy.pathStates().get(0).upstream().equals("idle"),
                3000,
                "upstream closed after the linger");
        waitFor(
                () ->
                        originRegistry
                                        .find("msm.rtsp.path.viewers")
                                        .tag("path", "src")
                                        .gauge()
                                        .value()
                                == 0,
                3000,
                "the origin's session torn down");
        // a new viewer opens a new upstream session
        Viewer d = view(proxy, "relay");
        assertEquals(2, proxy.pathStates().get(0).upstreamSessions());
        pub.send(40, 10);
        assertEquals(10, drain(d.rtp(), 500).size());
        // the origin's publisher leaves: the proxy's viewers end too
        pub.rtsp().close();
        waitFor(() -> !d.rtsp().c.isOpen(), 3000, "viewer closed when the upstream ended");
        assertEquals(
                1.0,
                registry.find("msm.rtsp.path.upstream.failures")
                        .tag("path", "relay")
                        .functionCounter()
                        .count());
    }

    @Test
    void onePathHoldsHundredsOfViewersInUserspaceMode() throws Exception {
        // more copies of a full-size packet than a channel's outbound buffer holds (64 KiB, about
        // 50)
        RtspServer srv = server(settings(Duration.ofSeconds(30), 1000, Duration.ZERO, Map.of()));
        Publisher pub = publish(srv, "many");
        int n = 150;
        List<DatagramChannel> rtp = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            DatagramChannel[] pr = udpPair();
            RtspTestClient v = client(srv, "many");
            RtspResponse s =
                    v.send(
                            "SETUP",
                            v.base + "/trackID=0",
                            "Transport",
                            "RTP/AVP;unicast;client_port=" + port(pr[0]) + "-" + port(pr[1]));
            assertEquals(200, s.status(), s.headers().getOrNull("X-Reason"));
            assertEquals(200, v.send("PLAY", v.base).status());
            rtp.add(pr[0]);
        }
        for (int i = 0; i < 5; i++) {
            pub.rtp()
                    .send(
                            ByteBuffer.wrap(Rtp.packet(i, 0xAB, 1200)),
                            new InetSocketAddress(LO, pub.serverPort()));
            Thread.sleep(20);
        }
        for (int i = 0; i < n; i++) {
            assertEquals(
                    5, receive(rtp.get(i), 5, 5000).size(), "viewer " + i + " got every packet");
        }
    }

    @Test
    void unreachableUpstreamAnswersBadGateway() throws Exception {
        Map<String, RtspSettings.PathSource> paths =
                Map.of(
                        "gone",
                        new RtspSettings.PathSource(
                                "gone",
                                RtspSettings.PathSource.Kind.PULL,
                                URI.create("rtsp://127.0.0.1:1/nothing")));
        RtspServer proxy = server(settings(Duration.ofSeconds(30), 100, Duration.ZERO, paths));
        RtspTestClient v = client(proxy, "gone");
        RtspResponse r = v.send("DESCRIBE", v.base);
        assertEquals(502, r.status(), r.headers().getOrNull("X-Reason"));
        assertFalse(r.headers().getOrNull("X-Reason").isEmpty());
        assertEquals(200, v.send("OPTIONS", "*").status(), "the connection goes on");
    }

    @Test
    void readsTimeOutRatherThanHang() throws Exception {
        RtspServer srv = server(settings(Duration.ofSeconds(30), 100, Duration.ZERO, Map.of()));
        try (Socket raw = new Socket(LO, srv.address().getPort())) {
            raw.setSoTimeout(300);
            raw.getOutputStream()
                    .write("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n".getBytes(StandardCharsets.US_ASCII));
            try {
                raw.getInputStream().read();
                throw new AssertionError("answered an incomplete request");
            } catch (SocketTimeoutException expected) {
                // waiting for the blank line
            }
        }
    }
}
