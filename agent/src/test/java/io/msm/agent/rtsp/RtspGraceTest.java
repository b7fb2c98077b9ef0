package io.msm.agent.rtsp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.config.RtspSettings;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Viewers outlive their publisher for the publisher-grace (userspace plane): a publisher returning
 * within it feeds the same relays and the viewers' sessions go on; an incompatible description or
 * the grace running out ends them as before.
 */
@Timeout(60)
class RtspGraceTest {
    final RtspServerTest h = new RtspServerTest();

    @AfterEach
    void tearDown() throws Exception {
        h.tearDown();
    }

    RtspServer server(Duration grace) throws Exception {
        return h.server(
                RtspServerTest.settings(Duration.ofSeconds(30), 100, Duration.ZERO, Map.of())
                        .with(new RtspSettings.Grace(grace, Map.of())));
    }

    @Test
    void viewersKeepTheirSessionsAndResumeWhenThePublisherReturns() throws Exception {
        RtspServer srv = server(Duration.ofSeconds(5));
        RtspServerTest.Publisher pub = h.publish(srv, "live/cam");
        RtspServerTest.Viewer v = h.view(srv, "live/cam");
        pub.send(0, 5);
        assertEquals(5, RtspServerTest.drain(v.rtp(), 300).size());
        pub.rtsp().close(); // connection lost
        Thread.sleep(300);
        assertTrue(v.rtsp().c.isOpen(), "the viewer's connection stays");
        assertEquals(
                200,
                v.rtsp().send("GET_PARAMETER", v.rtsp().base).status(),
                "and its session too, in grace");
        // another publisher (other ports) announces the same description: the same relays
        RtspServerTest.Publisher again = h.publish(srv, "live/cam");
        assertEquals(pub.serverPort(), again.serverPort(), "the relay the viewers subscribe to");
        for (int i = 0; i < 5; i++) {
            // a new source: its own SSRC, sequence numbers and timestamps
            again.rtp()
                    .send(
                            ByteBuffer.wrap(Rtp.packet(1000 + i, 0xCD, 200)),
                            new InetSocketAddress(RtspServerTest.LO, again.serverPort()));
        }
        List<byte[]> got = RtspServerTest.drain(v.rtp(), 500);
        assertEquals(5, got.size(), "the returning publisher's media reaches the old viewer");
        for (int i = 0; i < 5; i++) {
            assertEquals(5 + i, Rtp.seq(got.get(i)), "one continuous sequence for the viewer");
            assertEquals(0xAB, ByteBuffer.wrap(got.get(i)).getInt(8), "under the first SSRC");
        }
        long ts0 = ByteBuffer.wrap(got.get(0)).getInt(4) & 0xffffffffL;
        long ts1 = ByteBuffer.wrap(got.get(1)).getInt(4) & 0xffffffffL;
        assertEquals(3600, ts1 - ts0, "the new source's timestamp steps kept");
        assertTrue(ts0 > 4 * 3600, "and moved past the last one sent: " + ts0);
        assertEquals(
                200,
                v.rtsp().send("GET_PARAMETER", v.rtsp().base).status(),
                "with the session it had");
        assertEquals(1.0, h.registry.find("msm.rtsp.publisher.resumptions").counter().count());
        // the stream continues: TEARDOWN of the returned publisher starts another grace
        again.rtsp().send("TEARDOWN", again.rtsp().base);
        Thread.sleep(200);
        assertEquals(200, v.rtsp().send("GET_PARAMETER", v.rtsp().base).status());
    }

    @Test
    void aPublisherReturningWithItsOldSsrcContinuesTheSequence() throws Exception {
        RtspServer srv = server(Duration.ofSeconds(5));
        RtspServerTest.Publisher pub = h.publish(srv, "cam");
        RtspServerTest.Viewer v = h.view(srv, "cam");
        send(pub, 0, 5, 0xAB);
        assertEquals(5, RtspServerTest.drain(v.rtp(), 300).size());
        pub.rtsp().close();
        Thread.sleep(200);
        // the same encoder restarted: the SSRC it had, a new sequence
        RtspServerTest.Publisher again = h.publish(srv, "cam");
        send(again, 1000, 5, 0xAB);
        List<byte[]> got = RtspServerTest.drain(v.rtp(), 500);
        assertEquals(5, got.size());
        for (int i = 0; i < 5; i++) {
            assertEquals(5 + i, Rtp.seq(got.get(i)), "no sequence jump at the player");
            assertEquals(0xAB, ByteBuffer.wrap(got.get(i)).getInt(8));
        }
    }

