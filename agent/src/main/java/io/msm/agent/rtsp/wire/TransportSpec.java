package io.msm.agent.rtsp.wire;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One alternative of a Transport header (RFC 2326 section 12.39), e.g. {@code
 * RTP/AVP;unicast;client_port=5000-5001} or {@code
 * RTP/AVP/TCP;unicast;interleaved=0-1;mode=record}.
 *
 * @param profile "RTP/AVP" for the ones this proxy serves; anything else as sent
 * @param tcp lower transport TCP (interleaved on the RTSP connection) rather than UDP
 * @param multicast "multicast" was asked for
 * @param clientPort client RTP and RTCP ports, or null
 * @param serverPort server RTP and RTCP ports, or null
 * @param interleaved RTP and RTCP channels, or null
 * @param record mode=record (publishing) rather than play
 * @param source source= parameter, or null
 */
public record TransportSpec(
        String profile,
        boolean tcp,
        boolean multicast,
        PortRange clientPort,
        PortRange serverPort,
        PortRange interleaved,
        boolean record,
        String source) {

    /** An "a-b" pair (a single number n stands for n-(n+1)). */
    public record PortRange(int first, int second) {
        static PortRange parse(String v, int max) {
            String[] p = v.split("-", -1);
            if (p.length > 2) {
                throw new IllegalArgumentException("bad range '" + v + "'");
            }
            int a = number(p[0], max);
            int b = p.length == 2 ? number(p[1], max) : Math.min(a + 1, max);
            return new PortRange(a, b);
        }

        private static int number(String s, int max) {
            if (s.isEmpty() || s.length() > 5 || !s.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new IllegalArgumentException("not a number: '" + s + "'");
            }
            int n = Integer.parseInt(s);
            if (n > max) {
                throw new IllegalArgumentException(n + " is above " + max);
            }
            return n;
        }

        @Override
        public String toString() {
            return first + "-" + second;
        }
    }

    public boolean isRtpAvp() {
        return profile.equals("RTP/AVP");
    }

    /** Every alternative of a Transport header value, in the client's order of preference. */
    public static List<TransportSpec> parseAll(String header) {
        if (header == null) {
            throw new IllegalArgumentException("no Transport header");
        }
        List<TransportSpec> out = new ArrayList<>();
        for (String alt : header.split(",")) {
            if (!alt.isBlank()) {
                out.add(parse(alt.trim()));
            }
            if (out.size() > 16) {
                throw new IllegalArgumentException("more than 16 transport alternatives");
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("empty Transport header");
        }
        return out;
    }

    public static TransportSpec parse(String spec) {
        String[] parts = spec.split(";");
        if (parts.length == 0 || parts[0].isBlank()) {
            throw new IllegalArgumentException(
                    "no transport protocol in '" + RtspDecoder.shorten(spec) + "'");
        }
        String proto = parts[0].trim().toUpperCase(Locale.ROOT);
        String[] pp = proto.split("/");
        if (pp.length < 2 || pp.length > 3 || pp[0].isEmpty() || pp[1].isEmpty()) {
            throw new IllegalArgumentException(
                    "transport protocol '"
                            + RtspDecoder.shorten(parts[0])
                            + "' is not "
                            + "protocol/profile[/lower-transport]");
        }
        for (String part : pp) {
            if (!part.matches("[A-Z0-9._+-]+")) {
                throw new IllegalArgumentException(
                        "transport protocol '"
                                + RtspDecoder.shorten(parts[0])
                                + "' has characters a protocol name cannot have");
            }
        }
        String profile = pp[0] + "/" + pp[1];
        boolean tcp = false;
        if (pp.length == 3) {
            if (pp[2].equals("TCP")) {
                tcp = true;
            } else if (!pp[2].equals("UDP")) {
                throw new IllegalArgumentException(
                        "lower transport '"
                                + RtspDecoder.shorten(pp[2])
                                + "' is neither UDP nor TCP");
            }
        }
        boolean multicast = false;
        PortRange client = null;
        PortRange server = null;
        PortRange inter = null;
        boolean record = false;
        String source = null;
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i].trim();
            if (p.isEmpty()) {
                continue;
            }
            int eq = p.indexOf('=');
            String name = (eq < 0 ? p : p.substring(0, eq)).trim().toLowerCase(Locale.ROOT);
            String value = eq < 0 ? "" : unquote(p.substring(eq + 1).trim());
            switch (name) {
                case "unicast" -> multicast = false;
                case "multicast" -> multicast = true;
                case "client_port" -> client = PortRange.parse(value, 65535);
                case "server_port" -> server = PortRange.parse(value, 65535);
                case "interleaved" -> inter = PortRange.parse(value, 255);
                case "mode" -> {
                    String m = value.toLowerCase(Locale.ROOT);
                    if (m.equals("record") || m.equals("receive")) {
                        record = true;
                    } else if (!m.equals("play")) {
                        throw new IllegalArgumentException(
                                "mode '"
                                        + RtspDecoder.shorten(value)
                                        + "' is neither play nor record");
                    }
                }
                case "source" -> source = value;
                default -> {
                    // destination, ttl, ssrc, layers, append: not needed by a unicast proxy
                }
            }
        }
        return new TransportSpec(profile, tcp, multicast, client, server, inter, record, source);
    }

    private static String unquote(String v) {
        return v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")
                ? v.substring(1, v.length() - 1)
                : v;
    }

    /** The header value (one alternative). */
    public String format() {
        StringBuilder b =
                new StringBuilder(profile)
                        .append(tcp ? "/TCP" : "")
                        .append(multicast ? ";multicast" : ";unicast");
        if (source != null) {
            b.append(";source=").append(source);
        }
        if (clientPort != null) {
            b.append(";client_port=").append(clientPort);
        }
        if (serverPort != null) {
            b.append(";server_port=").append(serverPort);
        }
        if (interleaved != null) {
            b.append(";interleaved=").append(interleaved);
        }
        if (record) {
            b.append(";mode=record");
        }
        return b.toString();
    }
}
