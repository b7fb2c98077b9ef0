package io.msm.agent.rtsp;

/**
 * The path registry's answer when it will not do what a request asks: the RTSP status and the
 * reason the connection sends in {@code X-Reason}.
 */
final class Refused extends Exception {
    final int status;

    Refused(int status, String why) {
        super(why, null, false, false); // an answer, not a fault: no stack trace
        this.status = status;
    }
}
