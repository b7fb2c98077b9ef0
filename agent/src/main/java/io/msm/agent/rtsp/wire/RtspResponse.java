package io.msm.agent.rtsp.wire;

import java.nio.charset.StandardCharsets;

/** An RTSP response (RFC 2326 section 7). */
public record RtspResponse(int status, String reason, RtspHeaders headers, byte[] body)
        implements RtspMessage {
    public RtspResponse {
        body = body == null ? new byte[0] : body;
    }

    public static RtspResponse of(int status) {
        return new RtspResponse(status, RtspStatus.reason(status), new RtspHeaders(), null);
    }

    public RtspResponse header(String name, String value) {
        headers.set(name, value);
        return this;
    }

    public RtspResponse withBody(String contentType, String text) {
        RtspResponse r =
                new RtspResponse(status, reason, headers, text.getBytes(StandardCharsets.UTF_8));
        r.headers.set("Content-Type", contentType);
        return r;
    }

    public String bodyText() {
        return new String(body, StandardCharsets.UTF_8);
    }
}
