package io.msm.agent.sip.message;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** A SIP response: status code and reason phrase. */
public final class SipResponse extends SipMessage {
    private final int status;
    private final String reason;

    public SipResponse(int status, String reason, List<Header> headers, byte[] body) {
        super(headers, body);
        this.status = status;
        this.reason = reason;
    }

    public int status() {
        return status;
    }

    public String reason() {
        return reason;
    }

    public boolean provisional() {
        return status < 200;
    }

    public boolean success() {
        return status >= 200 && status < 300;
    }

    @Override
    public String startLine() {
        return "SIP/2.0 " + status + " " + reason;
    }

    @Override
    public SipResponse copy() {
        return new SipResponse(status, reason, headerList(), body().clone());
    }

    /** A fresh To tag for a response msm answers itself. */
    public static String newTag() {
        return Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);
    }

    /**
     * A response to {@code req} as RFC 3261 section 8.2.6 builds it: Via (all), From, To (with
     * {@code toTag} added when it has none), Call-ID and CSeq copied; no body.
     */
    public static SipResponse to(SipMessage req, int status, String reason, String toTag) {
        List<Header> h = new ArrayList<>();
        for (Header x : req.headers()) {
            if (x.is(HeaderNames.VIA)
                    || x.is(HeaderNames.FROM)
                    || x.is(HeaderNames.CALL_ID)
                    || x.is(HeaderNames.CSEQ)) {
                h.add(x);
            } else if (x.is(HeaderNames.TO)) {
                String v = x.value();
                if (toTag != null && status > 100 && !NameAddr.hasTag(v)) {
                    v = v + ";tag=" + toTag;
                }
                h.add(new Header(HeaderNames.TO, v));
            }
        }
        return new SipResponse(status, reason == null ? Reasons.of(status) : reason, h, null);
    }
}
