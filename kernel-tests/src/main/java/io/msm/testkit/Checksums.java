package io.msm.testkit;

import java.net.Inet6Address;
import java.net.InetAddress;

/**
 * Internet checksums (RFC 1071), computed from scratch to check the datapath's incremental ones.
 */
public final class Checksums {
    private Checksums() {}

    /** One's complement sum of 16-bit words, not folded/complemented. */
    public static long sum(byte[] data, int off, int len, long acc) {
        int i = 0;
        for (; i + 1 < len; i += 2) {
            acc += ((data[off + i] & 0xff) << 8) | (data[off + i + 1] & 0xff);
        }
        if (i < len) {
            acc += (data[off + i] & 0xff) << 8;
        }
        return acc;
    }

    public static int fold(long acc) {
        while ((acc >>> 16) != 0) {
            acc = (acc & 0xffff) + (acc >>> 16);
        }
        return (int) acc;
    }

    /** Header checksum over an IPv4 header whose checksum field is zero (or verify: result 0). */
    public static int ipv4Header(byte[] h) {
        return ~fold(sum(h, 0, h.length, 0)) & 0xffff;
    }

    public static long pseudoHeader(InetAddress src, InetAddress dst, int proto, int l4len) {
        byte[] s = src.getAddress();
        byte[] d = dst.getAddress();
        long acc = sum(s, 0, s.length, 0);
        acc = sum(d, 0, d.length, acc);
        if (src instanceof Inet6Address) {
            acc += (l4len >>> 16) + (l4len & 0xffff);
            acc += proto;
        } else {
            acc += proto + l4len;
        }
        return acc;
    }

    /** UDP/TCP checksum over pseudo header + segment (checksum field zeroed by the caller). */
    public static int l4(InetAddress src, InetAddress dst, int proto, byte[] segment) {
        long acc = pseudoHeader(src, dst, proto, segment.length);
        acc = sum(segment, 0, segment.length, acc);
        return ~fold(acc) & 0xffff;
    }
}
