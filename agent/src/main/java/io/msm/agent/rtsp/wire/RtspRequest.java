package io.msm.agent.rtsp.wire;

import java.nio.charset.StandardCharsets;

/**
 * An RTSP request (RFC 2326 section 6).
 *
 * @param method as sent (methods are case-sensitive)
 * @param uri the Request-URI: an absolute rtsp:// URL or "*"
 * @param headers header fields
 * @param body the entity body (empty without Content-Length)
 */
public record RtspRequest(String method, String uri, RtspHeaders headers, byte[] body)
        implements RtspMessage {
    public RtspRequest {
        body = body == null ? new byte[0] : body;
    }

    public String cseq() {
        return headers.getOrNull("CSeq");
    }

    public String bodyText() {
        return new String(body, StandardCharsets.UTF_8);
    }
}
