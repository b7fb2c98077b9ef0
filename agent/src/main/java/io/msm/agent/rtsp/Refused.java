package io.msm.agent.rtsp;

import java.util.List;

/**
 * The path registry's answer when it will not do what a request asks: the RTSP status and the
 * reason the connection sends in {@code X-Reason}.
 */
final class Refused extends Exception {
    final int status;

    /** WWW-Authenticate values of a 401 (empty otherwise) */
    final List<String> challenges;

    Refused(int status, String why) {
        this(status, why, List.of());
    }

    Refused(int status, String why, List<String> challenges) {
        super(why, null, false, false); // an answer, not a fault: no stack trace
        this.status = status;
        this.challenges = challenges;
    }
}
