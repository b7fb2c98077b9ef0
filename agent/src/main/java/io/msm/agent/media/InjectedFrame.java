package io.msm.agent.media;

import io.netty.buffer.ByteBuf;
import java.net.InetSocketAddress;

/**
 * An Ethernet/IPv4/UDP frame around a payload, for running the TC program on an injected packet.
 */
final class InjectedFrame {
    private InjectedFrame() {}

    static byte[] udp4(InetSocketAddress from, InetSocketAddress to, ByteBuf payload) {
        int n = payload.readableBytes();
        byte[] f = new byte[14 + 20 + 8 + n];
        // Ethernet: addresses are rewritten per subscriber; type IPv4
        f[12] = 0x08;
        int ip = 14;
        f[ip] = 0x45;
        int total = 20 + 8 + n;
        f[ip + 2] = (byte) (total >> 8);
        f[ip + 3] = (byte) total;
        f[ip + 6] = 0x40; // DF
        f[ip + 8] = 64;
        f[ip + 9] = 17;
        System.arraycopy(from.getAddress().getAddress(), 0, f, ip + 12, 4);
        System.arraycopy(to.getAddress().getAddress(), 0, f, ip + 16, 4);
        int sum = 0;
        for (int i = 0; i < 20; i += 2) {
            sum += ((f[ip + i] & 0xff) << 8) | (f[ip + i + 1] & 0xff);
        }
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        int csum = ~sum & 0xffff;
        f[ip + 10] = (byte) (csum >> 8);
        f[ip + 11] = (byte) csum;
        int udp = ip + 20;
        f[udp] = (byte) (from.getPort() >> 8);
        f[udp + 1] = (byte) from.getPort();
        f[udp + 2] = (byte) (to.getPort() >> 8);
        f[udp + 3] = (byte) to.getPort();
        f[udp + 4] = (byte) ((8 + n) >> 8);
        f[udp + 5] = (byte) (8 + n);
        // UDP checksum 0 (none, allowed for IPv4): the copies keep it zero
        payload.getBytes(payload.readerIndex(), f, udp + 8, n);
        return f;
    }
}
