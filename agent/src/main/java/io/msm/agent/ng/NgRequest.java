package io.msm.agent.ng;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * One NG request's dictionary, read the way rtpengine reads it: keys may be spelled with spaces or
 * hyphens ("trust address", "trust-address"), flags come from the {@code flags} list, the {@code
 * replace} list and — from newer modules — the {@code rtpp_flags} string ("replace-origin
 * ICE=remove label=caller").
 */
public final class NgRequest {
    private final Map<String, Object> keys = new LinkedHashMap<>();
    private final Set<String> flags = new LinkedHashSet<>();
    private final Set<String> replace = new LinkedHashSet<>();

    public NgRequest(Map<String, Object> dict) {
        for (Map.Entry<String, Object> e : dict.entrySet()) {
            keys.put(norm(e.getKey()), e.getValue());
        }
        for (String f : strings(keys.get("flags"))) {
            flags.add(norm(f));
        }
        for (String r : strings(keys.get("replace"))) {
            replace.add(norm(r));
        }
        Object rf = keys.get("rtpp-flags");
        if (rf instanceof String s) {
            for (String tok : tokens(s)) {
                if (tok.isEmpty()) {
                    continue;
                }
                int eq = tok.indexOf('=');
                if (eq < 0) {
                    String f = norm(tok);
                    if (f.startsWith("replace-")) {
                        replace.add(f.substring("replace-".length()));
                    } else {
                        flags.add(f);
                    }
                } else {
                    String k = norm(tok.substring(0, eq));
                    String v = tok.substring(eq + 1);
                    if (v.startsWith("[") && v.endsWith("]")) {
                        List<Object> l = new ArrayList<>();
                        for (String x : v.substring(1, v.length() - 1).trim().split("\\s+")) {
                            if (!x.isEmpty()) {
                                l.add(x);
                            }
                        }
                        keys.putIfAbsent(k, l);
                    } else {
                        keys.putIfAbsent(k, v);
                    }
                }
            }
        }
    }

    /** Whitespace-separated tokens; a [bracketed list] with spaces inside is one token. */
    static List<String> tokens(String s) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        int depth = 0;
        for (int i = 0; i < s.length() && i < 65536; i++) {
            char c = s.charAt(i);
            if (c == '[') {
                depth++;
            } else if (c == ']' && depth > 0) {
                depth--;
            }
            if (Character.isWhitespace(c) && depth == 0) {
                if (cur.length() > 0) {
                    out.add(cur.toString());
                    cur.setLength(0);
                }
            } else {
                cur.append(c);
            }
        }
        if (cur.length() > 0) {
            out.add(cur.toString());
        }
        return out;
    }

    /** Lower case, spaces and underscores as hyphens: "Trust Address" is "trust-address". */
    static String norm(String k) {
        return k.trim().toLowerCase(Locale.ROOT).replace(' ', '-').replace('_', '-');
    }

    public String command() {
        Object c = keys.get("command");
        return c instanceof String s ? s.trim().toLowerCase(Locale.ROOT) : null;
    }

    public boolean has(String key) {
        return keys.containsKey(norm(key));
    }

    /** A string value (null when absent or not a string). */
    public String string(String key) {
        Object v = keys.get(norm(key));
        return v instanceof String s ? s : null;
    }

    /** A string value's bytes as they came (ISO-8859-1 maps each byte to one char). */
    public byte[] bytes(String key) {
        String s = string(key);
        return s == null ? null : s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** A list of strings, or a single string as a list of one. */
    public List<String> list(String key) {
        return strings(keys.get(norm(key)));
    }

    /** An integer value, or {@code dflt}; a string of digits counts. */
    public long integer(String key, long dflt) {
        Object v = keys.get(norm(key));
        if (v instanceof Long l) {
            return l;
        }
        if (v instanceof String s && s.matches("-?\\d{1,18}")) {
            return Long.parseLong(s);
        }
        return dflt;
    }

    public boolean flag(String f) {
        return flags.contains(norm(f));
    }

    public Set<String> flags() {
        return flags;
    }

    public boolean replaces(String what) {
        return replace.contains(norm(what));
    }

    private static List<String> strings(Object v) {
        List<String> out = new ArrayList<>();
        if (v instanceof String s) {
            out.add(s);
        } else if (v instanceof List<?> l) {
            for (Object x : l) {
                if (x instanceof String s) {
                    out.add(s);
                }
            }
        }
        return out;
    }
}
