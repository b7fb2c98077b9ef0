package io.msm.cli.render;

import java.net.Inet6Address;
import java.net.InetAddress;

/**
 * "addr:port" text for flows: IPv4 dotted, IPv6 in RFC 5952 form ("[2001:db8::1]:5004", as ip and
 * ss print it, not Java's uncompressed "2001:db8:0:0:0:0:0:1").
 */
public final class Endpoints {
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private Endpoints() {}

    public static String hostPort(InetAddress a, int port) {
        StringBuilder sb = new StringBuilder(48);
        if (a instanceof Inet6Address) {
            sb.append('[');
            appendV6(sb, a.getAddress());
            sb.append(']');
        } else {
            appendV4(sb, a.getAddress());
        }
        return sb.append(':').append(port).toString();
    }

    public static String host(InetAddress a) {
        StringBuilder sb = new StringBuilder(40);
        if (a instanceof Inet6Address) {
            appendV6(sb, a.getAddress());
        } else {
            appendV4(sb, a.getAddress());
        }
        return sb.toString();
    }

    private static void appendV4(StringBuilder sb, byte[] b) {
        for (int i = 0; i < 4; i++) {
            if (i > 0) {
                sb.append('.');
            }
            sb.append(b[i] & 0xff);
        }
    }

    /**
     * RFC 5952 section 4: lower case, no leading zeros, the longest run (2+ groups) of zeros as
     * "::".
     */
    private static void appendV6(StringBuilder sb, byte[] b) {
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) {
            g[i] = (b[2 * i] & 0xff) << 8 | (b[2 * i + 1] & 0xff);
        }
        int bestStart = -1;
        int bestLen = 1; // a single zero group is not compressed
        for (int i = 0; i < 8; ) {
            if (g[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && g[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (i > 0 && i != bestStart + bestLen) {
                sb.append(':');
            }
            appendHex(sb, g[i]);
        }
    }

    private static void appendHex(StringBuilder sb, int v) {
        boolean started = false;
        for (int shift = 12; shift >= 0; shift -= 4) {
            int d = (v >> shift) & 0xf;
            if (d != 0 || started || shift == 0) {
                sb.append(HEX[d]);
                started = true;
            }
        }
    }
}
