package io.msm.agent.rtsp;

import static io.msm.agent.rtsp.RtspServerTest.LO;
import static io.msm.agent.rtsp.RtspServerTest.drain;
import static io.msm.agent.rtsp.RtspServerTest.readResponse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.msm.agent.config.HostPort;
import io.msm.agent.config.RtspSettings;
import io.msm.agent.media.UserspaceMediaPlane;
import io.msm.agent.upgrade.HandoverClient;
import io.msm.agent.upgrade.HandoverServer;
import io.msm.agent.upgrade.Sockets;
import io.msm.bpf.maps.PortTable;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A seamless upgrade of the RTSP proxy, both agents in this JVM on the userspace media plane: the
 * publisher, a UDP viewer and an interleaved viewer go on over the same connections and sessions
 * with the new agent; a takeover that fails leaves the old agent serving them.
 */
@Timeout(60)
class RtspHandoverTest {
    final RtspServerTest h = new RtspServerTest();
    @TempDir Path dir;
    PortTable.Range range;
    RtspSettings settings;

    @BeforeEach
    void setUp() {
        assumeTrue(Sockets.supported(), "epoll");
        int base = 20000 + 2 * ThreadLocalRandom.current().nextInt(0, 10000);
        range = new PortTable.Range(base, base + 399);
        settings = RtspServerTest.settings(Duration.ofSeconds(30), 100, Duration.ZERO, Map.of());
    }

    @AfterEach
    void tearDown() throws Exception {
        h.tearDown();
        Sockets.closeUnclaimed();
    }

    record Node(RtspServer srv, UserspaceMediaPlane plane) {
        void close() {
            srv.close();
            plane.close();
        }
    }

    Node node(int port) throws Exception {
        UserspaceMediaPlane plane = new UserspaceMediaPlane(range, 1);
        h.registry = new SimpleMeterRegistry();
        RtspServer srv = new RtspServer(new HostPort(LO, port), settings, plane, h.registry);
        srv.start();
        Node n = new Node(srv, plane);
        h.closers.add(n::close);
        return n;
    }

