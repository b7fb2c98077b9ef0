package io.msm.agent.ng;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Bencode as the NG protocol uses it: byte strings, integers, lists and dictionaries. Decoding is
 * strict and bounded — the input's length, the nesting depth, the number of items, the digits of an
 * integer and of a string's length are capped, and anything else ends in a {@link BencodeException}
 * naming the offset — so a hostile datagram costs at most one pass over its own bytes.
 *
 * <p>Values map to Java as: byte string → {@link String} (ISO-8859-1, so every byte survives a
 * round trip; SDP is ASCII), integer → {@link Long}, list → {@link List}, dictionary → {@link Map}
 * (insertion order; keys are byte strings, duplicates refused; rtpengine does not require sorted
 * keys and neither does this).
 */
public final class Bencode {
    /** Bounds of one decode. */
    public record Limits(int maxBytes, int maxDepth, int maxItems) {
        /** 64 KiB (one UDP datagram), depth 16, 4096 items. */
        public static final Limits NG = new Limits(65535, 16, 4096);
    }

    private static final int MAX_INT_DIGITS = 19; // fits a long

    private final byte[] in;
    private final int end;
    private final Limits limits;
    private int pos;
    private int items;

    private Bencode(byte[] in, int off, int len, Limits limits) {
        this.in = in;
        this.pos = off;
        this.end = off + len;
        this.limits = limits;
    }

    /** One value filling {@code in[off, off+len)} exactly. */
    public static Object decode(byte[] in, int off, int len, Limits limits)
            throws BencodeException {
        if (off < 0 || len < 0 || off + len > in.length) {
            throw new IllegalArgumentException("range outside the array");
        }
        if (len > limits.maxBytes()) {
            throw new BencodeException(
                    "message of " + len + " bytes exceeds the limit of " + limits.maxBytes());
        }
        Bencode b = new Bencode(in, off, len, limits);
        Object v = b.value(0);
        if (b.pos != b.end) {
            throw new BencodeException(
                    (b.end - b.pos) + " bytes after the value at offset " + (b.pos - off));
        }
        return v;
    }

    public static Object decode(byte[] in) throws BencodeException {
        return decode(in, 0, in.length, Limits.NG);
    }

    /** A dictionary filling the range (the NG request after its cookie). */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> decodeDict(byte[] in, int off, int len, Limits limits)
            throws BencodeException {
        Object v = decode(in, off, len, limits);
        if (!(v instanceof Map)) {
            throw new BencodeException("not a dictionary");
        }
        return (Map<String, Object>) v;
    }

    private BencodeException error(String what) {
        return new BencodeException(what + " at offset " + pos);
    }

    private Object value(int depth) throws BencodeException {
        if (pos >= end) {
            throw error("unexpected end of input");
        }
        if (++items > limits.maxItems()) {
            throw error("more than " + limits.maxItems() + " items");
        }
        byte c = in[pos];
        if (c == 'i') {
            pos++;
            long v = integer('e');
            return v;
        }
        if (c == 'l' || c == 'd') {
            if (depth >= limits.maxDepth()) {
                throw error("nesting deeper than " + limits.maxDepth());
            }
            pos++;
            if (c == 'l') {
                List<Object> l = new ArrayList<>();
                while (true) {
                    if (pos >= end) {
                        throw error("unterminated list");
                    }
                    if (in[pos] == 'e') {
                        pos++;
                        return l;
                    }
                    l.add(value(depth + 1));
                }
            }
            Map<String, Object> d = new LinkedHashMap<>();
            while (true) {
                if (pos >= end) {
                    throw error("unterminated dictionary");
                }
                if (in[pos] == 'e') {
                    pos++;
                    return d;
                }
                if (in[pos] < '0' || in[pos] > '9') {
                    throw error("dictionary key is not a string");
                }
                int at = pos;
                String k = string();
                Object v = value(depth + 1);
                if (d.putIfAbsent(k, v) != null) {
                    pos = at;
                    throw error("duplicate dictionary key '" + printable(k) + "'");
                }
            }
        }
        if (c >= '0' && c <= '9') {
            return string();
        }
        throw error("unexpected byte 0x" + Integer.toHexString(c & 0xff));
    }

    private String string() throws BencodeException {
        long n = integer(':');
        if (n > end - pos) {
            throw error("string of " + n + " bytes runs past the end");
        }
        String s = new String(in, pos, (int) n, StandardCharsets.ISO_8859_1);
        pos += (int) n;
        return s;
    }

    /** Digits up to {@code term} (consumed); '-' allowed for integers only, no leading zeros. */
    private long integer(char term) throws BencodeException {
        int start = pos;
        boolean neg = false;
        if (term == 'e' && pos < end && in[pos] == '-') {
            neg = true;
            pos++;
        }
        int digits = 0;
        long v = 0;
        while (pos < end && in[pos] >= '0' && in[pos] <= '9') {
            if (++digits > MAX_INT_DIGITS) {
                throw error("number with more than " + MAX_INT_DIGITS + " digits");
            }
            v = v * 10 + (in[pos] - '0');
            pos++;
        }
        if (digits == 0) {
            throw error(term == 'e' ? "integer without digits" : "string length without digits");
        }
        if (v < 0) {
            throw error("number out of range");
        }
        if (digits > 1 && in[start + (neg ? 1 : 0)] == '0') {
            throw error("number with a leading zero");
        }
        if (neg && v == 0) {
            throw error("negative zero");
        }
        if (pos >= end || in[pos] != term) {
            throw error("expected '" + term + "'");
        }
        pos++;
        return neg ? -v : v;
    }

    private static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length() && i < 40; i++) {
            char c = s.charAt(i);
            sb.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------ encoding

    /**
     * A value as bencode: String (ISO-8859-1 bytes), byte[], Integer/Long, List, Map (keys in the
     * map's order).
     */
    public static byte[] encode(Object v) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        encode(v, out);
        return out.toByteArray();
    }

    private static void encode(Object v, ByteArrayOutputStream out) {
        if (v instanceof String s) {
            bytes(s.getBytes(StandardCharsets.ISO_8859_1), out);
        } else if (v instanceof byte[] b) {
            bytes(b, out);
        } else if (v instanceof Integer || v instanceof Long) {
            ascii("i" + v + "e", out);
        } else if (v instanceof List<?> l) {
            out.write('l');
            for (Object x : l) {
                encode(x, out);
            }
            out.write('e');
        } else if (v instanceof Map<?, ?> m) {
            out.write('d');
            for (Map.Entry<?, ?> e : m.entrySet()) {
                encode(String.valueOf(e.getKey()), out);
                encode(e.getValue(), out);
            }
            out.write('e');
        } else if (v instanceof Boolean b) {
            bytes((b ? "yes" : "no").getBytes(StandardCharsets.ISO_8859_1), out);
        } else {
            throw new IllegalArgumentException(
                    "cannot bencode " + (v == null ? "null" : v.getClass().getName()));
        }
    }

    private static void bytes(byte[] b, ByteArrayOutputStream out) {
        ascii(b.length + ":", out);
        out.write(b, 0, b.length);
    }

    private static void ascii(String s, ByteArrayOutputStream out) {
        byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
        out.write(b, 0, b.length);
    }
}
