package io.msm.agent.rtsp.wire;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Splits an RTSP connection's bytes into requests, responses and interleaved binary frames, which
 * may follow each other in any order on the same connection (RFC 2326 section 10.12).
 *
 * <p>Bounds are strict: the start line and headers together may not exceed {@code maxHeaderBytes},
 * a body {@code maxBodyBytes}. When the input is malformed a {@link MalformedMessage} says which
 * status to answer; if the message's end cannot be known (headers too long, a broken header line, a
 * bad Content-Length) it asks for the connection to be closed and the decoder discards the rest,
 * since any further byte could be mistaken for a message.
 */
public final class RtspDecoder extends ByteToMessageDecoder {
    /** Upper bound on header fields, independent of their size. */
    public static final int MAX_HEADER_FIELDS = 64;

    /** Blank lines tolerated between messages (keep-alive CRLFs). */
    private static final int MAX_BLANK_BYTES = 64;

    private final int maxHeaderBytes;
    private final int maxBodyBytes;
    private boolean broken;

    /** Header block length of a message whose body has not fully arrived (0: none). */
    private int pendingHeaderLen;

    private Parsed pending;

    /** How far the search for the end of the header block got (relative to the reader index). */
    private int scanned;

    public RtspDecoder(int maxHeaderBytes, int maxBodyBytes) {
        this.maxHeaderBytes = maxHeaderBytes;
        this.maxBodyBytes = maxBodyBytes;
    }

    /**
     * Keeps what waits for the rest of a message (a header sent slowly, a body, a partial
     * interleaved frame) in a heap buffer, never in direct memory: Netty's default cumulator keeps
     * the socket's direct read buffer (and grows it from the pooled direct allocator), so
     * connections each holding an unfinished header could fill {@code -XX:MaxDirectMemorySize} and
     * block the event loops in {@code Bits.reserveMemory}. The heap copy is bounded per connection
     * by the header, body and frame limits, and the connection count by the listener's cap.
     */
    public static final Cumulator HEAP_CUMULATOR =
            (alloc, cumulation, in) -> {
                try {
                    int need = cumulation.readableBytes() + in.readableBytes();
                    ByteBuf out = cumulation;
                    if (out.isDirect()
                            || out.refCnt() > 1
                            || out.isReadOnly()
                            || out.maxWritableBytes() < in.readableBytes()) {
                        out = Unpooled.buffer(Math.max(256, need));
                        out.writeBytes(cumulation);
                        cumulation.release();
                    }
                    out.writeBytes(in);
                    return out;
                } finally {
                    in.release();
                }
            };

    /**
     * The bytes of an unfinished message (a handover passes them to the next agent with the
     * connection); event loop only.
     */
    public byte[] pending() {
        ByteBuf b = internalBuffer();
        byte[] out = new byte[b.readableBytes()];
        b.getBytes(b.readerIndex(), out);
        return out;
    }

    /** A decoder whose unfinished messages wait on the heap ({@link #HEAP_CUMULATOR}). */
    public static RtspDecoder onHeap(int maxHeaderBytes, int maxBodyBytes) {
        RtspDecoder d = new RtspDecoder(maxHeaderBytes, maxBodyBytes);
        d.setCumulator(HEAP_CUMULATOR);
        return d;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        decode(in, out);
    }

    /** The decoding step on its own (for tests and fuzzing without a channel). */
    public void decode(ByteBuf in, List<Object> out) {
        if (broken) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (pending == null) {
            int blanks = 0;
            while (in.isReadable()
                    && (in.getByte(in.readerIndex()) == '\r'
                            || in.getByte(in.readerIndex()) == '\n')) {
                in.skipBytes(1);
                if (++blanks > MAX_BLANK_BYTES) {
                    fail(
                            in,
                            out,
                            new MalformedMessage(
                                    RtspStatus.BAD_REQUEST, "too many blank lines", null, true));
                    return;
                }
            }
            if (!in.isReadable()) {
                return;
            }
            if (in.getByte(in.readerIndex()) == '$') {
                if (in.readableBytes() < 4) {
                    return;
                }
                int channel = in.getUnsignedByte(in.readerIndex() + 1);
                int len = in.getUnsignedShort(in.readerIndex() + 2);
                if (in.readableBytes() < 4 + len) {
                    return;
                }
                out.add(new InterleavedFrame(channel, in.retainedSlice(in.readerIndex() + 4, len)));
                in.skipBytes(4 + len);
                return;
            }
            int end = headerEnd(in);
            if (end < 0) {
                if (in.readableBytes() >= maxHeaderBytes) {
                    fail(
                            in,
                            out,
                            new MalformedMessage(
                                    RtspStatus.BAD_REQUEST,
                                    "request line and headers exceed "
                                            + maxHeaderBytes
                                            + " bytes (rtsp.max-header-bytes)",
                                    null,
                                    true));
                }
                return;
            }
            scanned = 0;
            String block = in.toString(in.readerIndex(), end, StandardCharsets.ISO_8859_1);
            Parsed p = parse(block);
            if (p.fatal != null) {
                fail(in, out, p.fatal);
                return;
            }
            pending = p;
            pendingHeaderLen = end;
        }
        int need = pendingHeaderLen + pending.bodyLen;
        if (in.readableBytes() < need) {
            return;
        }
        byte[] body = new byte[pending.bodyLen];
        in.getBytes(in.readerIndex() + pendingHeaderLen, body);
        in.skipBytes(need);
        Parsed p = pending;
        pending = null;
        pendingHeaderLen = 0;
        if (p.error != null) {
            out.add(p.error);
        } else if (p.status > 0) {
            out.add(new RtspResponse(p.status, p.reason, p.headers, body));
        } else {
            out.add(new RtspRequest(p.method, p.uri, p.headers, body));
        }
    }