    @Test
    void aPublisherWhoseRtpStopsWhileItsSessionLivesStartsTheGrace() throws Exception {
        RtspServer srv =
                h.server(
                        RtspServerTest.settings(
                                        Duration.ofSeconds(30), 100, Duration.ZERO, Map.of())
                                .with(
                                        new RtspSettings.Grace(
                                                Duration.ofSeconds(5),
                                                Map.of(),
                                                null,
                                                Map.of(),
                                                Duration.ofMillis(300),
                                                Map.of())));
        RtspServerTest.Publisher stuck = h.publish(srv, "cam");
        RtspServerTest.Viewer v = h.view(srv, "cam");
        send(stuck, 0, 5, 0xAB);
        long t0 = System.nanoTime(); // its last packet
        assertEquals(5, RtspServerTest.drain(v.rtp(), 300).size());
        // its encoder hangs: RTSP connection and session alive, no RTP
        RtspServerTest.waitFor(
                () -> h.registry.find("msm.rtsp.publisher.silences").counter().count() == 1.0,
                5000,
                "the silence is noticed");
        long noticedMs = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(stuck.rtsp().c.isOpen(), "its connection is left alone");
        // a restarted encoder announces the path again: the stream resumes, no 455
        RtspServerTest.Publisher again = h.publish(srv, "cam");
        assertEquals(stuck.serverPort(), again.serverPort(), "into the same relays");
        send(again, 1000, 5, 0xCD);
        List<byte[]> got = RtspServerTest.drain(v.rtp(), 500);
        assertEquals(5, got.size());
        for (int i = 0; i < 5; i++) {
            assertEquals(5 + i, Rtp.seq(got.get(i)), "one continuous sequence");
        }
        assertEquals(200, v.rtsp().send("GET_PARAMETER", v.rtsp().base).status());
        assertEquals(1.0, h.registry.find("msm.rtsp.publisher.resumptions").counter().count());
        System.out.println(
                "publisher-silence 300 ms: noticed " + noticedMs + " ms after the last packet");
    }

    static void send(RtspServerTest.Publisher p, int from, int n, int ssrc) throws Exception {
        for (int i = from; i < from + n; i++) {
            p.rtp()
                    .send(
                            ByteBuffer.wrap(Rtp.packet(i, ssrc, 200)),
                            new InetSocketAddress(RtspServerTest.LO, p.serverPort()));
        }
    }

    @Test
    void aHotStandbyTakesOverWhenThePublisherFallsSilent() throws Exception {
        RtspServer srv =
                h.server(
                        RtspServerTest.settings(
                                        Duration.ofSeconds(30), 100, Duration.ZERO, Map.of())
                                .with(
                                        new RtspSettings.Grace(
                                                Duration.ofSeconds(5),
                                                Map.of(),
                                                Duration.ofMillis(200),
                                                Map.of())));
        RtspServerTest.Publisher a = h.publish(srv, "cam");
        RtspServerTest.Viewer v = h.view(srv, "cam");
        RtspServerTest.Publisher b = h.publish(srv, "cam");
        assertEquals(a.serverPort(), b.serverPort(), "the standby feeds the same relay");
        send(a, 0, 5, 0xAB);
        send(b, 700, 5, 0xCD);
        List<byte[]> got = RtspServerTest.drain(v.rtp(), 300);
        assertEquals(5, got.size(), "only the active publisher is relayed");
        Thread.sleep(250); // the active one falls silent
        send(b, 705, 5, 0xCD);
        send(a, 5, 3, 0xAB); // the old active, now the standby, while the new one is live
        got = RtspServerTest.drain(v.rtp(), 300);
        assertEquals(5, got.size(), "the standby took over, the old active is not relayed");
        for (int i = 0; i < 5; i++) {
            assertEquals(5 + i, Rtp.seq(got.get(i)), "one continuous sequence");
            assertEquals(0xAB, ByteBuffer.wrap(got.get(i)).getInt(8));
        }
        a.rtsp().close();
        RtspServerTest.waitFor(
                () ->
                        h.registry.find("msm.rtsp.publisher.standby.takeovers").counter().count()
                                == 1.0,
                3000,
                "the standby publishes the path");
        send(b, 710, 3, 0xCD);
        assertEquals(3, RtspServerTest.drain(v.rtp(), 300).size());
        assertEquals(200, v.rtsp().send("GET_PARAMETER", v.rtsp().base).status());
    }

    @Test
    void theGraceRunningOutEndsTheViewers() throws Exception {
        RtspServer srv = server(Duration.ofMillis(400));
        RtspServerTest.Publisher pub = h.publish(srv, "cam");
        RtspServerTest.Viewer v = h.view(srv, "cam");
        pub.rtsp().close();
        RtspServerTest.waitFor(
                () -> !v.rtsp().c.isOpen(), 3000, "the viewer's connection closed after the grace");
        RtspServerTest.waitFor(() -> srv.sessionCount() == 0, 3000, "no sessions left");
        assertEquals(1.0, h.registry.find("msm.rtsp.publisher.grace.expiries").counter().count());
    }

    @Test
    void anIncompatibleDescriptionEndsTheOldViewers() throws Exception {
        RtspServer srv = server(Duration.ofSeconds(5));
        RtspServerTest.Publisher pub = h.publish(srv, "cam");
        RtspServerTest.Viewer v = h.view(srv, "cam");
        pub.rtsp().close();
        Thread.sleep(200);
        assertTrue(v.rtsp().c.isOpen());
        RtspTestClient p = h.client(srv, "cam");
        String audio =
                RtspServerTest.SDP.replace(
                        "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000",
                        "m=audio 0 RTP/AVP 97\r\na=rtpmap:97 opus/48000/2");
        assertEquals(
                200,
                p.sendBody("ANNOUNCE", p.base, audio, "Content-Type", "application/sdp").status());
        RtspServerTest.waitFor(
                () -> !v.rtsp().c.isOpen(), 3000, "the old viewer's connection closed");
    }

    @Test
    void zeroGraceEndsTheViewersAtOnceAsBefore() throws Exception {
        RtspServer srv = server(Duration.ZERO);
        RtspServerTest.Publisher pub = h.publish(srv, "cam");
        RtspServerTest.Viewer v = h.view(srv, "cam");
        pub.rtsp().close();
        RtspServerTest.waitFor(() -> !v.rtsp().c.isOpen(), 3000, "the viewer ended");
    }
}
