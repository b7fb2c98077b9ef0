package io.msm.agent.sip.transport;

import io.netty.channel.Channel;
import java.net.InetSocketAddress;
import java.util.Locale;

/**
 * One end of a SIP hop: the transport, the remote address, and for TCP and TLS the connection a
 * message came on (responses go back over it, RFC 3261 section 18.2.2).
 *
 * @param connection the TCP or TLS connection, or null (UDP, or not connected yet)
 */
public record Hop(Kind kind, InetSocketAddress remote, Channel connection) {
    public enum Kind {
        UDP,
        TCP,
        /** TLS over TCP (RFC 3261 section 26, RFC 5630): same framing as TCP. */
        TLS;

        /** A transport parameter or Via transport ("udp", "TCP", "tls", ...); UDP for others. */
        public static Kind of(String transport) {
            if ("tcp".equalsIgnoreCase(transport)) {
                return TCP;
            }
            return "tls".equalsIgnoreCase(transport) ? TLS : UDP;
        }

        /** As in a Via header: "UDP", "TCP", "TLS". */
        public String via() {
            return name();
        }
    }

    public static Hop udp(InetSocketAddress remote) {
        return new Hop(Kind.UDP, remote, null);
    }

    public static Hop tcp(InetSocketAddress remote) {
        return new Hop(Kind.TCP, remote, null);
    }

    public boolean reliable() {
        return kind != Kind.UDP;
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase(Locale.ROOT)
                + ":"
                + remote.getAddress().getHostAddress()
                + ":"
                + remote.getPort();
    }
}
