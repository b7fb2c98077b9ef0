package io.msm.bpf.maps;

import java.util.Locale;

/** enum msm_class: what the classifier decided a packet (or flow) is. */
public enum TrafficClass {
    OTHER(0),
    RTP(1),
    RTCP(2),
    STUN(3),
    DTLS(4),
    GAME(5),
    CONTROL(6);

    /** MSM_CLASS_MAX: array size of per-class counters. */
    public static final int SLOTS = 8;

    private final int id;

    TrafficClass(int id) {
        this.id = id;
    }

    public int id() {
        return id;
    }

    /** Lower-case name used by the CLI, JSON and metric labels. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static TrafficClass of(int id) {
        for (TrafficClass c : values()) {
            if (c.id == id) {
                return c;
            }
        }
        return OTHER;
    }

    /** Parse a label ("rtp", "RTCP"); throws with the accepted names. */
    public static TrafficClass parse(String s) {
        for (TrafficClass c : values()) {
            if (c.label().equalsIgnoreCase(s.trim())) {
                return c;
            }
        }
        throw new IllegalArgumentException(
                "unknown class '" + s + "' (one of: rtp, rtcp, stun, dtls, game, control, other)");
    }
}
