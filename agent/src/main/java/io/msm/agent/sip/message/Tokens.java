package io.msm.agent.sip.message;

import java.util.ArrayList;
import java.util.List;

/**
 * Character classes of RFC 3261's grammar and splitting that respects quotes and angle brackets.
 */
public final class Tokens {
    private Tokens() {}

    /** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
    public static boolean isToken(String s) {
        if (s == null || s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (!tokenChar(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    static boolean tokenChar(char c) {
        return c < 128 && (Character.isLetterOrDigit(c) || "-.!%*_+`'~".indexOf(c) >= 0);
    }

    /** Parameter values: tokens plus what URIs and hosts use (':' for IPv6, '[' ']'). */
    static boolean isParamValue(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(tokenChar(c)
                    || c == ':'
                    || c == '['
                    || c == ']'
                    || c == '/'
                    || c == '@'
                    || c == '&'
                    || c == '$'
                    || c == '+'
                    || c == '='
                    || c == '?'
                    || c == ',')) {
                return false;
            }
        }
        return true;
    }

    /**
     * True if the text has a control character (other than HT) or is not printable ASCII/UTF-8
     * text.
     */
    static boolean hasControl(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                return true;
            }
        }
        return false;
    }

    /** Split on sep outside double quotes and angle brackets. */
    public static List<String> split(String s, char sep) {
        List<String> out = new ArrayList<>();
        boolean quoted = false;
        int angle = 0;
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quoted) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    quoted = false;
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == '<') {
                angle++;
            } else if (c == '>' && angle > 0) {
                angle--;
            } else if (c == sep && angle == 0) {
                out.add(s.substring(start, i));
                start = i + 1;
            }
        }
        out.add(s.substring(start));
        return out;
    }

    /** For error messages: at most 40 characters, control characters shown as '?'. */
    public static String clip(String s) {
        String t = s.length() > 40 ? s.substring(0, 40) + "…" : s;
        StringBuilder sb = new StringBuilder(t.length());
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            sb.append(c < 0x20 || c == 0x7f ? '?' : c);
        }
        return sb.toString();
    }
}
