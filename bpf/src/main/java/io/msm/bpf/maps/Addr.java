package io.msm.bpf.maps;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;

/** IP addresses as the datapath stores them: 16 bytes, network order, IPv4 in the first 4. */
public final class Addr {
    /** enum msm_family: the family byte of flow, fan-out, deny and rate-limit keys. */
    public static final int FAMILY_IPV4 = 4;

    public static final int FAMILY_IPV6 = 6;

    private Addr() {}

    public static void write16(ByteBuffer b, int off, InetAddress a) {
        byte[] raw = a == null ? new byte[4] : a.getAddress();
        for (int i = 0; i < 16; i++) {
            b.put(off + i, i < raw.length ? raw[i] : 0);
        }
    }

    public static InetAddress read16(ByteBuffer b, int off, int family) {
        byte[] raw = new byte[family == FAMILY_IPV6 ? 16 : 4];
        for (int i = 0; i < raw.length; i++) {
            raw[i] = b.get(off + i);
        }
        return byAddress(raw);
    }

    public static void write4(ByteBuffer b, int off, InetAddress a) {
        byte[] raw = a == null ? new byte[4] : a.getAddress();
        if (raw.length != 4) {
            throw new IllegalArgumentException("IPv4 address expected: " + a.getHostAddress());
        }
        for (int i = 0; i < 4; i++) {
            b.put(off + i, raw[i]);
        }
    }

    public static Inet4Address read4(ByteBuffer b, int off) {
        byte[] raw = new byte[4];
        for (int i = 0; i < 4; i++) {
            raw[i] = b.get(off + i);
        }
        return (Inet4Address) byAddress(raw);
    }

    public static InetAddress byAddress(byte[] raw) {
        try {
            return InetAddress.getByAddress(raw);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    public static int family(InetAddress a) {
        return a instanceof Inet6Address ? FAMILY_IPV6 : FAMILY_IPV4;
    }

    /** "10.0.0.1:5004" or "[fe80::1]:5004" */
    public static String hostPort(InetAddress a, int port) {
        String h = a.getHostAddress();
        return (a instanceof Inet6Address ? "[" + h + "]" : h) + ":" + port;
    }

    /** Parse a literal address (never a DNS lookup). */
    public static InetAddress parse(String literal) {
        String s = literal.trim();
        if (s.startsWith("[") && s.endsWith("]")) {
            s = s.substring(1, s.length() - 1);
        }
        if (s.isEmpty() || !(s.indexOf(':') >= 0 || s.matches("[0-9.]+"))) {
            throw new IllegalArgumentException("not an IP address literal: '" + literal + "'");
        }
        try {
            return InetAddress.getByName(s);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IP address literal: '" + literal + "'", e);
        }
    }

    public static void putMac(ByteBuffer b, int off, byte[] mac) {
        if (mac.length != 6) {
            throw new IllegalArgumentException("MAC address must be 6 bytes");
        }
        for (int i = 0; i < 6; i++) {
            b.put(off + i, mac[i]);
        }
    }

    public static byte[] getMac(ByteBuffer b, int off) {
        byte[] m = new byte[6];
        for (int i = 0; i < 6; i++) {
            m[i] = b.get(off + i);
        }
        return m;
    }

    public static String macString(byte[] mac) {
        StringBuilder sb = new StringBuilder(17);
        for (int i = 0; i < mac.length; i++) {
            if (i > 0) {
                sb.append(':');
            }
            sb.append(String.format("%02x", mac[i] & 0xff));
        }
        return sb.toString();
    }

    public static byte[] parseMac(String s) {
        String[] parts = s.trim().split(":");
        if (parts.length != 6) {
            throw new IllegalArgumentException("not a MAC address: '" + s + "'");
        }
        byte[] m = new byte[6];
        for (int i = 0; i < 6; i++) {
            m[i] = (byte) Integer.parseInt(parts[i], 16);
        }
        return m;
    }
}
