package io.msm.agent.sip.message;

import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One Via value: "SIP/2.0/UDP host:port;branch=z9hG4bK...;received=..;rport". RFC 3261 section
 * 18.2.1 (received) and RFC 3581 (rport) say where responses go.
 */
public final class Via {
    public static final String MAGIC = "z9hG4bK";

    private final String transport; // upper case: UDP, TCP, TLS, SCTP, WS, WSS
    private final String host;
    private final int port; // -1 when absent
    private final Map<String, String> params;

    private Via(String transport, String host, int port, Map<String, String> params) {
        this.transport = transport;
        this.host = host;
        this.port = port;
        this.params = params;
    }

    public static Via of(String transport, String host, int port, String branch) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("branch", branch);
        return new Via(transport.toUpperCase(Locale.ROOT), host, port, p);
    }

    public static Via parse(String value) {
        if (value == null) {
            throw new SipSyntaxException("missing Via");
        }
        String v = value.trim();
        if (Tokens.hasControl(v)) {
            throw new SipSyntaxException("control characters in Via");
        }
        // sent-protocol = "SIP" SLASH "2.0" SLASH transport, LWS allowed around the slashes
        int i = 0;
        String[] proto = new String[3];
        for (int k = 0; k < 3; k++) {
            while (i < v.length() && (v.charAt(i) == ' ' || v.charAt(i) == '\t')) {
                i++;
            }
            int start = i;
            while (i < v.length() && Tokens.tokenChar(v.charAt(i))) {
                i++;
            }
            proto[k] = v.substring(start, i);
            while (i < v.length() && (v.charAt(i) == ' ' || v.charAt(i) == '\t')) {
                i++;
            }
            if (k < 2) {
                if (i >= v.length() || v.charAt(i) != '/') {
                    throw new SipSyntaxException(
                            "Via must start with SIP/2.0/<transport>: '" + Tokens.clip(v) + "'");
                }
                i++;
            }
        }
        if (!proto[0].equalsIgnoreCase("SIP") || !proto[1].equals("2.0") || proto[2].isEmpty()) {
            throw new SipSyntaxException(
                    "Via must start with SIP/2.0/<transport>: '" + Tokens.clip(v) + "'");
        }
        String rest = v.substring(i).trim();
        int semi = rest.indexOf(';');
        String sentBy = (semi < 0 ? rest : rest.substring(0, semi)).trim();
        Map<String, String> params = Params.parse(semi < 0 ? "" : rest.substring(semi + 1), "Via");
        String host;
        int port = -1;
        if (sentBy.startsWith("[")) {
            int end = sentBy.indexOf(']');
            if (end < 0) {
                throw new SipSyntaxException("unterminated IPv6 reference in Via");
            }
            host = sentBy.substring(0, end + 1);
            String after = sentBy.substring(end + 1).trim();
            if (!after.isEmpty()) {
                if (!after.startsWith(":")) {
                    throw new SipSyntaxException("junk after the host in Via");
                }
                port = SipUri.port(after.substring(1).trim(), v);
            }
        } else {
            int c = sentBy.indexOf(':');
            host = (c < 0 ? sentBy : sentBy.substring(0, c)).trim();
            if (c >= 0) {
                port = SipUri.port(sentBy.substring(c + 1).trim(), v);
            }
        }
        if (!SipUri.validHost(host)) {
            throw new SipSyntaxException("bad sent-by host in Via: '" + Tokens.clip(host) + "'");
        }
        String rport = params.get("rport");
        if (rport != null) {
            SipUri.port(rport, v);
        }
        return new Via(proto[2].toUpperCase(Locale.ROOT), host, port, params);
    }

    public String transport() {
        return transport;
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    public int portOrDefault() {
        return port > 0 ? port : transport.equals("TLS") ? 5061 : 5060;
    }

    public String sentBy() {
        return host + (port > 0 ? ":" + port : "");
    }

    public String param(String name) {
        return params.get(name);
    }

    public boolean hasParam(String name) {
        return params.containsKey(name);
    }

    public String branch() {
        return params.get("branch");
    }

    /** The branch follows RFC 3261 (magic cookie), so it alone identifies the transaction. */
    public boolean rfc3261Branch() {
        String b = branch();
        return b != null && b.startsWith(MAGIC);
    }

    public String received() {
        return params.get("received");
    }

    /** RFC 3581: the rport value filled in by the server, -1 when absent or empty. */
    public int rport() {
        String r = params.get("rport");
        return r == null ? -1 : Integer.parseInt(r);
    }

    public boolean wantsRport() {
        return params.containsKey("rport");
    }

    /** The sent-by host as an address if it is an IP literal. */
    public InetAddress hostAddress() {
        return SipUri.literal(host);
    }

    public Via with(String name, String value) {
        Map<String, String> p = new LinkedHashMap<>(params);
        p.put(name, value);
        return new Via(transport, host, port, p);
    }

    @Override
    public String toString() {
        StringBuilder sb =
                new StringBuilder(64)
                        .append("SIP/2.0/")
                        .append(transport)
                        .append(' ')
                        .append(sentBy());
        Params.append(sb, params);
        return sb.toString();
    }
}
