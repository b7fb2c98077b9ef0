package io.msm.cli.flows;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.io.SerializedString;
import io.msm.bpf.maps.Flow;
import io.msm.bpf.maps.RtpStats;
import java.io.IOException;

/**
 * The JSON object of one flow. The schema (README "msm flows --json"): src, dst ("addr:port", IPv6
 * "[addr]:port"), proto, class, packets, bytes, age_ms, idle_ms, fanout, identity; backend (a game
 * session's client flow: the backend it is pinned to, "addr:port"); rtp {ssrc, payload_type,
 * highest_seq, lost, jitter_ms, clock_rate} for RTP flows; pps and bitrate_bps while watching.
 */
public final class FlowJson {
    // field names escaped once, not per flow (100k flows x 15 fields)
    private static final SerializedString SRC = new SerializedString("src");
    private static final SerializedString DST = new SerializedString("dst");
    private static final SerializedString PROTO = new SerializedString("proto");
    private static final SerializedString CLASS = new SerializedString("class");
    private static final SerializedString PACKETS = new SerializedString("packets");
    private static final SerializedString BYTES = new SerializedString("bytes");
    private static final SerializedString AGE_MS = new SerializedString("age_ms");
    private static final SerializedString IDLE_MS = new SerializedString("idle_ms");
    private static final SerializedString FANOUT = new SerializedString("fanout");
    private static final SerializedString IDENTITY = new SerializedString("identity");
    private static final SerializedString BACKEND = new SerializedString("backend");
    private static final SerializedString PPS = new SerializedString("pps");
    private static final SerializedString BITRATE_BPS = new SerializedString("bitrate_bps");
    private static final SerializedString RTP = new SerializedString("rtp");
    private static final SerializedString SSRC = new SerializedString("ssrc");
    private static final SerializedString PAYLOAD_TYPE = new SerializedString("payload_type");
    private static final SerializedString HIGHEST_SEQ = new SerializedString("highest_seq");
    private static final SerializedString LOST = new SerializedString("lost");
    private static final SerializedString JITTER_MS = new SerializedString("jitter_ms");
    private static final SerializedString CLOCK_RATE = new SerializedString("clock_rate");

    private FlowJson() {}

    public static void write(JsonGenerator g, FlowRow r, long nowNs) throws IOException {
        Flow f = r.flow();
        g.writeStartObject();
        str(g, SRC, r.src());
        str(g, DST, r.dst());
        str(g, PROTO, r.key().protoName());
        str(g, CLASS, r.trafficClass().label());
        num(g, PACKETS, f.packets());
        num(g, BYTES, f.bytes());
        num(g, AGE_MS, f.ageMs(nowNs));
        num(g, IDLE_MS, f.idleMs(nowNs));
        num(g, FANOUT, r.fanout());
        str(g, IDENTITY, r.identity());
        if (r.backend() != null) {
            str(g, BACKEND, r.backend());
        }
        if (r.hasRates()) {
            num(g, PPS, round3(r.pps()));
            num(g, BITRATE_BPS, round3(r.bytesPerSec() * 8));
        }
        if (r.isRtp()) {
            RtpStats s = r.rtp();
            g.writeFieldName(RTP);
            g.writeStartObject();
            num(g, SSRC, s.ssrc());
            num(g, PAYLOAD_TYPE, s.pt());
            num(g, HIGHEST_SEQ, s.extendedHighestSeq());
            num(g, LOST, s.lost());
            num(g, JITTER_MS, round3(s.jitterMs()));
            num(g, CLOCK_RATE, s.clockRate());
            g.writeEndObject();
        }
        g.writeEndObject();
    }

    private static void str(JsonGenerator g, SerializedString name, String value)
            throws IOException {
        g.writeFieldName(name);
        g.writeString(value);
    }

    private static void num(JsonGenerator g, SerializedString name, long value) throws IOException {
        g.writeFieldName(name);
        g.writeNumber(value);
    }

    private static void num(JsonGenerator g, SerializedString name, double value)
            throws IOException {
        g.writeFieldName(name);
        g.writeNumber(value);
    }

    static double round3(double v) {
        return Math.round(v * 1000.0) / 1000.0;
    }
}