    /** An interleaved viewer of cam on its own connection: its socket, playing on channels 4-5. */
    record TcpViewer(Socket socket, InputStream in, OutputStream out, String session) {
        String request(String method, int cseq) throws Exception {
            out.write(
                    (method
                                    + " rtsp://127.0.0.1/cam RTSP/1.0\r\nCSeq: "
                                    + cseq
                                    + "\r\nSession: "
                                    + session
                                    + "\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
            return readResponse(in);
        }

        /** The RTP sequence numbers of the next n frames. */
        int[] frames(int n) throws Exception {
            int[] seq = new int[n];
            for (int i = 0; i < n; i++) {
                assertEquals('$', in.read(), "an interleaved frame");
                assertEquals(4, in.read());
                int len = (in.read() << 8) | in.read();
                seq[i] = Rtp.seq(in.readNBytes(len));
            }
            return seq;
        }
    }

    TcpViewer tcpViewer(RtspServer srv) throws Exception {
        Socket tcp = new Socket(LO, srv.address().getPort());
        h.closers.add(tcp);
        tcp.setSoTimeout(3000);
        OutputStream out = tcp.getOutputStream();
        InputStream in = tcp.getInputStream();
        out.write(
                ("SETUP rtsp://127.0.0.1/cam/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;unicast;"
                                + "interleaved=4-5\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
        String setup = readResponse(in);
        assertTrue(setup.startsWith("RTSP/1.0 200"), setup);
        String sid = setup.replaceAll("(?s).*Session: ([0-9a-f]+).*", "$1");
        TcpViewer v = new TcpViewer(tcp, in, out, sid);
        assertTrue(v.request("PLAY", 2).startsWith("RTSP/1.0 200"));
        return v;
    }

    static void assertSeq(int from, int[] got) {
        for (int i = 0; i < got.length; i++) {
            assertEquals(from + i, got[i], "frame " + i);
        }
    }

    @Test
    void sessionsGoOnWithTheNewAgentOnTheSameConnections() throws Exception {
        Node a = node(0);
        int port = a.srv.address().getPort();
        RtspServerTest.Publisher pub = h.publish(a.srv, "cam");
        RtspServerTest.Viewer udp = h.view(a.srv, "cam");
        TcpViewer tcp = tcpViewer(a.srv);
        pub.send(0, 10);
        assertEquals(10, drain(udp.rtp(), 500).size());
        assertSeq(0, tcp.frames(10));
        String udpSession = udp.rtsp().session;

        Path sock = dir.resolve("handover.sock");
        CountDownLatch released = new CountDownLatch(1);
        HandoverServer hs =
                new HandoverServer(
                        sock,
                        Duration.ofSeconds(10),
                        List.of(a.srv.handover()),
                        () ->
                                new Thread(
                                                () -> {
                                                    a.close();
                                                    released.countDown();
                                                })
                                        .start());
        h.closers.add(hs);
        HandoverClient c = HandoverClient.takeOver(sock, Duration.ofSeconds(5));
        assertEquals(3, c.connections(), "publisher, UDP viewer, TCP viewer");
        Node b = node(port);
        c.confirm();
        assertTrue(released.await(10, TimeUnit.SECONDS), "the old agent stopped");
        assertEquals(3, b.srv.sessionCount(), "the new agent knows every session");

        // media goes on: to the UDP viewer (its subscription), over the TCP viewer's connection
        pub.send(10, 20);
        List<byte[]> got = drain(udp.rtp(), 500);
        assertEquals(20, got.size());
        assertEquals(10, Rtp.seq(got.get(0)));
        assertSeq(10, tcp.frames(20));

        // the same sessions answer on the same connections
        assertEquals(udpSession, udp.rtsp().session);
        assertEquals(200, udp.rtsp().send("GET_PARAMETER", udp.rtsp().base).status());
        assertEquals(200, udp.rtsp().send("OPTIONS", udp.rtsp().base).status());
        assertTrue(tcp.request("GET_PARAMETER", 3).startsWith("RTSP/1.0 200"));
        assertEquals(200, pub.rtsp().send("GET_PARAMETER", pub.rtsp().base).status());
        // a newcomer is served by the new agent
        RtspServerTest.Viewer late = h.view(b.srv, "cam");
        pub.send(30, 5);
        assertEquals(5, drain(late.rtp(), 500).size());
        assertEquals(5, drain(udp.rtp(), 200).size());
        // and TEARDOWN ends a handed-over session
        assertEquals(200, udp.rtsp().send("TEARDOWN", udp.rtsp().base).status());
        assertEquals(454, udp.rtsp().send("PLAY", udp.rtsp().base).status());
        assertEquals(3, b.srv.sessionCount());
    }

    @Test
    void aTakeoverThatFailsLeavesTheOldAgentServing() throws Exception {
        Node a = node(0);
        RtspServerTest.Publisher pub = h.publish(a.srv, "cam");
        RtspServerTest.Viewer udp = h.view(a.srv, "cam");
        TcpViewer tcp = tcpViewer(a.srv);
        Path sock = dir.resolve("handover.sock");
        HandoverServer hs =
                new HandoverServer(
                        sock, Duration.ofSeconds(10), List.of(a.srv.handover()), () -> {});
        h.closers.add(hs);
        HandoverClient c = HandoverClient.takeOver(sock, Duration.ofSeconds(5));
        c.abort(); // the new agent dies before it confirms
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (udp.rtsp().send("GET_PARAMETER", udp.rtsp().base).status() != 200) {
            assertTrue(System.nanoTime() < end, "the old agent answers again");
        }
        pub.send(0, 10);
        assertEquals(10, drain(udp.rtp(), 500).size());
        assertSeq(0, tcp.frames(10));
        assertTrue(tcp.request("GET_PARAMETER", 3).startsWith("RTSP/1.0 200"));
        assertEquals(3, a.srv.sessionCount());
        // and a newcomer is accepted by the old listener
        RtspServerTest.Viewer late = h.view(a.srv, "cam");
        pub.send(10, 5);
        assertEquals(5, drain(late.rtp(), 500).size());
    }

    @Test
    void anInterleavedPublisherGoesOnAndHalfAFrameIsNotLost() throws Exception {
        Node a = node(0);
        int port = a.srv.address().getPort();
        Socket pub = new Socket(LO, port);
        h.closers.add(pub);
        pub.setSoTimeout(3000);
        String sdp = RtspServerTest.SDP;
        assertTrue(
                RtspServerTest.exchange(
                                pub,
                                "ANNOUNCE rtsp://127.0.0.1/tcpcam RTSP/1.0\r\nCSeq: 1\r\n"
                                        + "Content-Type: application/sdp\r\nContent-Length: "
                                        + sdp.length()
                                        + "\r\n\r\n"
                                        + sdp)
                        .startsWith("RTSP/1.0 200"));
        String s =
                RtspServerTest.exchange(
                        pub,
                        "SETUP rtsp://127.0.0.1/tcpcam/streamid=0 RTSP/1.0\r\nCSeq: 2\r\n"
                                + "Transport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record\r\n\r\n");
        String sid = s.replaceAll("(?s).*Session: ([0-9a-f]+).*", "$1");
        assertTrue(
                RtspServerTest.exchange(
                                pub,
                                "RECORD rtsp://127.0.0.1/tcpcam RTSP/1.0\r\nCSeq: 3\r\nSession: "
                                        + sid
                                        + "\r\n\r\n")
                        .startsWith("RTSP/1.0 200"));
        RtspServerTest.Viewer v = h.view(a.srv, "tcpcam");
        OutputStream out = pub.getOutputStream();
        for (int i = 0; i < 10; i++) {
            frame(out, Rtp.packet(i, 0xCD, 100));
        }
        assertEquals(10, drain(v.rtp(), 500).size());
        // half a frame: the old agent's decoder holds it when the handover comes
        byte[] half = Rtp.packet(10, 0xCD, 100);
        out.write(new byte[] {'$', 0, (byte) (half.length >> 8), (byte) half.length});
        out.write(half, 0, 40);
        out.flush();
        Thread.sleep(200);

        Path sock = dir.resolve("handover.sock");
        CountDownLatch released = new CountDownLatch(1);
        HandoverServer hs =
                new HandoverServer(
                        sock,
                        Duration.ofSeconds(10),
                        List.of(a.srv.handover()),
                        () ->
                                new Thread(
                                                () -> {
                                                    a.close();
                                                    released.countDown();
                                                })
                                        .start());
        h.closers.add(hs);
        HandoverClient c = HandoverClient.takeOver(sock, Duration.ofSeconds(5));
        Node b = node(port);
        c.confirm();
        assertTrue(released.await(10, TimeUnit.SECONDS));

        out.write(half, 40, half.length - 40);
        for (int i = 11; i < 20; i++) {
            frame(out, Rtp.packet(i, 0xCD, 100));
        }
        out.flush();
        List<byte[]> got = drain(v.rtp(), 1000);
        assertEquals(10, got.size(), "the frame cut by the handover and the nine after it");
        assertEquals(10, Rtp.seq(got.get(0)));
        assertEquals(19, Rtp.seq(got.get(9)));
        assertTrue(
                RtspServerTest.exchange(
                                pub,
                                "GET_PARAMETER rtsp://127.0.0.1/tcpcam RTSP/1.0\r\nCSeq: 4\r\nSession: "
                                        + sid
                                        + "\r\n\r\n")
                        .startsWith("RTSP/1.0 200"),
                "the publisher's session, on its connection, with the new agent");
        assertEquals(2, b.srv.sessionCount());
    }

    static void frame(OutputStream out, byte[] p) throws Exception {
        out.write(new byte[] {'$', 0, (byte) (p.length >> 8), (byte) p.length});
        out.write(p);
    }

    @Test
    void theStateSurvivesJson() throws Exception {
        RtspHandover.State s =
                new RtspHandover.State(
                        List.of(new RtspHandover.Conn("127.0.0.1|8554", "127.0.0.1|40000", "AAE=")),
                        List.of(
                                new RtspHandover.PathState(
                                        "cam",
                                        RtspServerTest.SDP,
                                        42,
                                        List.of(
                                                new RtspHandover.TrackState(
                                                        0,
                                                        "127.0.0.1|30000",
                                                        "127.0.0.1|30001",
                                                        "127.0.0.1|5000",
                                                        "127.0.0.1|5001")),
                                        new RtspHandover.SessionState(
                                                "ab", 0, "RECORDING", List.of()),
                                        List.of(
                                                new RtspHandover.SessionState(
                                                        "cd",
                                                        0,
                                                        "PLAYING",
                                                        List.of(
                                                                new RtspHandover.SetupState(
                                                                        0,
                                                                        "RTP/AVP/TCP;unicast;interleaved=4-5",
                                                                        null,
                                                                        null,
                                                                        4,
                                                                        5)))))));
        String json = RtspHandover.JSON.writeValueAsString(s);
        assertEquals(s, RtspHandover.JSON.readValue(json, RtspHandover.State.class));
        // a continuous track with a hot standby: the new agent keeps the kernel's rewrite state
        RtspHandover.TrackState hot =
                new RtspHandover.TrackState(
                        0,
                        "127.0.0.1|30000",
                        "127.0.0.1|30001",
                        "127.0.0.1|5000",
                        "127.0.0.1|5001",
                        true,
                        "127.0.0.2|5000",
                        "127.0.0.2|5001",
                        300);
        assertEquals(
                hot,
                RtspHandover.JSON.readValue(
                        RtspHandover.JSON.writeValueAsString(hot), RtspHandover.TrackState.class));
        assertEquals(
                new RtspHandover.TrackState(
                        0,
                        "127.0.0.1|30000",
                        "127.0.0.1|30001",
                        "127.0.0.1|5000",
                        "127.0.0.1|5001"),
                RtspHandover.JSON.readValue(
                        "{\"index\":0,\"rtp\":\"127.0.0.1|30000\",\"rtcp\":\"127.0.0.1|30001\","
                                + "\"srcRtp\":\"127.0.0.1|5000\",\"srcRtcp\":\"127.0.0.1|5001\"}",
                        RtspHandover.TrackState.class),
                "an older agent's state: not continuous, no standby");
        assertEquals(
                new InetSocketAddress("::1", 554),
                RtspHandover.sock(RtspHandover.addr(new InetSocketAddress("::1", 554))));
        assertEquals(null, RtspHandover.sock(null));
    }
}
