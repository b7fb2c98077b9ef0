package io.msm.testkit;

import io.msm.bpf.maps.Addr;
import java.io.ByteArrayOutputStream;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;

/**
 * Builds Ethernet frames for BPF_PROG_TEST_RUN and raw checks: optional 802.1Q tags, IPv4 (options,
 * fragments) or IPv6, UDP or TCP, any payload, with correct checksums unless told otherwise.
 */
public final class Packets {
    public static final int ETH_P_IP = 0x0800;
    public static final int ETH_P_IPV6 = 0x86dd;
    public static final int ETH_P_8021Q = 0x8100;
    public static final int ETH_P_ARP = 0x0806;

    public static final byte[] MAC_A = {0x02, 0, 0, 0, 0, 0x0a};
    public static final byte[] MAC_B = {0x02, 0, 0, 0, 0, 0x0b};

    private Packets() {}

    public static Builder builder() {
        return new Builder();
    }

    /** A fluent frame builder; every setter returns this. */
    public static final class Builder {
        private byte[] src = MAC_A;
        private byte[] dst = MAC_B;
        private int[] vlans = new int[0];
        private InetAddress srcIp;
        private InetAddress dstIp;
        private int ttl = 64;
        private byte[] ipOptions = new byte[0];
        private int fragOffset8;
        private boolean moreFragments;
        private int proto = 17;
        private int sport;
        private int dport;
        private byte[] payload = new byte[0];
        private boolean udpChecksum = true;
        private int tcpFlags = 0x18;
        private byte[] tcpOptions = new byte[0];
        private int etherType = -1;
        private Integer udpLengthOverride;
        private Integer ihlOverride;
        private int[] v6Ext = new int[0];

        public Builder macs(byte[] s, byte[] d) {
            src = s;
            dst = d;
            return this;
        }

        public Builder vlan(int... tags) {
            vlans = tags;
            return this;
        }

        public Builder ip(InetAddress s, InetAddress d) {
            srcIp = s;
            dstIp = d;
            return this;
        }

        public Builder ip(String s, String d) {
            return ip(addr(s), addr(d));
        }

        public Builder ttl(int t) {
            ttl = t;
            return this;
        }

        public Builder ipOptions(byte[] o) {
            if (o.length % 4 != 0) {
                throw new IllegalArgumentException("IPv4 options come in 4-byte words");
            }
            ipOptions = o;
            return this;
        }

        /** Fragment offset in 8-byte units and the MF bit. */
        public Builder fragment(int offset8, boolean more) {
            fragOffset8 = offset8;
            moreFragments = more;
            return this;
        }

        /**
         * IPv6 extension headers between the IPv6 header and L4, 8 bytes each, in this order: 0
         * hop-by-hop, 43 routing, 60 destination options (padded with PadN), 44 fragment (offset 0,
         * no more fragments: the whole datagram).
         */
        public Builder v6Extensions(int... nextHeaders) {
            v6Ext = nextHeaders;
            return this;
        }

        public Builder udp(int s, int d) {
            proto = 17;
            sport = s;
            dport = d;
            return this;
        }

        public Builder tcp(int s, int d) {
            proto = 6;
            sport = s;
            dport = d;
            return this;
        }

        public Builder tcpOptions(byte[] o) {
            tcpOptions = o;
            return this;
        }

        public Builder tcpFlags(int f) {
            tcpFlags = f;
            return this;
        }

        public Builder proto(int p) {
            proto = p;
            return this;
        }

        public Builder payload(byte[] p) {
            payload = p;
            return this;
        }

        public Builder noUdpChecksum() {
            udpChecksum = false;
            return this;
        }

        public Builder etherType(int t) {
            etherType = t;
            return this;
        }

        /** Write a UDP length field that does not match the datagram. */
        public Builder udpLength(int len) {
            udpLengthOverride = len;
            return this;
        }

        /** Write an IHL that does not match the header. */
        public Builder ihl(int words) {
            ihlOverride = words;
            return this;
        }

        public byte[] build() {
            ByteArrayOutputStream f = new ByteArrayOutputStream();
            f.writeBytes(dst);
            f.writeBytes(src);
            boolean v6 = srcIp instanceof Inet6Address;
            int type =
                    etherType >= 0
                            ? etherType
                            : srcIp == null ? ETH_P_ARP : v6 ? ETH_P_IPV6 : ETH_P_IP;
            for (int tag : vlans) {
                put16(f, ETH_P_8021Q);
                put16(f, tag & 0xfff);
            }
            put16(f, type);
            if (srcIp == null) {
                f.writeBytes(payload);
                return f.toByteArray();
            }
            byte[] l4 = l4(v6);
            if (v6) {
                f.writeBytes(ipv6Header(l4.length + 8 * v6Ext.length));
                for (int i = 0; i < v6Ext.length; i++) {
                    int next = i + 1 < v6Ext.length ? v6Ext[i + 1] : proto;
                    byte[] e = new byte[8];
                    e[0] = (byte) next;
                    if (v6Ext[i] != 44) {
                        e[2] = 1; // PadN over the remaining 6 bytes: type 1, length 4
                        e[3] = 4;
                    }
                    f.writeBytes(e);
                }
            } else {
                f.writeBytes(ipv4Header(l4.length));
            }
            f.writeBytes(l4);
            return f.toByteArray();
        }

