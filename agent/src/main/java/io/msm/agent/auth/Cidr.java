package io.msm.agent.auth;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * An address prefix, IPv4 or IPv6 ("10.1.0.0/16", "fd00::/8", or a bare address meaning /32 or
 * /128). IPv4-mapped IPv6 addresses ({@code ::ffff:a.b.c.d}, as a dual-stack socket reports IPv4
 * peers) match IPv4 prefixes.
 */
public record Cidr(byte[] network, int prefix) {

    public Cidr {
        network = network.clone();
        if (prefix < 0 || prefix > network.length * 8) {
            throw new IllegalArgumentException(
                    "prefix length " + prefix + " is over " + network.length * 8);
        }
        mask(network, prefix);
    }

    /**
     * Parses "address[/prefix]". Only literals: a host name here would make the trust decision
     * depend on DNS.
     *
     * @throws IllegalArgumentException with the reason, for the caller to name the field
     */
    public static Cidr parse(String s) {
        String t = s.trim();
        int slash = t.indexOf('/');
        String addr = slash < 0 ? t : t.substring(0, slash);
        if (addr.isEmpty() || !(addr.indexOf(':') >= 0 || addr.matches("[0-9.]+"))) {
            throw new IllegalArgumentException(
                    "'" + s + "' is not an IP address or prefix (like 10.0.0.0/8 or fd00::/8)");
        }
        byte[] a;
        try {
            a = InetAddress.getByName(addr).getAddress(); // a literal: no lookup
        } catch (UnknownHostException | SecurityException e) {
            throw new IllegalArgumentException(
                    "'" + s + "' is not an IP address or prefix: " + e.getMessage());
        }
        int len = a.length * 8;
        if (slash >= 0) {
            String p = t.substring(slash + 1);
            if (!p.matches("[0-9]{1,3}")) {
                throw new IllegalArgumentException(
                        "'" + s + "': the prefix length must be a number");
            }
            len = Integer.parseInt(p);
            if (len > a.length * 8) {
                throw new IllegalArgumentException(
                        "'" + s + "': prefix length " + len + " is over " + a.length * 8);
            }
        }
        return new Cidr(a, len);
    }

    public boolean contains(InetAddress address) {
        byte[] a = unmapped(address.getAddress());
        if (a.length != network.length) {
            return false;
        }
        mask(a, prefix);
        return Arrays.equals(a, network);
    }

    /** ::ffff:a.b.c.d as a.b.c.d; anything else as it is (a copy). */
    static byte[] unmapped(byte[] a) {
        if (a.length == 16) {
            for (int i = 0; i < 10; i++) {
                if (a[i] != 0) {
                    return a.clone();
                }
            }
            if (a[10] == (byte) 0xff && a[11] == (byte) 0xff) {
                return Arrays.copyOfRange(a, 12, 16);
            }
        }
        return a.clone();
    }

    private static void mask(byte[] a, int prefix) {
        for (int i = 0; i < a.length; i++) {
            int bits = Math.max(0, Math.min(8, prefix - i * 8));
            a[i] &= (byte) (0xff << (8 - bits));
        }
    }

    @Override
    public byte[] network() {
        return network.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Cidr c && c.prefix == prefix && Arrays.equals(c.network, network);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(network) * 31 + prefix;
    }

    @Override
    public String toString() {
        try {
            return InetAddress.getByAddress(network).getHostAddress() + "/" + prefix;
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
