package io.msm.agent.rtsp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.config.RtspSettings;
import io.msm.agent.rtsp.wire.RtspResponse;
import io.netty.util.internal.PlatformDependent;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The RTSP listener's limits on loopback, each from one source while another source (another
 * loopback address) is still served: connection caps, the header deadline, the idle timeout of
 * connections without a session, session caps per connection and per source, the ANNOUNCE to RECORD
 * deadline, new paths per source; and an attack of thousands of idle connections and half-sent
 * headers.
 */
@Timeout(120)
class RtspLimitsTest {
    static final InetAddress ATTACKER = address("127.0.0.3");
    static final InetAddress OTHER = address("127.0.0.2");

    final RtspServerTest h = new RtspServerTest();

    @AfterEach
    void tearDown() throws Exception {
        h.tearDown();
    }

    static InetAddress address(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static RtspSettings.Limits limits(
            int conns,
            int connsPerSource,
            Duration request,
            Duration idle,
            int sessionsPerConn,
            int sessionsPerSource,
            Duration announce,
            int pathsPerSource) {
        return new RtspSettings.Limits(
                conns,
                connsPerSource,
                request,
                idle,
                sessionsPerConn,
                sessionsPerSource,
                announce,
                pathsPerSource);
    }

    RtspServer server(RtspSettings.Limits l, int maxSessions) throws Exception {
        return h.server(
                RtspServerTest.settings(
                                Duration.ofSeconds(30), maxSessions, Duration.ZERO, Map.of())
                        .with(l));
    }

    double refused(String reason) {
        var c =
                h.registry
                        .find("msm.refused")
                        .tag("protocol", "rtsp")
                        .tag("reason", reason)
                        .counter();
        return c == null ? 0 : c.count();
    }

    Socket raw(RtspServer srv, InetAddress from) throws IOException {
        Socket s = new Socket(srv.address().getAddress(), srv.address().getPort(), from, 0);
        h.closers.add(s);
        return s;
    }

    /** Whether the server closed the socket within ms (reads nothing but EOF). */
    static boolean closedWithin(Socket s, long ms) throws IOException {
        s.setSoTimeout((int) ms);
        InputStream in = s.getInputStream();
        try {
            while (true) {
                int b = in.read();
                if (b < 0) {
                    return true;
                }
            }
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // reset
        }
    }

    static String options(Socket s, int cseq) throws Exception {
        s.setSoTimeout(3000);
        return RtspServerTest.exchange(s, "OPTIONS * RTSP/1.0\r\nCSeq: " + cseq + "\r\n\r\n");
    }

    @Test
    void connectionsAreCappedPerSourceAndInTotal() throws Exception {
        RtspServer srv =
                server(
                        limits(
                                5,
                                3,
                                Duration.ofSeconds(10),
                                Duration.ofSeconds(30),
                                8,
                                100,
                                Duration.ofSeconds(10),
                                8),
                        100);
        List<Socket> mine = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Socket s = raw(srv, ATTACKER);
            assertTrue(options(s, 1).startsWith("RTSP/1.0 200"));
            mine.add(s);
        }
        Socket fourth = raw(srv, ATTACKER);
        assertTrue(closedWithin(fourth, 2000), "a 4th connection from one source is closed");
        assertEquals(1.0, refused("connections_per_source"));
        Socket a = raw(srv, OTHER);
        Socket b = raw(srv, address("127.0.0.4"));
        assertTrue(options(a, 1).startsWith("RTSP/1.0 200"), "another source is served");
        assertTrue(options(b, 1).startsWith("RTSP/1.0 200"));
        Socket sixth = raw(srv, address("127.0.0.5"));
        assertTrue(closedWithin(sixth, 2000), "the 6th connection in total is closed");
        assertEquals(1.0, refused("connections"));
        mine.get(0).close();
        RtspServerTest.waitFor(() -> srv.connectionCount() == 4, 3000, "the lease given back");
        assertTrue(options(raw(srv, ATTACKER), 1).startsWith("RTSP/1.0 200"), "room again");
    }

