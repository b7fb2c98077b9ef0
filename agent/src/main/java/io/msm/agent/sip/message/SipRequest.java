package io.msm.agent.sip.message;

import java.util.List;

/** A SIP request: method, Request-URI (kept as text; parse with {@link SipUri#parse}). */
public final class SipRequest extends SipMessage {
    private final String method;
    private String uri;

    public SipRequest(String method, String uri, List<Header> headers, byte[] body) {
        super(headers, body);
        this.method = method;
        this.uri = uri;
    }

    public String method() {
        return method;
    }

    public String uri() {
        return uri;
    }

    public void uri(String u) {
        this.uri = u;
    }

    public boolean is(String m) {
        return method.equals(m);
    }

    @Override
    public String startLine() {
        return method + " " + uri + " SIP/2.0";
    }

    @Override
    public SipRequest copy() {
        return new SipRequest(method, uri, headerList(), body().clone());
    }
}
