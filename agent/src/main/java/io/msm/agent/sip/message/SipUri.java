package io.msm.agent.sip.message;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A sip: or sips: URI (RFC 3261 section 19.1): user part, host, port, parameters and headers. Hosts
 * are kept as written; {@link #address()} turns IP literals into addresses and never resolves names
 * (msm does no DNS: a name it is not configured for is not routable).
 */
public final class SipUri {
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final Pattern HOSTNAME =
            Pattern.compile(
                    "[A-Za-z0-9]([A-Za-z0-9\\-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9\\-]*[A-Za-z0-9])?)*\\.?");
    private static final Pattern IPV6 = Pattern.compile("\\[[0-9A-Fa-f:.]{2,45}]");

    private final String scheme;
    private final String user; // user[:password], null when absent
    private final String host;
    private final int port; // -1 when absent
    private final Map<String, String> params;
    private final String headers; // after '?', null when absent

    private SipUri(
            String scheme,
            String user,
            String host,
            int port,
            Map<String, String> params,
            String headers) {
        this.scheme = scheme;
        this.user = user;
        this.host = host;
        this.port = port;
        this.params = params;
        this.headers = headers;
    }

    public static SipUri of(String scheme, String user, String host, int port) {
        return new SipUri(scheme, user, host, port, new LinkedHashMap<>(), null);
    }

    /** True for "sip:" and "sips:" URIs (what msm can route). */
    public static boolean isSip(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        return t.startsWith("sip:") || t.startsWith("sips:");
    }

    public static SipUri parse(String text) {
        if (text == null) {
            throw new SipSyntaxException("missing URI");
        }
        String s = text.trim();
        if (s.length() > 2048 || Tokens.hasControl(s) || s.indexOf(' ') >= 0) {
            throw new SipSyntaxException(
                    "URI has spaces, control characters or is too long: '" + Tokens.clip(s) + "'");
        }
        int colon = s.indexOf(':');
        if (colon <= 0) {
            throw new SipSyntaxException("URI without scheme: '" + Tokens.clip(s) + "'");
        }
        String scheme = s.substring(0, colon).toLowerCase(Locale.ROOT);
        if (!scheme.equals("sip") && !scheme.equals("sips")) {
            throw new SipSyntaxException("not a sip: or sips: URI: '" + Tokens.clip(s) + "'");
        }
        String rest = s.substring(colon + 1);
        String hdrs = null;
        int q = rest.indexOf('?');
        if (q >= 0) {
            hdrs = rest.substring(q + 1);
            rest = rest.substring(0, q);
        }
        String user = null;
        int at = rest.lastIndexOf('@');
        if (at >= 0) {
            user = rest.substring(0, at);
            rest = rest.substring(at + 1);
            if (user.isEmpty()
                    || user.indexOf('<') >= 0
                    || user.indexOf('>') >= 0
                    || user.indexOf('"') >= 0) {
                throw new SipSyntaxException("bad user part in URI '" + Tokens.clip(s) + "'");
            }
        }
        int semi = rest.indexOf(';');
        String hostport = semi < 0 ? rest : rest.substring(0, semi);
        Map<String, String> params = Params.parse(semi < 0 ? "" : rest.substring(semi + 1), "URI");
        String host;
        int port = -1;
        if (hostport.startsWith("[")) {
            int end = hostport.indexOf(']');
            if (end < 0) {
                throw new SipSyntaxException(
                        "unterminated IPv6 reference in URI '" + Tokens.clip(s) + "'");
            }
            host = hostport.substring(0, end + 1);
            String after = hostport.substring(end + 1);
            if (!after.isEmpty()) {
                if (!after.startsWith(":")) {
                    throw new SipSyntaxException(
                            "junk after IPv6 reference in URI '" + Tokens.clip(s) + "'");
                }
                port = port(after.substring(1), s);
            }
        } else {
            int c = hostport.indexOf(':');
            host = c < 0 ? hostport : hostport.substring(0, c);
            if (c >= 0) {
                port = port(hostport.substring(c + 1), s);
            }
        }
        if (!validHost(host)) {
            throw new SipSyntaxException("bad host '" + Tokens.clip(host) + "' in URI");
        }
        return new SipUri(scheme, user, host, port, params, hdrs);
    }

    static int port(String p, String whole) {
        if (p.isEmpty() || p.length() > 5 || !p.chars().allMatch(Character::isDigit)) {
            throw new SipSyntaxException("bad port in '" + Tokens.clip(whole) + "'");
        }
        int v = Integer.parseInt(p);
        if (v < 1 || v > 65535) {
            throw new SipSyntaxException("port out of range in '" + Tokens.clip(whole) + "'");
        }
        return v;
    }

    static boolean validHost(String h) {
        if (h.isEmpty() || h.length() > 255) {
            return false;
        }
        if (h.startsWith("[")) {
            return IPV6.matcher(h).matches() && literal(h) != null;
        }
        if (IPV4.matcher(h).matches()) {
            return literal(h) != null;
        }
        return HOSTNAME.matcher(h).matches()
                && !h.chars().allMatch(c -> Character.isDigit(c) || c == '.');
    }

    /** An IP literal as an address, null for names; never resolves. */
    static InetAddress literal(String h) {
        String x = h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
        if (IPV4.matcher(x).matches()) {
            for (String part : x.split("\\.")) {
                if (Integer.parseInt(part) > 255) {
                    return null;
                }
            }
        } else if (!(h.startsWith("[") && x.indexOf(':') >= 0 && x.matches("[0-9A-Fa-f:.]+"))) {
            return null;
        }
        try {
            return InetAddress.getByName(x); // a literal: no lookup
        } catch (UnknownHostException e) {
            return null;
        }
    }

    public String scheme() {
        return scheme;
    }

    public String user() {
        return user;
    }

    /** The user part without a password. */
    public String userName() {
        if (user == null) {
            return null;
        }
        int c = user.indexOf(':');
        return c < 0 ? user : user.substring(0, c);
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    /** The port, or the default for the scheme (5060, 5061 for sips). */
    public int portOrDefault() {
        return port > 0 ? port : scheme.equals("sips") ? 5061 : 5060;
    }

    public Map<String, String> params() {
        return Collections.unmodifiableMap(params);
    }

    public String param(String name) {
        return params.get(name.toLowerCase(Locale.ROOT));
    }

    public boolean hasParam(String name) {
        return params.containsKey(name.toLowerCase(Locale.ROOT));
    }

    /** "udp" unless transport= says otherwise (lower case). */
    public String transport() {
        String t = param("transport");
        return t == null ? "udp" : t.toLowerCase(Locale.ROOT);
    }

    /** The host as an address if it is an IP literal, else null. */
    public InetAddress address() {
        return literal(host);
    }

    /** Host and port (default port when absent), null when the host is a name. */
    public InetSocketAddress socketAddress() {
        InetAddress a = address();
        return a == null ? null : new InetSocketAddress(a, portOrDefault());
    }

    /**
     * The address-of-record key: "user@host" with the host in lower case (ports and parameters left
     * out).
     */
    public String aor() {
        String u = userName();
        return (u == null ? "" : u) + "@" + host.toLowerCase(Locale.ROOT);
    }

    public SipUri withHostPort(String newHost, int newPort) {
        return new SipUri(scheme, user, newHost, newPort, new LinkedHashMap<>(params), headers);
    }

    public SipUri withParam(String name, String value) {
        Map<String, String> p = new LinkedHashMap<>(params);
        p.put(name.toLowerCase(Locale.ROOT), value);
        return new SipUri(scheme, user, host, port, p, headers);
    }

    public SipUri withoutParam(String name) {
        Map<String, String> p = new LinkedHashMap<>(params);
        p.remove(name.toLowerCase(Locale.ROOT));
        return new SipUri(scheme, user, host, port, p, headers);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(64).append(scheme).append(':');
        if (user != null) {
            sb.append(user).append('@');
        }
        sb.append(host);
        if (port > 0) {
            sb.append(':').append(port);
        }
        Params.append(sb, params);
        if (headers != null) {
            sb.append('?').append(headers);
        }
        return sb.toString();
    }

    /** "[v6]" or "v4" for an address, as a URI host. */
    public static String hostOf(InetAddress a) {
        String h = a.getHostAddress();
        return h.indexOf(':') >= 0 ? "[" + h + "]" : h;
    }
}