    private void fail(ByteBuf in, List<Object> out, MalformedMessage m) {
        broken = true;
        pending = null;
        in.skipBytes(in.readableBytes());
        out.add(m);
    }

    /**
     * Length of the header block including its blank line, or -1 if not yet complete within the
     * bound.
     */
    private int headerEnd(ByteBuf in) {
        int r = in.readerIndex();
        int limit = Math.min(in.readableBytes(), maxHeaderBytes);
        for (int i = Math.max(0, scanned - 3); i < limit; i++) {
            if (in.getByte(r + i) != '\n') {
                continue;
            }
            if (i + 1 < limit && in.getByte(r + i + 1) == '\n') {
                return i + 2;
            }
            if (i + 2 < limit && in.getByte(r + i + 1) == '\r' && in.getByte(r + i + 2) == '\n') {
                return i + 3;
            }
        }
        scanned = limit;
        return -1;
    }

    /**
     * A header block, read. Exactly one of error/fatal or the request/response fields is
     * meaningful.
     */
    private static final class Parsed {
        String method;
        String uri;
        int status;
        String reason;
        RtspHeaders headers = new RtspHeaders();
        int bodyLen;
        MalformedMessage error;
        MalformedMessage fatal;
    }

    private Parsed parse(String block) {
        Parsed p = new Parsed();
        String[] lines = block.split("\n", -1);
        String first = stripCr(lines[0]);
        // headers first: Content-Length decides where the next message starts, even after a bad
        // start line
        String lastName = null;
        StringBuilder lastValue = null;
        for (int i = 1; i < lines.length; i++) {
            String line = stripCr(lines[i]);
            if (line.isEmpty()) {
                break;
            }
            if (line.charAt(0) == ' ' || line.charAt(0) == '\t') {
                if (lastName == null) {
                    p.fatal = malformed("header continuation line without a header", null);
                    return p;
                }
                String more = line.trim();
                if (!more.isEmpty()) {
                    lastValue.append(lastValue.length() > 0 ? " " : "").append(more);
                }
                if (hasControl(lastValue)) {
                    p.fatal = malformed("control character in header " + lastName, cseqOf(lines));
                    return p;
                }
                continue;
            }
            if (lastName != null) {
                p.headers.add(lastName, lastValue.toString());
            }
            int colon = line.indexOf(':');
            if (colon <= 0 || !isToken(line, 0, colon)) {
                p.fatal = malformed("malformed header line '" + shorten(line) + "'", cseqOf(lines));
                return p;
            }
            lastName = line.substring(0, colon);
            lastValue = new StringBuilder(line.substring(colon + 1).trim());
            if (hasControl(lastValue)) {
                p.fatal = malformed("control character in header " + lastName, cseqOf(lines));
                return p;
            }
            if (p.headers.size() >= MAX_HEADER_FIELDS) {
                p.fatal =
                        malformed(
                                "more than " + MAX_HEADER_FIELDS + " header fields", cseqOf(lines));
                return p;
            }
        }
        if (lastName != null) {
            p.headers.add(lastName, lastValue.toString());
        }
        String cseq = p.headers.getOrNull("CSeq");
        String len = null;
        for (RtspHeaders.Field f : p.headers.fields()) {
            if (f.name().equalsIgnoreCase("Content-Length")) {
                if (len != null && !len.equals(f.value())) {
                    p.fatal = malformed("conflicting Content-Length headers", cseq);
                    return p;
                }
                len = f.value();
            }
        }
        if (len != null) {
            if (len.isEmpty()
                    || len.length() > 10
                    || !len.chars().allMatch(c -> c >= '0' && c <= '9')) {
                p.fatal = malformed("Content-Length is not a number: '" + shorten(len) + "'", cseq);
                return p;
            }
            long n = Long.parseLong(len);
            if (n > maxBodyBytes) {
                p.fatal =
                        new MalformedMessage(
                                RtspStatus.REQUEST_ENTITY_TOO_LARGE,
                                "body of "
                                        + n
                                        + " bytes exceeds "
                                        + maxBodyBytes
                                        + " (rtsp.max-body-bytes)",
                                cseq,
                                true);
                return p;
            }
            p.bodyLen = (int) n;
        }
        if (first.startsWith("RTSP/")) {
            parseStatusLine(first, p, cseq);
        } else {
            parseRequestLine(first, p, cseq);
        }
        return p;
    }

