package io.msm.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.msm.agent.media.Relay;
import io.msm.agent.media.RelayOptions;
import io.msm.agent.media.UserspaceMediaPlane;
import io.msm.bpf.maps.PortTable;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Relays sharing a label (every SIP call's "sip/caller/rtp") are one series, summed. */
class MediaMetricsTest {
    @Test
    void relaysWithOneLabelAreSummed() throws Exception {
        PrometheusMeterRegistry reg = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        UserspaceMediaPlane plane = new UserspaceMediaPlane(new PortTable.Range(44000, 44999), 1);
        InetAddress lo = InetAddress.getLoopbackAddress();
        try (DatagramChannel src = DatagramChannel.open().bind(new InetSocketAddress(lo, 0));
                DatagramChannel sink = DatagramChannel.open().bind(new InetSocketAddress(lo, 0))) {
            MediaMetrics m = new MediaMetrics(reg, plane::relays);
            Relay a = plane.open(new InetSocketAddress(lo, 0), RelayOptions.of("sip/caller/rtp"));
            Relay b = plane.open(new InetSocketAddress(lo, 0), RelayOptions.of("sip/caller/rtp"));
            a.subscribe((InetSocketAddress) sink.getLocalAddress());
            b.subscribe((InetSocketAddress) sink.getLocalAddress());
            for (int i = 0; i < 3; i++) {
                src.send(ByteBuffer.wrap(new byte[] {1, 2, 3}), a.local());
            }
            for (int i = 0; i < 4; i++) {
                src.send(ByteBuffer.wrap(new byte[] {1, 2, 3}), b.local());
            }
            long end = System.nanoTime() + 3_000_000_000L;
            String text = "";
            while (System.nanoTime() < end) {
                m.sync();
                text = reg.scrape();
                if (text.contains(
                        "msm_stream_upstream_packets_total{stream=\"sip/caller/rtp\"} 7.0")) {
                    break;
                }
                Thread.sleep(10);
            }
            assertTrue(
                    text.contains(
                            "msm_stream_upstream_packets_total{stream=\"sip/caller/rtp\"} 7.0"),
                    text);
            assertTrue(text.contains("msm_stream_viewers{stream=\"sip/caller/rtp\"} 2.0"), text);
            assertTrue(
                    text.contains("msm_stream_viewers_userspace{stream=\"sip/caller/rtp\"} 2.0"),
                    text);
            a.close();
            b.close();
            m.sync();
            assertTrue(
                    !reg.scrape().contains("sip/caller/rtp"),
                    "gone with the last relay of the label");
        } finally {
            plane.close();
        }
    }

    @Test
    void identityRefusalsAreCountedPerStreamAndReason() throws Exception {
        PrometheusMeterRegistry reg = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        UserspaceMediaPlane plane = new UserspaceMediaPlane(new PortTable.Range(44000, 44999), 1);
        InetAddress lo = InetAddress.getLoopbackAddress();
        try (DatagramChannel src = DatagramChannel.open().bind(new InetSocketAddress(lo, 0))) {
            MediaMetrics m = new MediaMetrics(reg, plane::relays);
            Relay a =
                    plane.open(
                            new InetSocketAddress(lo, 0),
                            RelayOptions.of("rtsp/cam/track0/rtp")
                                    .withOthers(RelayOptions.Others.DROP)
                                    .withAllowedIdentities(Set.of(5))); // nobody here has it
            for (int i = 0; i < 3; i++) {
                src.send(ByteBuffer.wrap(new byte[] {1, 2, 3}), a.local());
            }
            String want =
                    "msm_stream_identity_refused_total{reason=\"unknown\",stream=\"rtsp/cam/track0/rtp\"} 3.0";
            long end = System.nanoTime() + 3_000_000_000L;
            String text = "";
            while (System.nanoTime() < end) {
                m.sync();
                text = reg.scrape();
                if (text.contains(want)) {
                    break;
                }
                Thread.sleep(10);
            }
            assertTrue(text.contains(want), text);
            assertTrue(
                    text.contains(
                            "msm_stream_identity_refused_total{reason=\"denied\",stream=\"rtsp/cam/track0/rtp\"} 0.0"),
                    text);
            a.close();
        } finally {
            plane.close();
        }
    }
}
