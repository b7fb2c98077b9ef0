package io.msm.agent.config;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/** "ADDR:PORT" as a listen address: a literal IPv4/IPv6 address (in brackets) and a port. */
public record HostPort(InetAddress address, int port) {
    public static HostPort parse(String field, String value) {
        if (value == null || value.isBlank()) {
            throw new ConfigException(field, "must be ADDR:PORT, e.g. 0.0.0.0:8554");
        }
        String v = value.trim();
        int colon = v.lastIndexOf(':');
        if (colon <= 0 || colon == v.length() - 1) {
            throw new ConfigException(
                    field, "must be ADDR:PORT, e.g. 0.0.0.0:8554 (got '" + value + "')");
        }
        String host = v.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":")) {
            throw new ConfigException(
                    field, "IPv6 addresses go in brackets: [::]:8554 (got '" + value + "')");
        }
        int port;
        try {
            port = Integer.parseInt(v.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new ConfigException(field, "port must be a number (got '" + value + "')");
        }
        if (port < 0 || port > 65535) {
            throw new ConfigException(field, "port must be 0..65535 (got " + port + ")");
        }
        if (!(host.indexOf(':') >= 0 || host.matches("[0-9.]+"))) {
            throw new ConfigException(
                    field, "address must be an IP literal, not a name (got '" + host + "')");
        }
        try {
            return new HostPort(InetAddress.getByName(host), port);
        } catch (UnknownHostException e) {
            throw new ConfigException(field, "not an IP address: '" + host + "'");
        }
    }

    /** "ADDR" or "ADDR:PORT" ("[v6]" or "[v6]:PORT"); a missing port is 0 (meaning: any port). */
    public static HostPort parseOptionalPort(String field, String value) {
        if (value == null || value.isBlank()) {
            throw new ConfigException(field, "must be ADDR or ADDR:PORT");
        }
        String v = value.trim();
        boolean bracketed = v.startsWith("[");
        long colons = v.chars().filter(c -> c == ':').count();
        if (bracketed ? v.endsWith("]") : colons == 0) {
            return parse(field, v + ":0");
        }
        if (!bracketed && colons > 1) {
            return parse(field, "[" + v + "]:0"); // a bare IPv6 address
        }
        return parse(field, v);
    }

    public InetSocketAddress socketAddress() {
        return new InetSocketAddress(address, port);
    }

    @Override
    public String toString() {
        String h = address.getHostAddress();
        return (h.contains(":") ? "[" + h + "]" : h) + ":" + port;
    }
}