    private static void parseStatusLine(String line, Parsed p, String cseq) {
        // RTSP/1.0 SP 3DIGIT SP reason
        if (line.length() < 12 || !line.startsWith("RTSP/1.0 ")) {
            p.error = malformed("malformed status line '" + shorten(line) + "'", cseq);
            return;
        }
        String code = line.substring(9, 12);
        if (!code.chars().allMatch(c -> c >= '0' && c <= '9')
                || (line.length() > 12 && line.charAt(12) != ' ')) {
            p.error = malformed("malformed status line '" + shorten(line) + "'", cseq);
            return;
        }
        p.status = Integer.parseInt(code);
        if (p.status < 100) {
            p.status = 0;
            p.error = malformed("status code below 100 in '" + shorten(line) + "'", cseq);
            return;
        }
        p.reason = line.length() > 13 ? line.substring(13) : "";
    }

    private static void parseRequestLine(String line, Parsed p, String cseq) {
        int s1 = line.indexOf(' ');
        int s2 = s1 < 0 ? -1 : line.indexOf(' ', s1 + 1);
        if (s1 <= 0 || s2 < 0 || s2 == s1 + 1 || line.indexOf(' ', s2 + 1) >= 0) {
            p.error =
                    malformed(
                            "malformed request line '"
                                    + shorten(line)
                                    + "' (want METHOD URI RTSP/1.0)",
                            cseq);
            return;
        }
        String method = line.substring(0, s1);
        String uri = line.substring(s1 + 1, s2);
        String version = line.substring(s2 + 1);
        if (!isToken(method, 0, method.length())) {
            p.error = malformed("malformed method '" + shorten(method) + "'", cseq);
            return;
        }
        for (int i = 0; i < uri.length(); i++) {
            char c = uri.charAt(i);
            if (c <= 0x20 || c >= 0x7f) {
                p.error =
                        malformed(
                                "Request-URI has a character that is not allowed (0x"
                                        + Integer.toHexString(c)
                                        + ")",
                                cseq);
                return;
            }
        }
        if (!version.equals("RTSP/1.0")) {
            p.error =
                    version.matches("RTSP/\\d+\\.\\d+")
                            ? new MalformedMessage(
                                    RtspStatus.VERSION_NOT_SUPPORTED,
                                    "only RTSP/1.0 is supported, got " + version,
                                    cseq,
                                    false)
                            : malformed("malformed version '" + shorten(version) + "'", cseq);
            return;
        }
        p.method = method;
        p.uri = uri;
    }

    private static MalformedMessage malformed(String why, String cseq) {
        return new MalformedMessage(RtspStatus.BAD_REQUEST, why, cseq, false);
    }

    private static String cseqOf(String[] lines) {
        for (String l : lines) {
            if (l.regionMatches(true, 0, "CSeq:", 0, 5)) {
                String v = stripCr(l.substring(5)).trim();
                return v.chars().allMatch(c -> c >= '0' && c <= '9')
                                && !v.isEmpty()
                                && v.length() <= 10
                        ? v
                        : null;
            }
        }
        return null;
    }

    private static boolean isToken(String s, int from, int to) {
        if (to <= from) {
            return false;
        }
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (c <= 0x20 || c >= 0x7f || "()<>@,;:\\\"/[]?={}".indexOf(c) >= 0) {
                return false;
            }
        }
        return true;
    }

    private static boolean hasControl(CharSequence s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                return true;
            }
        }
        return false;
    }

    private static String stripCr(String s) {
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    static String shorten(String s) {
        String t = s.length() > 80 ? s.substring(0, 80) + "..." : s;
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            b.append(c < 0x20 || c >= 0x7f ? '?' : c);
        }
        return b.toString();
    }
}
