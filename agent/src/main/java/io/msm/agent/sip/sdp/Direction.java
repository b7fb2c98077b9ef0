package io.msm.agent.sip.sdp;

import java.util.Locale;

/**
 * RFC 3264 section 5.1 / RFC 4566 section 6: which way media flows, from the describing party's
 * view.
 */
public enum Direction {
    SENDRECV,
    SENDONLY,
    RECVONLY,
    INACTIVE;

    /** The describing party sends media. */
    public boolean sends() {
        return this == SENDRECV || this == SENDONLY;
    }

    /** The describing party receives media. */
    public boolean receives() {
        return this == SENDRECV || this == RECVONLY;
    }

    public String attribute() {
        return name().toLowerCase(Locale.ROOT);
    }

    static Direction of(String attr) {
        return switch (attr) {
            case "sendrecv" -> SENDRECV;
            case "sendonly" -> SENDONLY;
            case "recvonly" -> RECVONLY;
            case "inactive" -> INACTIVE;
            default -> null;
        };
    }
}
