package io.msm.agent.auth;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * An Authorization / Proxy-Authorization value: a scheme and, for Digest, its comma-separated
 * {@code name=token} / {@code name="quoted string"} parameters (RFC 7235 section 2.1, RFC 3261
 * section 25.1), or for Basic its token68. Bounded: at most {@link #MAX_LENGTH} characters and
 * {@link #MAX_PARAMS} parameters, no duplicate names; anything else is a {@link
 * IllegalArgumentException} with the reason.
 *
 * @param scheme lowercase ("digest", "basic", ...)
 * @param params parameter names lowercase; values unquoted and unescaped
 * @param token68 the credentials of a token68 scheme (Basic), else null
 */
public record AuthHeader(String scheme, Map<String, String> params, String token68) {
    public static final int MAX_LENGTH = 4096;
    public static final int MAX_PARAMS = 32;

    public AuthHeader {
        params = Map.copyOf(params);
    }

    public String param(String name) {
        return params.get(name);
    }

    public static AuthHeader parse(String value) {
        if (value == null) {
            throw new IllegalArgumentException("no credentials");
        }
        if (value.length() > MAX_LENGTH) {
            throw new IllegalArgumentException(
                    "credentials longer than " + MAX_LENGTH + " characters");
        }
        String s = value.strip();
        int i = 0;
        while (i < s.length() && isTokenChar(s.charAt(i))) {
            i++;
        }
        if (i == 0) {
            throw new IllegalArgumentException("no authentication scheme");
        }
        String scheme = s.substring(0, i).toLowerCase(Locale.ROOT);
        String rest = s.substring(i).strip();
        if (scheme.equals("basic")) {
            if (!rest.matches("[A-Za-z0-9+/._~-]+=*")) {
                throw new IllegalArgumentException("Basic credentials are not base64");
            }
            return new AuthHeader(scheme, Map.of(), rest);
        }
        return new AuthHeader(scheme, params(rest), null);
    }

    private static Map<String, String> params(String s) {
        Map<String, String> out = new LinkedHashMap<>();
        int i = 0;
        int n = s.length();
        while (i < n) {
            int start = i;
            while (i < n && isTokenChar(s.charAt(i))) {
                i++;
            }
            if (i == start) {
                throw new IllegalArgumentException(
                        "a parameter name is expected at offset " + start);
            }
            String name = s.substring(start, i).toLowerCase(Locale.ROOT);
            i = skipSpace(s, i);
            if (i >= n || s.charAt(i) != '=') {
                throw new IllegalArgumentException("parameter '" + name + "' has no value");
            }
            i = skipSpace(s, i + 1);
            String val;
            if (i < n && s.charAt(i) == '"') {
                StringBuilder b = new StringBuilder();
                i++;
                boolean closed = false;
                while (i < n) {
                    char c = s.charAt(i++);
                    if (c == '\\' && i < n) {
                        b.append(s.charAt(i++));
                    } else if (c == '"') {
                        closed = true;
                        break;
                    } else {
                        b.append(c);
                    }
                }
                if (!closed) {
                    throw new IllegalArgumentException(
                            "parameter '" + name + "' has an unterminated quoted value");
                }
                val = b.toString();
            } else {
                int vs = i;
                while (i < n && isTokenChar(s.charAt(i))) {
                    i++;
                }
                if (i == vs) {
                    throw new IllegalArgumentException(
                            "parameter '" + name + "' has an empty value");
                }
                val = s.substring(vs, i);
            }
            if (out.put(name, val) != null) {
                throw new IllegalArgumentException("parameter '" + name + "' appears twice");
            }
            if (out.size() > MAX_PARAMS) {
                throw new IllegalArgumentException("more than " + MAX_PARAMS + " parameters");
            }
            i = skipSpace(s, i);
            if (i < n) {
                if (s.charAt(i) != ',') {
                    throw new IllegalArgumentException(
                            "',' expected after parameter '" + name + "'");
                }
                i = skipSpace(s, i + 1);
            }
        }
        return out;
    }

    private static int skipSpace(String s, int i) {
        while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t')) {
            i++;
        }
        return i;
    }

    /** RFC 7230 tchar, plus '/' and ':' which appear unquoted in some clients' uri values. */
    private static boolean isTokenChar(char c) {
        return (c > 32 && c < 127 && "\"(),;<=>?@[\\]{}".indexOf(c) < 0)
                || c == '/'
                || c == ':'
                || c == '@'
                || c == '?'
                || c == '['
                || c == ']';
    }

    /** A quoted-string for a challenge parameter (escapes quotes and backslashes). */
    public static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
