package io.msm.agent.sip.message;

import java.util.List;

/**
 * A message msm refuses. {@link #status} is what to answer (400, 505 or 513) when an answer is
 * possible: the message was a request (not ACK) and the headers a response needs — Via, From, To,
 * Call-ID, CSeq — were read ({@link #headers}); otherwise it is dropped.
 */
public final class SipParseException extends Exception {
    private final int status;
    private final boolean request;
    private final String method;
    private final List<Header> headers;

    public SipParseException(
            int status, String reason, boolean request, String method, List<Header> headers) {
        super(reason);
        this.status = status;
        this.request = request;
        this.method = method;
        this.headers = headers == null ? List.of() : List.copyOf(headers);
    }

    public int status() {
        return status;
    }

    public boolean request() {
        return request;
    }

    public String method() {
        return method;
    }

    public List<Header> headers() {
        return headers;
    }

    /**
     * The error response, if one can be sent: the request's Via, From, To, Call-ID and CSeq all
     * parse. Null means drop silently.
     */
    public SipResponse response(String toTag) {
        if (!request || method == null || "ACK".equals(method)) {
            return null;
        }
        int via = 0;
        int from = 0;
        int to = 0;
        int callId = 0;
        int cseq = 0;
        try {
            for (Header h : headers) {
                if (h.is(HeaderNames.VIA)) {
                    Via.parse(h.value());
                    via++;
                } else if (h.is(HeaderNames.FROM)) {
                    NameAddr.parse(h.value());
                    from++;
                } else if (h.is(HeaderNames.TO)) {
                    NameAddr.parse(h.value());
                    to++;
                } else if (h.is(HeaderNames.CALL_ID)) {
                    String c = h.value();
                    if (c.isBlank()
                            || c.length() > 256
                            || c.indexOf(' ') >= 0
                            || c.indexOf('\t') >= 0) {
                        return null;
                    }
                    callId++;
                } else if (h.is(HeaderNames.CSEQ)) {
                    CSeq.parse(h.value());
                    cseq++;
                }
            }
        } catch (SipSyntaxException e) {
            return null;
        }
        // exactly one of each: a response copying two From or Call-ID would be malformed itself
        if (via == 0 || from != 1 || to != 1 || callId != 1 || cseq != 1) {
            return null;
        }
        SipRequest stub = new SipRequest(method, "sip:invalid", headers, null);
        String reason = status == 400 ? "Bad Request" : Reasons.of(status);
        SipResponse r = SipResponse.to(stub, status, reason, toTag);
        r.add(
                HeaderNames.WARNING,
                "399 msm \"" + getMessage().replace('"', '\'').replace('\\', '/') + "\"");
        return r;
    }
}
