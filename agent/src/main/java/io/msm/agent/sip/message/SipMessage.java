package io.msm.agent.sip.message;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A SIP request or response: start line, header fields in order, body. Mutable — the proxy edits a
 * copy of what it received (Via, Route, Record-Route, Max-Forwards, the SDP body) and encodes it;
 * the Content-Length is always computed from the body on encoding.
 */
public abstract sealed class SipMessage permits SipRequest, SipResponse {
    private final List<Header> headers;
    private byte[] body;

    protected SipMessage(List<Header> headers, byte[] body) {
        this.headers = new ArrayList<>(headers);
        this.body = body == null ? new byte[0] : body;
    }

    public abstract String startLine();

    public abstract SipMessage copy();

    public List<Header> headers() {
        return List.copyOf(headers);
    }

    List<Header> headerList() {
        return headers;
    }

    /** The first value of a header, or null. */
    public String first(String name) {
        for (Header h : headers) {
            if (h.is(name)) {
                return h.value();
            }
        }
        return null;
    }

    /** Every value of a header, in order (list headers are already one value per entry). */
    public List<String> all(String name) {
        List<String> out = new ArrayList<>();
        for (Header h : headers) {
            if (h.is(name)) {
                out.add(h.value());
            }
        }
        return out;
    }

    public boolean has(String name) {
        return first(name) != null;
    }

    public void add(String name, String value) {
        headers.add(new Header(name, value));
    }

    /**
     * Insert above the first header of that name (or at the top if there is none): Via,
     * Record-Route.
     */
    public void addFirst(String name, String value) {
        for (int i = 0; i < headers.size(); i++) {
            if (headers.get(i).is(name)) {
                headers.add(i, new Header(name, value));
                return;
            }
        }
        headers.add(0, new Header(name, value));
    }

    /** Remove the first header of that name; returns its value or null. */
    public String removeFirst(String name) {
        for (int i = 0; i < headers.size(); i++) {
            if (headers.get(i).is(name)) {
                return headers.remove(i).value();
            }
        }
        return null;
    }

    public void removeAll(String name) {
        headers.removeIf(h -> h.is(name));
    }

    /** Replace every header of that name by one with this value (at the first one's place). */
    public void set(String name, String value) {
        for (int i = 0; i < headers.size(); i++) {
            if (headers.get(i).is(name)) {
                headers.set(i, new Header(name, value));
                final int keep = i;
                int[] idx = {0};
                headers.removeIf(h -> idx[0]++ > keep && h.is(name));
                return;
            }
        }
        headers.add(new Header(name, value));
    }

    public byte[] body() {
        return body;
    }

    public void body(byte[] b) {
        this.body = b == null ? new byte[0] : b;
    }

    public String bodyText() {
        return new String(body, StandardCharsets.UTF_8);
    }

    public String callId() {
        return first(HeaderNames.CALL_ID);
    }

    public CSeq cseq() {
        return CSeq.parse(first(HeaderNames.CSEQ));
    }

    public Via topVia() {
        String v = first(HeaderNames.VIA);
        return v == null ? null : Via.parse(v);
    }

    public NameAddr from() {
        return NameAddr.parse(first(HeaderNames.FROM));
    }

    public NameAddr to() {
        return NameAddr.parse(first(HeaderNames.TO));
    }

    /** The URI of the first Contact; null when there is none, it is "*", or it does not parse. */
    public String contactUri() {
        String c = first(HeaderNames.CONTACT);
        if (c == null || c.trim().equals("*")) {
            return null;
        }
        try {
            return NameAddr.parse(c).uri();
        } catch (SipSyntaxException e) {
            return null;
        }
    }

    /** The body is SDP (Content-Type application/sdp, non-empty). */
    public boolean hasSdp() {
        String ct = first(HeaderNames.CONTENT_TYPE);
        return body.length > 0
                && ct != null
                && ct.trim().toLowerCase(Locale.ROOT).startsWith("application/sdp");
    }

    /** The message on the wire: start line, headers, Content-Length, blank line, body. */
    public byte[] encode() {
        StringBuilder sb = new StringBuilder(256 + headers.size() * 48);
        sb.append(startLine()).append("\r\n");
        for (Header h : headers) {
            if (h.is(HeaderNames.CONTENT_LENGTH)) {
                continue;
            }
            sb.append(h.name()).append(": ").append(h.value()).append("\r\n");
        }
        sb.append(HeaderNames.CONTENT_LENGTH).append(": ").append(body.length).append("\r\n\r\n");
        byte[] head = sb.toString().getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[head.length + body.length];
        System.arraycopy(head, 0, out, 0, head.length);
        System.arraycopy(body, 0, out, head.length, body.length);
        return out;
    }

    @Override
    public String toString() {
        return new String(encode(), StandardCharsets.UTF_8);
    }
}
