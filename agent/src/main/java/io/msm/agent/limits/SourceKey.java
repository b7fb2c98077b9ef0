package io.msm.agent.limits;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Arrays;

/**
 * Whom a per-source limit counts: an IPv4 address, or an IPv6 /64 (one subscriber's allocation:
 * counting single IPv6 addresses would let one host take a limit 2^64 times). IPv4-mapped IPv6
 * addresses count as their IPv4 address.
 */
public record SourceKey(byte[] bytes) {
    public SourceKey {
        bytes = bytes.clone();
    }

    public static SourceKey of(InetAddress a) {
        byte[] b = a.getAddress();
        if (b.length == 16) {
            boolean mapped = b[10] == (byte) 0xff && b[11] == (byte) 0xff;
            for (int i = 0; i < 10 && mapped; i++) {
                mapped = b[i] == 0;
            }
            return new SourceKey(mapped ? Arrays.copyOfRange(b, 12, 16) : Arrays.copyOf(b, 8));
        }
        return new SourceKey(b);
    }

    /**
     * A socket's peer; anything that is not an IP socket (tests' embedded channels) is one source.
     */
    public static SourceKey of(SocketAddress a) {
        if (a instanceof InetSocketAddress i && i.getAddress() != null) {
            return of(i.getAddress());
        }
        return new SourceKey(new byte[0]);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SourceKey k && Arrays.equals(k.bytes, bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        if (bytes.length == 4) {
            return (bytes[0] & 0xff)
                    + "."
                    + (bytes[1] & 0xff)
                    + "."
                    + (bytes[2] & 0xff)
                    + "."
                    + (bytes[3] & 0xff);
        }
        if (bytes.length == 8) {
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < 8; i += 2) {
                s.append(Integer.toHexString(((bytes[i] & 0xff) << 8) | (bytes[i + 1] & 0xff)))
                        .append(':');
            }
            return s.append(":/64").toString();
        }
        return "(local)";
    }
}
