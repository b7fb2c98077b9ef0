package io.msm.agent.sip.message;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The value of From, To, Contact, Route and Record-Route: an optional display name, a URI (in angle
 * brackets or bare) and header parameters (tag, expires, ...). The URI is kept as text: From and To
 * may carry tel: or other schemes the proxy passes through untouched.
 */
public final class NameAddr {
    private final String display; // as written (quoted or tokens), null when absent
    private final String uri;
    private final boolean angled;
    private final Map<String, String> params;

    private NameAddr(String display, String uri, boolean angled, Map<String, String> params) {
        this.display = display;
        this.uri = uri;
        this.angled = angled;
        this.params = params;
    }

    public static NameAddr of(String uri) {
        return new NameAddr(null, uri, true, new LinkedHashMap<>());
    }

    public static NameAddr parse(String value) {
        if (value == null) {
            throw new SipSyntaxException("missing address");
        }
        String v = value.trim();
        if (v.isEmpty() || Tokens.hasControl(v)) {
            throw new SipSyntaxException("empty address or control characters");
        }
        int lt = indexOutsideQuotes(v, '<');
        if (lt >= 0) {
            int gt = v.indexOf('>', lt);
            if (gt < 0) {
                throw new SipSyntaxException("'<' without '>' in '" + Tokens.clip(v) + "'");
            }
            String display = v.substring(0, lt).trim();
            if (!display.isEmpty()
                    && !(display.startsWith("\"")
                            ? closedQuote(display)
                            : displayTokens(display))) {
                throw new SipSyntaxException("bad display name in '" + Tokens.clip(v) + "'");
            }
            String uri = v.substring(lt + 1, gt).trim();
            checkUri(uri, v);
            String rest = v.substring(gt + 1).trim();
            if (!rest.isEmpty() && !rest.startsWith(";")) {
                throw new SipSyntaxException("junk after '>' in '" + Tokens.clip(v) + "'");
            }
            return new NameAddr(
                    display.isEmpty() ? null : display, uri, true, Params.parse(rest, "address"));
        }
        if (v.indexOf('"') >= 0) {
            throw new SipSyntaxException(
                    "quoted display name without <URI> in '" + Tokens.clip(v) + "'");
        }
        int semi = v.indexOf(';');
        String uri = (semi < 0 ? v : v.substring(0, semi)).trim();
        checkUri(uri, v);
        return new NameAddr(
                null, uri, false, Params.parse(semi < 0 ? "" : v.substring(semi + 1), "address"));
    }

    private static void checkUri(String uri, String whole) {
        int colon = uri.indexOf(':');
        if (uri.isEmpty()
                || colon <= 0
                || uri.indexOf(' ') >= 0
                || !Tokens.isToken(uri.substring(0, colon))) {
            throw new SipSyntaxException("bad URI in '" + Tokens.clip(whole) + "'");
        }
        if (SipUri.isSip(uri)) {
            SipUri.parse(uri);
        }
    }

    private static boolean closedQuote(String d) {
        if (d.length() < 2 || !d.endsWith("\"")) {
            return false;
        }
        for (int i = 1; i < d.length() - 1; i++) {
            char c = d.charAt(i);
            if (c == '\\') {
                i++;
            } else if (c == '"') {
                return false;
            }
        }
        return true;
    }

    private static boolean displayTokens(String d) {
        for (String t : d.split("[ \t]+")) {
            if (!Tokens.isToken(t)) {
                return false;
            }
        }
        return true;
    }

    static int indexOutsideQuotes(String s, char ch) {
        boolean quoted = false;
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
            } else if (c == ch) {
                return i;
            }
        }
        return -1;
    }

    /** True if the raw From/To value has a tag parameter. */
    public static boolean hasTag(String raw) {
        try {
            return parse(raw).tag() != null;
        } catch (SipSyntaxException e) {
            return false;
        }
    }

    public String display() {
        return display;
    }

    public String uri() {
        return uri;
    }

    /** The URI parsed; throws for non-SIP URIs. */
    public SipUri sipUri() {
        return SipUri.parse(uri);
    }

    public String param(String name) {
        return params.get(name.toLowerCase(Locale.ROOT));
    }

    public boolean hasParam(String name) {
        return params.containsKey(name.toLowerCase(Locale.ROOT));
    }

    public String tag() {
        return param("tag");
    }

    public NameAddr withTag(String tag) {
        Map<String, String> p = new LinkedHashMap<>(params);
        p.put("tag", tag);
        return new NameAddr(display, uri, angled, p);
    }

    public NameAddr withUri(String u) {
        return new NameAddr(display, u, true, new LinkedHashMap<>(params));
    }

    public NameAddr withParam(String name, String value) {
        Map<String, String> p = new LinkedHashMap<>(params);
        p.put(name.toLowerCase(Locale.ROOT), value);
        return new NameAddr(display, uri, angled, p);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(uri.length() + 32);
        if (display != null) {
            sb.append(display).append(' ');
        }
        // a bare URI with parameters would give them to the header; keep URIs with ';' or ',' in
        // brackets
        if (angled
                || display != null
                || uri.indexOf(';') >= 0
                || uri.indexOf(',') >= 0
                || uri.indexOf('?') >= 0) {
            sb.append('<').append(uri).append('>');
        } else {
            sb.append(uri);
        }
        Params.append(sb, params);
        return sb.toString();
    }
}