    @Test
    void aHeaderMustArriveWithinTheRequestTimeout() throws Exception {
        RtspServer srv =
                server(
                        limits(
                                100,
                                50,
                                Duration.ofMillis(500),
                                Duration.ofSeconds(30),
                                8,
                                100,
                                Duration.ofSeconds(10),
                                8),
                        100);
        Socket slow = raw(srv, ATTACKER);
        long t0 = System.nanoTime();
        slow.getOutputStream()
                .write("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n".getBytes(StandardCharsets.US_ASCII));
        assertTrue(closedWithin(slow, 3000), "an unfinished header is closed");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms >= 400 && ms < 2500, "closed after about 500 ms, took " + ms);
        assertEquals(1.0, refused("request_timeout"));
        Socket ok = raw(srv, OTHER);
        assertTrue(options(ok, 1).startsWith("RTSP/1.0 200"));
        Thread.sleep(800);
        assertTrue(options(ok, 2).startsWith("RTSP/1.0 200"), "whole requests stop the clock");
    }

    @Test
    void aConnectionWithoutASessionIsClosedWhenIdleOneWithASessionIsNot() throws Exception {
        RtspServer srv =
                server(
                        limits(
                                100,
                                50,
                                Duration.ofSeconds(10),
                                Duration.ofMillis(700),
                                8,
                                100,
                                Duration.ofSeconds(10),
                                8),
                        100);
        RtspServerTest.Publisher pub = h.publish(srv, "cam");
        RtspServerTest.Viewer v = h.view(srv, "cam");
        Socket idle = raw(srv, ATTACKER);
        long t0 = System.nanoTime();
        assertTrue(closedWithin(idle, 3000), "idle without a session: closed");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms >= 600 && ms < 2500, "after about 700 ms, took " + ms);
        assertTrue(refused("idle") >= 1);
        Thread.sleep(1000);
        assertTrue(v.rtsp().c.isOpen(), "a viewer with a session stays (its session times out)");
        assertTrue(pub.rtsp().c.isOpen(), "so does a publisher");
    }

    @Test
    void thousandAndOneSetupsOnOneConnectionStopAtThePerConnectionCap() throws Exception {
        RtspServer srv = server(RtspSettings.Limits.DEFAULTS, 1000);
        h.publish(srv, "cam");
        RtspTestClient c = h.client(srv, "cam");
        int ok = 0;
        int refused453 = 0;
        for (int i = 0; i < 1001; i++) {
            c.session = null; // each SETUP without Session: a new session asked for
            RtspResponse r =
                    c.send(
                            "SETUP",
                            c.base + "/trackID=0",
                            "Transport",
                            "RTP/AVP;unicast;client_port=5000-5001");
            if (r.status() == 200) {
                ok++;
            } else {
                assertEquals(453, r.status());
                assertTrue(
                        r.headers().getOrNull("X-Reason").contains("max-sessions-per-connection"));
                refused453++;
            }
        }
        assertEquals(RtspSettings.Limits.DEFAULTS.maxSessionsPerConnection(), ok);
        assertEquals(1001 - ok, refused453);
        assertEquals(1001 - ok, refused("sessions_per_connection"));
        RtspServerTest.Viewer other = h.view(srv, "cam"); // asserts its own 200s
        assertTrue(other.rtsp().session != null, "another client still gets a session");
    }

    @Test
    void sessionsAreCappedPerSource() throws Exception {
        RtspServer srv =
                server(
                        limits(
                                100,
                                50,
                                Duration.ofSeconds(10),
                                Duration.ofSeconds(30),
                                8,
                                3,
                                Duration.ofSeconds(10),
                                8),
                        100);
        h.publish(srv, "cam"); // the publisher's session is the loopback source's first
        h.view(srv, "cam");
        h.view(srv, "cam");
        RtspTestClient third = h.client(srv, "cam");
        RtspResponse r =
                third.send(
                        "SETUP",
                        third.base + "/trackID=0",
                        "Transport",
                        "RTP/AVP/TCP;unicast;interleaved=0-1");
        assertEquals(453, r.status());
        assertTrue(r.headers().getOrNull("X-Reason").contains("max-sessions-per-source"));
        RtspTestClient other = new RtspTestClient(srv.address(), "cam", OTHER, null, null);
        h.closers.add(other);
        assertEquals(
                200,
                other.send(
                                "SETUP",
                                other.base + "/trackID=0",
                                "Transport",
                                "RTP/AVP/TCP;unicast;interleaved=0-1")
                        .status(),
                "another source gets a session");
        assertEquals(1.0, refused("sessions_per_source"));
    }

    @Test
    void anAbandonedAnnounceFreesThePathAfterItsDeadline() throws Exception {
        RtspServer srv =
                server(
                        limits(
                                100,
                                50,
                                Duration.ofSeconds(10),
                                Duration.ofSeconds(30),
                                8,
                                100,
                                Duration.ofMillis(800),
                                8),
                        100);
        RtspTestClient squatter = h.client(srv, "cam");
        assertEquals(
                200,
                squatter.sendBody(
                                "ANNOUNCE",
                                squatter.base,
                                RtspServerTest.SDP,
                                "Content-Type",
                                "application/sdp")
                        .status());
        RtspTestClient camera = h.client(srv, "cam");
        assertEquals(
                455,
                camera.sendBody(
                                "ANNOUNCE",
                                camera.base,
                                RtspServerTest.SDP,
                                "Content-Type",
                                "application/sdp")
                        .status(),
                "held while the ANNOUNCE is young");
        RtspServerTest.waitFor(() -> refused("announce_timeout") == 1.0, 3000, "the deadline");
        h.publish(srv, "cam"); // asserts ANNOUNCE, SETUP and RECORD answer 200
    }

    @Test
    void newPathsAreCappedPerSource() throws Exception {
        RtspServer srv =
                server(
                        limits(
                                100,
                                50,
                                Duration.ofSeconds(10),
                                Duration.ofSeconds(30),
                                8,
                                100,
                                Duration.ofSeconds(10),
                                2),
                        100);
        h.publish(srv, "a");
        h.publish(srv, "b");
        RtspTestClient c = h.client(srv, "c");
        RtspResponse r =
                c.sendBody(
                        "ANNOUNCE", c.base, RtspServerTest.SDP, "Content-Type", "application/sdp");
        assertEquals(453, r.status());
        assertTrue(r.headers().getOrNull("X-Reason").contains("max-paths-per-source"));
        assertEquals(1.0, refused("paths_per_source"));
    }

    static long directBytes() {
        long n = 0;
        for (BufferPoolMXBean b : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (b.getName().equals("direct")) {
                n += b.getMemoryUsed();
            }
        }
        return n + Math.max(0, PlatformDependent.usedDirectMemory());
    }

    /** Sockets of the listener's port in CLOSE-WAIT, from ss. */
    static int closeWait(int port) throws Exception {
        Process p =
                new ProcessBuilder("ss", "-Htn", "state", "close-wait", "sport", "= :" + port)
                        .redirectErrorStream(true)
                        .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return (int) out.lines().filter(l -> !l.isBlank()).count();
    }

    @Test
    void thousandsOfIdleAndHalfSentConnectionsFromOneSourceDoNotStopAnother() throws Exception {
        int idle = 1500;
        int half = 1500;
        RtspServer srv =
                server(
                        limits(
                                4096,
                                4000,
                                Duration.ofSeconds(2),
                                Duration.ofSeconds(2),
                                8,
                                100,
                                Duration.ofSeconds(10),
                                8),
                        100);
        RtspServerTest.Publisher pub = h.publish(srv, "cam");
        long direct0 = directBytes();
        List<Socket> attack = new ArrayList<>();
        long t0 = System.nanoTime();
        byte[] partial =
                ("DESCRIBE rtsp://127.0.0.1/cam RTSP/1.0\r\nCSeq: 1\r\nX-Pad: " + "a".repeat(1900))
                        .getBytes(StandardCharsets.US_ASCII); // just under max-header-bytes (2048)
        try {
            for (int i = 0; i < idle + half; i++) {
                Socket s = new Socket();
                s.bind(new InetSocketAddress(ATTACKER, 0));
                s.connect(srv.address(), 2000);
                if (i >= idle) {
                    s.getOutputStream().write(partial);
                }
                attack.add(s);
            }
            long opened = (System.nanoTime() - t0) / 1_000_000;
            long directPeak = directBytes() - direct0;
            // meanwhile another source connects, is answered and served
            RtspTestClient viewerConn = new RtspTestClient(srv.address(), "cam", OTHER, null, null);
            h.closers.add(viewerConn);
            RtspResponse d = viewerConn.send("DESCRIBE", viewerConn.base);
            assertEquals(200, d.status(), "another source is answered during the attack");
            long answered = (System.nanoTime() - t0) / 1_000_000;
            // the attacker's connections are closed by the timeouts (2 s each)
            RtspServerTest.waitFor(
                    () -> srv.connectionCount() <= 2, 8000, "the attacker's connections closed");
            long closed = (System.nanoTime() - t0) / 1_000_000;
            System.out.printf(
                    "attack: %d idle + %d half-sent headers of %d bytes from one source opened in %d ms;"
                            + " another source answered at %d ms; all closed by %d ms (timeouts 2 s);"
                            + " direct memory grew by %d kB (the headers alone hold %d kB)%n",
                    idle,
                    half,
                    partial.length,
                    opened,
                    answered,
                    closed,
                    directPeak / 1024,
                    (long) half * partial.length / 1024);
            assertTrue(
                    directPeak < (long) half * partial.length / 4,
                    "half-sent headers wait on the heap, not in direct memory: grew "
                            + directPeak
                            + " bytes");
            assertTrue(closed < 8000);
            assertTrue(refused("idle") >= idle * 0.9, "idle: " + refused("idle"));
            assertTrue(
                    refused("request_timeout") >= half * 0.9,
                    "request_timeout: " + refused("request_timeout"));
        } finally {
            for (Socket s : attack) {
                s.close();
            }
        }
        RtspServerTest.waitFor(
                () -> {
                    try {
                        return closeWait(srv.address().getPort()) == 0;
                    } catch (Exception e) {
                        return false;
                    }
                },
                3000,
                "nothing left in CLOSE-WAIT after the attacker left");
        assertTrue(pub.rtsp().c.isOpen(), "the publisher was not disturbed");
        RtspTestClient after = new RtspTestClient(srv.address(), "cam", OTHER, null, null);
        h.closers.add(after);
        assertEquals(200, after.send("OPTIONS", "*").status());
    }
}
