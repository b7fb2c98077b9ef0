package io.msm.testkit;

import io.msm.bpf.maps.Addr;
import java.net.InetAddress;
import java.util.Arrays;

/**
 * A parsed Ethernet/IPv4/UDP frame, for asserting on what the datapath produced: addresses, ports,
 * payload, and whether each checksum is right.
 */
public record Frame(
        byte[] dstMac,
        byte[] srcMac,
        int etherType,
        int l3Off,
        InetAddress src,
        InetAddress dst,
        int ihl,
        int ttl,
        boolean ipChecksumOk,
        int sport,
        int dport,
        int udpLen,
        int udpChecksum,
        byte[] payload,
        byte[] raw) {

    public static Frame parse(byte[] f) {
        int type = ((f[12] & 0xff) << 8) | (f[13] & 0xff);
        int l3 = 14;
        while (type == Packets.ETH_P_8021Q) {
            type = ((f[l3 + 2] & 0xff) << 8) | (f[l3 + 3] & 0xff);
            l3 += 4;
        }
        byte[] dmac = Arrays.copyOfRange(f, 0, 6);
        byte[] smac = Arrays.copyOfRange(f, 6, 12);
        if (type != Packets.ETH_P_IP) {
            return new Frame(
                    dmac, smac, type, l3, null, null, 0, 0, false, 0, 0, 0, 0, new byte[0], f);
        }
        int ihl = (f[l3] & 0x0f) * 4;
        byte[] hdr = Arrays.copyOfRange(f, l3, l3 + ihl);
        boolean ipOk = Checksums.fold(Checksums.sum(hdr, 0, hdr.length, 0)) == 0xffff;
        InetAddress src = Addr.byAddress(Arrays.copyOfRange(f, l3 + 12, l3 + 16));
        InetAddress dst = Addr.byAddress(Arrays.copyOfRange(f, l3 + 16, l3 + 20));
        int l4 = l3 + ihl;
        int sport = u16(f, l4);
        int dport = u16(f, l4 + 2);
        int ulen = u16(f, l4 + 4);
        int csum = u16(f, l4 + 6);
        int end = Math.min(f.length, l4 + ulen);
        byte[] payload = Arrays.copyOfRange(f, Math.min(l4 + 8, end), end);
        return new Frame(
                dmac,
                smac,
                type,
                l3,
                src,
                dst,
                ihl,
                f[l3 + 8] & 0xff,
                ipOk,
                sport,
                dport,
                ulen,
                csum,
                payload,
                f);
    }

    private static int u16(byte[] f, int off) {
        return ((f[off] & 0xff) << 8) | (f[off + 1] & 0xff);
    }

    private byte[] udpSegment() {
        int l4 = l3Off + ihl;
        return Arrays.copyOfRange(raw, l4, Math.min(raw.length, l4 + udpLen));
    }

    /** The UDP checksum verifies over pseudo header and datagram (or is 0: none). */
    public boolean udpChecksumOk() {
        if (udpChecksum == 0) {
            return true;
        }
        long acc = Checksums.pseudoHeader(src, dst, 17, udpLen);
        byte[] seg = udpSegment();
        acc = Checksums.sum(seg, 0, seg.length, acc);
        return Checksums.fold(acc) == 0xffff;
    }

    /**
     * For a packet still carrying CHECKSUM_PARTIAL (transmit offload): the field holds the folded
     * pseudo-header sum the device completes.
     */
    public boolean udpPartialChecksumOk() {
        int expect = Checksums.fold(Checksums.pseudoHeader(src, dst, 17, udpLen));
        return udpChecksum == expect;
    }

    public String srcString() {
        return Addr.hostPort(src, sport);
    }

    public String dstString() {
        return Addr.hostPort(dst, dport);
    }
}
