package io.msm.agent.routing;

/**
 * Why a backend is taken out, as the proxy or the prober saw it.
 *
 * @param detail a line for logs and the route's status message (may be empty)
 */
public record Failure(Kind kind, String detail) {
    public enum Kind {
        /** TCP connect refused or timed out */
        CONNECT_FAILED("ConnectFailed"),
        /** DESCRIBE answered with an error status, or not within the timeout */
        DESCRIBE_FAILED("DescribeFailed"),
        /** DESCRIBE said 404: the backend does not have the stream */
        STREAM_NOT_FOUND("StreamNotFound"),
        /** RTP from the backend stopped on a playing session */
        RTP_STOPPED("RtpStopped");

        private final String reason;

        Kind(String reason) {
            this.reason = reason;
        }

        /** The CamelCase reason written to status.backends[].reason. */
        public String reason() {
            return reason;
        }
    }

    public static Failure of(Kind kind, String detail) {
        return new Failure(kind, detail == null ? "" : detail);
    }
}
