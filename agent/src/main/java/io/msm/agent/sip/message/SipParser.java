package io.msm.agent.sip.message;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Parses one SIP message (RFC 3261 section 7, 25) from a datagram or a framed stream message,
 * strictly and within bounds: the whole message is at most {@code maxBytes}, at most {@link
 * #MAX_HEADERS} header fields, the header section is UTF-8 without control characters, the headers
 * every request or response needs are present and parse, CSeq's method matches the request's and
 * Content-Length is no larger than what arrived.
 */
public final class SipParser {
    public static final int MAX_HEADERS = 128;

    private SipParser() {}

    /**
     * @return the message, or null for a keep-alive (only CR/LF)
     * @throws SipParseException with the status to answer, if any
     */
    public static SipMessage parse(byte[] data, int maxBytes) throws SipParseException {
        return parse(data, 0, data.length, maxBytes);
    }

    public static SipMessage parse(byte[] data, int off, int len, int maxBytes)
            throws SipParseException {
        int start = off;
        int end = off + len;
        while (start < end && (data[start] == '\r' || data[start] == '\n')) {
            start++;
        }
        if (start == end) {
            return null;
        }
        int headEnd = -1;
        int bodyStart = -1;
        for (int i = start; i < end; i++) {
            if (data[i] == '\n') {
                if (i + 1 < end && data[i + 1] == '\n') {
                    headEnd = i;
                    bodyStart = i + 2;
                    break;
                }
                if (i + 2 < end && data[i + 1] == '\r' && data[i + 2] == '\n') {
                    headEnd = i;
                    bodyStart = i + 3;
                    break;
                }
            }
        }
        boolean tooLarge = len > maxBytes;
        if (headEnd < 0) {
            // no blank line: a message without body and without the final CRLF is accepted on UDP
            headEnd = end;
            bodyStart = end;
        }
        String head;
        try {
            CharsetDecoder dec =
                    StandardCharsets.UTF_8
                            .newDecoder()
                            .onMalformedInput(CodingErrorAction.REPORT)
                            .onUnmappableCharacter(CodingErrorAction.REPORT);
            CharBuffer cb = dec.decode(ByteBuffer.wrap(data, start, headEnd - start));
            head = cb.toString();
        } catch (CharacterCodingException e) {
            throw new SipParseException(400, "header section is not UTF-8", false, null, null);
        }
        String[] rawLines = head.split("\r?\n", -1);
        String startLine =
                rawLines[0].endsWith("\r")
                        ? rawLines[0].substring(0, rawLines[0].length() - 1)
                        : rawLines[0];
        boolean request = !startLine.startsWith("SIP/");
        String method = null;
        String uri = null;
        int status = 0;
        String reason = null;
        if (request) {
            String[] p = startLine.split(" ", -1);
            if (p.length != 3 || !Tokens.isToken(p[0]) || p[1].isEmpty()) {
                throw new SipParseException(400, "bad request line", false, null, null);
            }
            method = p[0];
            uri = p[1];
            if (!p[2].equalsIgnoreCase("SIP/2.0")) {
                // read the headers anyway: a 505 needs them
                List<Header> hs = headersLenient(rawLines);
                throw new SipParseException(505, "only SIP/2.0 is supported", true, method, hs);
            }
        } else {
            if (!startLine.startsWith("SIP/2.0 ")
                    || startLine.length() < 11
                    || (startLine.length() > 11 && startLine.charAt(11) != ' ')) {
                throw new SipParseException(400, "bad status line", false, null, null);
            }
            String code = startLine.substring(8, 11);
            if (!code.chars().allMatch(Character::isDigit)) {
                throw new SipParseException(400, "bad status code", false, null, null);
            }
            status = Integer.parseInt(code);
            if (status < 100 || status > 699) {
                throw new SipParseException(400, "status code out of range", false, null, null);
            }
            reason = startLine.length() > 12 ? startLine.substring(12) : "";
            if (Tokens.hasControl(reason)) {
                throw new SipParseException(
                        400, "control characters in the reason phrase", false, null, null);
            }
        }
        List<Header> headers = new ArrayList<>();
        String name = null;
        StringBuilder value = null;
        for (int i = 1; i < rawLines.length; i++) {
            String line =
                    rawLines[i].endsWith("\r")
                            ? rawLines[i].substring(0, rawLines[i].length() - 1)
                            : rawLines[i];
            if (line.isEmpty()) {
                continue;
            }
            if (line.charAt(0) == ' ' || line.charAt(0) == '\t') {
                if (value == null) {
                    throw new SipParseException(
                            400, "continuation line before any header", request, method, headers);
                }
                value.append(' ').append(line.trim());
                continue;
            }
            if (name != null) {
                add(headers, name, value.toString().trim(), request, method);
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new SipParseException(
                        400,
                        "header line without ':' ('" + Tokens.clip(line) + "')",
                        request,
                        method,
                        headers);
            }
            String n = line.substring(0, colon).trim();
            if (!Tokens.isToken(n)) {
                throw new SipParseException(
                        400, "bad header name '" + Tokens.clip(n) + "'", request, method, headers);
            }
            name = HeaderNames.canonical(n);
            value = new StringBuilder(line.substring(colon + 1));
        }
        if (name != null) {
            add(headers, name, value.toString().trim(), request, method);
        }
        if (tooLarge) {
            throw new SipParseException(
                    513,
                    "message of "
                            + len
                            + " bytes is larger than sip.max-message-bytes ("
                            + maxBytes
                            + ")",
                    request,
                    method,
                    headers);
        }
        // mandatory headers and their syntax
        String bad = checkMandatory(headers, request, method);
        if (bad != null) {
            throw new SipParseException(400, bad, request, method, headers);
        }
        if (request) {
            String why = checkRequestUri(uri);
            if (why != null) {
                throw new SipParseException(400, why, request, method, headers);
            }
        }
        int available = end - bodyStart;
        int bodyLen = available;
        String cl = firstOf(headers, HeaderNames.CONTENT_LENGTH);
        if (cl != null) {
            if (cl.isEmpty() || cl.length() > 9 || !cl.chars().allMatch(Character::isDigit)) {
                throw new SipParseException(400, "bad Content-Length", request, method, headers);
            }
            int n = Integer.parseInt(cl);
            if (n > available) {
                throw new SipParseException(
                        400,
                        "Content-Length "
                                + n
                                + " is larger than the "
                                + available
                                + " body bytes received",
                        request,
                        method,
                        headers);
            }
            bodyLen = n; // excess bytes in a datagram are discarded (RFC 3261 section 18.3)
        }
        byte[] body = new byte[bodyLen];
        System.arraycopy(data, bodyStart, body, 0, bodyLen);
        if (request) {
            return new SipRequest(method, uri, headers, body);
        }
        return new SipResponse(status, reason, headers, body);
    }

    /**
     * The refusal of a stream message over the size bound, of which only the header section was
     * read: 513 with the request's headers (if they can be read), so the sender learns why.
     */
    public static SipParseException oversized(byte[] head, int declared, int maxBytes) {
        String text = new String(head, StandardCharsets.UTF_8);
        String[] lines = text.split("\r?\n", -1);
        String first = lines[0];
        boolean request = !first.startsWith("SIP/");
        String method = null;
        if (request) {
            String[] p = first.split(" ", -1);
            method = p.length == 3 && Tokens.isToken(p[0]) ? p[0] : null;
        }
        String size =
                declared == Integer.MAX_VALUE
                        ? "without an end within"
                        : "of " + declared + " bytes, more than";
        return new SipParseException(
                513,
                "message " + size + " sip.max-message-bytes (" + maxBytes + ")",
                request,
                method,
                headersLenient(lines));
    }

    private static void add(
            List<Header> headers, String name, String value, boolean request, String method)
            throws SipParseException {
        if (Tokens.hasControl(value)) {
            throw new SipParseException(
                    400, "control characters in " + name, request, method, headers);
        }
        if (HeaderNames.LISTS.contains(name) && value.indexOf(',') >= 0) {
            for (String v : Tokens.split(value, ',')) {
                addOne(headers, name, v.trim(), request, method);
            }
        } else {
            addOne(headers, name, value, request, method);
        }
    }

    private static void addOne(
            List<Header> headers, String name, String value, boolean request, String method)
            throws SipParseException {
        if (headers.size() >= MAX_HEADERS) {
            throw new SipParseException(
                    400, "more than " + MAX_HEADERS + " header fields", request, method, headers);
        }
        headers.add(new Header(name, value));
    }

    private static List<Header> headersLenient(String[] lines) {
        List<Header> hs = new ArrayList<>();
        for (int i = 1; i < lines.length && hs.size() < MAX_HEADERS; i++) {
            String l = lines[i].trim();
            int c = l.indexOf(':');
            if (c > 0 && Tokens.isToken(l.substring(0, c).trim()) && !Tokens.hasControl(l)) {
                String name = HeaderNames.canonical(l.substring(0, c).trim());
                String v = l.substring(c + 1).trim();
                if (HeaderNames.LISTS.contains(name)) {
                    for (String x : Tokens.split(v, ',')) {
                        hs.add(new Header(name, x.trim()));
                    }
                } else {
                    hs.add(new Header(name, v));
                }
            }
        }
        return hs;
    }

    private static String checkRequestUri(String uri) {
        if (SipUri.isSip(uri)) {
            try {
                SipUri.parse(uri);
                return null;
            } catch (SipSyntaxException e) {
                return "bad Request-URI: " + e.getMessage();
            }
        }
        int colon = uri.indexOf(':');
        if (colon <= 0 || !Tokens.isToken(uri.substring(0, colon)) || Tokens.hasControl(uri)) {
            return "Request-URI is not an absolute URI";
        }
        return null;
    }

    static String firstOf(List<Header> headers, String name) {
        for (Header h : headers) {
            if (h.is(name)) {
                return h.value();
            }
        }
        return null;
    }

    /** Null if the mandatory headers are there and parse, else what is wrong. */
    private static String checkMandatory(List<Header> headers, boolean request, String method) {
        int vias = 0;
        String from = null;
        String to = null;
        String callId = null;
        String cseq = null;
        try {
            for (Header h : headers) {
                switch (h.name()) {
                    case HeaderNames.VIA -> {
                        Via.parse(h.value());
                        vias++;
                    }
                    case HeaderNames.FROM -> {
                        if (from != null) {
                            return "more than one From";
                        }
                        from = h.value();
                        NameAddr.parse(from);
                    }
                    case HeaderNames.TO -> {
                        if (to != null) {
                            return "more than one To";
                        }
                        to = h.value();
                        NameAddr.parse(to);
                    }
                    case HeaderNames.CALL_ID -> {
                        if (callId != null) {
                            return "more than one Call-ID";
                        }
                        callId = h.value();
                    }
                    case HeaderNames.CSEQ -> {
                        if (cseq != null) {
                            return "more than one CSeq";
                        }
                        cseq = h.value();
                    }
                    case HeaderNames.MAX_FORWARDS -> {
                        String v = h.value();
                        if (v.isEmpty()
                                || v.length() > 3
                                || !v.chars().allMatch(Character::isDigit)
                                || Integer.parseInt(v) > 255) {
                            return "Max-Forwards must be 0..255";
                        }
                    }
                    case HeaderNames.CONTACT, HeaderNames.ROUTE, HeaderNames.RECORD_ROUTE -> {
                        if (!h.value().equals("*")) {
                            NameAddr.parse(h.value());
                        }
                    }
                    default -> {}
                }
            }
        } catch (SipSyntaxException e) {
            return e.getMessage();
        }
        if (vias == 0) {
            return "no Via";
        }
        if (from == null || to == null || callId == null || cseq == null) {
            return "missing "
                    + (from == null
                            ? "From"
                            : to == null ? "To" : callId == null ? "Call-ID" : "CSeq");
        }
        if (callId.isEmpty()
                || callId.length() > 256
                || callId.indexOf(' ') >= 0
                || callId.indexOf('\t') >= 0) {
            return "bad Call-ID";
        }
        CSeq c;
        try {
            c = CSeq.parse(cseq);
        } catch (SipSyntaxException e) {
            return e.getMessage();
        }
        if (request && !c.method().equals(method)) {
            return "CSeq method " + c.method() + " does not match the request method " + method;
        }
        return null;
    }
}