        private byte[] l4(boolean v6) {
            if (proto == 17) {
                ByteBuffer b = ByteBuffer.allocate(8 + payload.length);
                b.putShort((short) sport).putShort((short) dport);
                b.putShort(
                        (short)
                                (udpLengthOverride != null
                                        ? udpLengthOverride
                                        : 8 + payload.length));
                b.putShort((short) 0).put(payload);
                byte[] u = b.array();
                if (udpChecksum) {
                    int c = Checksums.l4(srcIp, dstIp, 17, u);
                    if (c == 0) {
                        c = 0xffff;
                    }
                    u[6] = (byte) (c >> 8);
                    u[7] = (byte) c;
                }
                return u;
            }
            if (proto == 6) {
                int hl = 20 + tcpOptions.length;
                ByteBuffer b = ByteBuffer.allocate(hl + payload.length);
                b.putShort((short) sport).putShort((short) dport).putInt(1).putInt(0);
                b.put((byte) ((hl / 4) << 4)).put((byte) tcpFlags).putShort((short) 65535);
                b.putShort((short) 0).putShort((short) 0).put(tcpOptions).put(payload);
                byte[] t = b.array();
                int c = Checksums.l4(srcIp, dstIp, 6, t);
                t[16] = (byte) (c >> 8);
                t[17] = (byte) c;
                return t;
            }
            return payload;
        }

        private byte[] ipv4Header(int l4len) {
            int hl = 20 + ipOptions.length;
            ByteBuffer b = ByteBuffer.allocate(hl);
            int ihl = ihlOverride != null ? ihlOverride : hl / 4;
            b.put((byte) (0x40 | (ihl & 0xf))).put((byte) 0).putShort((short) (hl + l4len));
            b.putShort((short) 0x1234);
            b.putShort((short) ((moreFragments ? 0x2000 : 0) | (fragOffset8 & 0x1fff)));
            b.put((byte) ttl).put((byte) proto).putShort((short) 0);
            b.put(srcIp.getAddress()).put(dstIp.getAddress()).put(ipOptions);
            byte[] h = b.array();
            int c = Checksums.ipv4Header(h);
            h[10] = (byte) (c >> 8);
            h[11] = (byte) c;
            return h;
        }

        private byte[] ipv6Header(int l4len) {
            ByteBuffer b = ByteBuffer.allocate(40);
            int next = v6Ext.length > 0 ? v6Ext[0] : proto;
            b.putInt(0x60000000).putShort((short) l4len).put((byte) next).put((byte) ttl);
            b.put(srcIp.getAddress()).put(dstIp.getAddress());
            return b.array();
        }
    }

    private static void put16(ByteArrayOutputStream o, int v) {
        o.write(v >> 8);
        o.write(v);
    }

    public static InetAddress addr(String literal) {
        return Addr.parse(literal);
    }

    /** An RTP packet (12-byte header, V=2) followed by payloadLen bytes of filler. */
    public static byte[] rtp(
            int seq, long timestamp, long ssrc, int payloadType, boolean marker, int payloadLen) {
        ByteBuffer b = ByteBuffer.allocate(12 + payloadLen);
        b.put((byte) 0x80).put((byte) ((marker ? 0x80 : 0) | (payloadType & 0x7f)));
        b.putShort((short) seq).putInt((int) timestamp).putInt((int) ssrc);
        for (int i = 0; i < payloadLen; i++) {
            b.put((byte) i);
        }
        return b.array();
    }

    /** An RTCP sender report header (PT 200), 28 bytes. */
    public static byte[] rtcpSenderReport(long ssrc) {
        ByteBuffer b = ByteBuffer.allocate(28);
        b.put((byte) 0x80).put((byte) 200).putShort((short) 6).putInt((int) ssrc);
        b.putLong(0x1122334455667788L).putInt(1234).putInt(10).putInt(1000);
        return b.array();
    }

    /** A STUN binding request (type 0x0001, magic cookie), 20 bytes. */
    public static byte[] stunBindingRequest() {
        ByteBuffer b = ByteBuffer.allocate(20);
        b.putShort((short) 1)
                .putShort((short) 0)
                .putInt(0x2112A442)
                .putLong(0x0102030405060708L)
                .putInt(9);
        return b.array();
    }

    /** A DTLS 1.2 handshake record header (content type 22) plus body. */
    public static byte[] dtlsHandshake() {
        ByteBuffer b = ByteBuffer.allocate(25);
        b.put((byte) 22)
                .putShort((short) 0xfefd)
                .putShort((short) 0)
                .putInt(0)
                .putShort((short) 1)
                .putShort((short) 12);
        return b.array();
    }

    /** The RakNet OFFLINE_MESSAGE_DATA_ID magic. */
    public static final byte[] RAKNET_MAGIC = {
        0x00,
        (byte) 0xff,
        (byte) 0xff,
        0x00,
        (byte) 0xfe,
        (byte) 0xfe,
        (byte) 0xfe,
        (byte) 0xfe,
        (byte) 0xfd,
        (byte) 0xfd,
        (byte) 0xfd,
        (byte) 0xfd,
        0x12,
        0x34,
        0x56,
        0x78
    };

    /** A RakNet unconnected ping: id 0x01, 8-byte time, magic, client GUID. */
    public static byte[] raknetUnconnectedPing() {
        ByteBuffer b = ByteBuffer.allocate(1 + 8 + 16 + 8);
        b.put((byte) 0x01).putLong(123456789L).put(RAKNET_MAGIC).putLong(42);
        return b.array();
    }
}
