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
            StructLayout.struct("msm_fanout_sub", 36)
                    .u32("ifindex", 0)
                    .u32("sub_id", 4)
                    .member("dmac", 8, 6)
                    .member("smac", 14, 6)
                    .u32("saddr", 20)
                    .u32("daddr", 24)
                    .u16("sport", 28)
                    .u16("dport", 30)
                    .u32("flags", 32)
                    .build();
    private static final int IFINDEX = LAYOUT.u32("ifindex");
    private static final int SUB_ID = LAYOUT.u32("sub_id");
    private static final int DMAC = LAYOUT.bytes("dmac", 6);
    private static final int SMAC = LAYOUT.bytes("smac", 6);
    private static final int SADDR = LAYOUT.u32("saddr");
    private static final int DADDR = LAYOUT.u32("daddr");
    private static final int SPORT = LAYOUT.u16("sport");
    private static final int DPORT = LAYOUT.u16("dport");
    private static final int FLAGS = LAYOUT.u32("flags");

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
        b.putInt(off + IFINDEX, s.ifindex);
        b.putInt(off + SUB_ID, s.subId);
        Addr.putMac(b, off + DMAC, s.dmac);
        Addr.putMac(b, off + SMAC, s.smac);
        Addr.write4(b, off + SADDR, s.saddr);
        Addr.write4(b, off + DADDR, s.daddr);
        b.putShort(off + SPORT, (short) s.sport);
        b.putShort(off + DPORT, (short) s.dport);
        b.putInt(off + FLAGS, s.flags);
    }

    static FanoutSub read(ByteBuffer b, int off) {
        return new FanoutSub(
                b.getInt(off + IFINDEX),
                b.getInt(off + SUB_ID),
                Addr.getMac(b, off + DMAC),
                Addr.getMac(b, off + SMAC),
                Addr.read4(b, off + SADDR),
                Addr.read4(b, off + DADDR),
                b.getShort(off + SPORT) & 0xffff,
                b.getShort(off + DPORT) & 0xffff,
                b.getInt(off + FLAGS));
    }
}
