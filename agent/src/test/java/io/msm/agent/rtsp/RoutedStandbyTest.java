package io.msm.agent.rtsp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.routing.Backend;
import io.msm.agent.routing.Failure;
import io.msm.agent.routing.StreamRoutes;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A StreamRoute's hot standby (spec.hotStandby) on the userspace plane: the routed path pulls the
 * chosen target and the standby target at once into the same relays; only the active one reaches
 * the viewers, the standby's packets once the active one has been silent for the configured time,
 * one continuous stream; when the active upstream session is lost, the standby carries on as the
 * path's upstream and the viewers keep their sessions.
 */
@Timeout(60)
class RoutedStandbyTest {
    final RtspServerTest h = new RtspServerTest();

    @AfterEach
    void tearDown() throws Exception {
        h.tearDown();
    }

    RtspServer agent() throws Exception {
        return h.server(
                RtspServerTest.settings(
                        Duration.ofSeconds(30), 100, Duration.ofSeconds(5), Map.of()));
    }

    static RtspServer.PathState state(RtspServer s, String name) {
        return s.pathStates().stream().filter(p -> p.name().equals(name)).findFirst().orElse(null);
    }

    @Test
    void theStandbyTargetFeedsTheSameRelaysAndTakesOverWhenTheActiveFallsSilent() throws Exception {
        RtspServer origin1 = agent();
        RtspServer origin2 = agent();
        RtspServerTest.Publisher p1 = h.publish(origin1, "cam");
        RtspServerTest.Publisher p2 = h.publish(origin2, "cam");
        String ep1 = "127.0.0.1:" + origin1.address().getPort();
        String ep2 = "127.0.0.1:" + origin2.address().getPort();
        Backend chosen =
                new Backend(
                                "media/live",
                                "media/origin:554",
                                ep1,
                                URI.create("rtsp://" + ep1 + "/cam"))
                        .withStandby(
                                new Backend.Standby(
                                        ep2,
                                        URI.create("rtsp://" + ep2 + "/cam"),
                                        Duration.ofMillis(200)));
        RtspServer node = agent();
        node.withRoutes(
                () ->
                        new StreamRoutes() {
                            @Override
                            public Optional<Backend> choose(String host, String path) {
                                return "/cam".equals(path) ? Optional.of(chosen) : Optional.empty();
                            }

                            @Override
                            public void report(Backend backend, Failure failure) {}
                        });
        RtspServerTest.Viewer v = h.view(node, "cam");
        RtspServerTest.waitFor(
                () -> state(origin2, "cam").viewers() == 1,
                5000,
                "the node's agent pulls the standby target too");
        assertEquals(1, state(origin1, "cam").viewers(), "and the chosen one");
        assertEquals(1, state(node, "cam").upstreamSessions(), "one upstream session counted");

        RtspGraceTest.send(p1, 0, 5, 0xAB);
        Thread.sleep(50);
        RtspGraceTest.send(p2, 700, 5, 0xCD);
        List<byte[]> got = RtspServerTest.drain(v.rtp(), 300);
        assertEquals(5, got.size(), "only the active target is relayed");
        for (int i = 0; i < 5; i++) {
            assertEquals(i, Rtp.seq(got.get(i)), "the active target's packets");
        }
        Thread.sleep(300); // the active one falls silent
        RtspGraceTest.send(p2, 705, 5, 0xCD);
        got = RtspServerTest.drain(v.rtp(), 300);
        assertEquals(5, got.size(), "the standby took over");
        for (int i = 0; i < 5; i++) {
            assertEquals(5 + i, Rtp.seq(got.get(i)), "one continuous sequence");
            assertEquals(0xAB, ByteBuffer.wrap(got.get(i)).getInt(8), "under one SSRC");
        }

        // the active upstream session is lost: the standby carries on, the viewer stays
        origin1.close();
        Thread.sleep(500);
        RtspGraceTest.send(p2, 710, 3, 0xCD);
        assertEquals(3, RtspServerTest.drain(v.rtp(), 300).size(), "media goes on");
        assertEquals(200, v.rtsp().send("GET_PARAMETER", v.rtsp().base).status());
        assertTrue(state(node, "cam").viewers() == 1, "the viewer's session is kept");
    }
}
