package io.msm.bpf.maps;

import java.net.Inet4Address;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * struct msm_fanout_sub: one subscriber — where its copy leaves and what its headers become.
 *
 * @param ifindex device the copy is redirected to
 * @param subId index of its counters in msm_sub_stats
 * @param dmac next hop's MAC
 * @param smac egress device's MAC
 * @param saddr source address of the copy (the node's)
 * @param daddr the subscriber's address
 * @param sport source port of the copy
 * @param dport the subscriber's port
 * @param flags {@link #F_INGRESS}
 */
public record FanoutSub(
        int ifindex,
        int subId,
        byte[] dmac,
        byte[] smac,
        Inet4Address saddr,
        Inet4Address daddr,
        int sport,
        int dport,
        int flags) {
    /** Redirect into the device's ingress instead of out of it. */
    public static final int F_INGRESS = 1;

    public static final StructLayout LAYOUT =
            StructLayout.of(
                    "msm_fanout_sub",
                    36,
                    "ifindex",
                    0,
                    "sub_id",
                    4,
                    "dmac",
                    8,
                    "smac",
                    14,
                    "saddr",
                    20,
                    "daddr",
                    24,
                    "sport",
                    28,
                    "dport",
                    30,
                    "flags",
                    32);

    public FanoutSub {
        if (dmac.length != 6 || smac.length != 6) {
            throw new IllegalArgumentException("MAC addresses must be 6 bytes");
        }
        if (sport < 0 || sport > 65535 || dport < 1 || dport > 65535) {
            throw new IllegalArgumentException("ports out of range: " + sport + " -> " + dport);
        }
    }

    public String destination() {
        return Addr.hostPort(daddr, dport);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FanoutSub s
                && s.ifindex == ifindex
                && s.subId == subId
                && Arrays.equals(s.dmac, dmac)
                && Arrays.equals(s.smac, smac)
                && s.saddr.equals(saddr)
                && s.daddr.equals(daddr)
                && s.sport == sport
                && s.dport == dport
                && s.flags == flags;
    }

    @Override
    public int hashCode() {
        return daddr.hashCode() * 31 + dport * 7 + subId;
    }

    @Override
    public String toString() {
        return "FanoutSub["
                + Addr.hostPort(saddr, sport)
                + " -> "
                + destination()
                + " via ifindex "
                + ifindex
                + " dmac "
                + Addr.macString(dmac)
                + " id "
                + subId
                + "]";
    }

    static void write(ByteBuffer b, int off, FanoutSub s) {
        b.putInt(off, s.ifindex);
        b.putInt(off + 4, s.subId);
        Addr.putMac(b, off + 8, s.dmac);
        Addr.putMac(b, off + 14, s.smac);
        Addr.write4(b, off + 20, s.saddr);
        Addr.write4(b, off + 24, s.daddr);
        b.putShort(off + 28, (short) s.sport);
        b.putShort(off + 30, (short) s.dport);
        b.putInt(off + 32, s.flags);
    }

    static FanoutSub read(ByteBuffer b, int off) {
        return new FanoutSub(
                b.getInt(off),
                b.getInt(off + 4),
                Addr.getMac(b, off + 8),
                Addr.getMac(b, off + 14),
                Addr.read4(b, off + 20),
                Addr.read4(b, off + 24),
                b.getShort(off + 28) & 0xffff,
                b.getShort(off + 30) & 0xffff,
                b.getInt(off + 32));
    }
}
