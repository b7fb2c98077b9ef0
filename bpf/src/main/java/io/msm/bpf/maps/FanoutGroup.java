package io.msm.bpf.maps;

import java.net.Inet4Address;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * struct msm_fanout_group: the subscribers of one upstream flow. Written as a whole: the kernel
 * swaps the old group for the new one atomically.
 *
 * @param groupId index of its counters in msm_group_stats
 * @param flags {@link #F_LOCAL}, {@link #F_STRICT}, {@link #F_PASS_OTHERS}, {@link #F_IDENTITY}
 * @param srcAddr with F_STRICT: the only source relayed (else null)
 * @param srcPort with F_STRICT: the only source port relayed (0: any)
 * @param subs at most {@link #MAX_SUBS}
 */
public record FanoutGroup(
        int groupId, int flags, Inet4Address srcAddr, int srcPort, List<FanoutSub> subs) {
    /** MSM_MAX_SUBS: the largest group. */
    public static final int MAX_SUBS = 1024;

    /** Also deliver the original packet to the local stack. */
    public static final int F_LOCAL = 1;

    /** Relay only packets from srcAddr(:srcPort); drop and count the rest. */
    public static final int F_STRICT = 2;

    /**
     * With F_STRICT or F_IDENTITY: hand packets from other sources (or refused senders) to the
     * local stack instead of dropping them.
     */
    public static final int F_PASS_OTHERS = 4;

    /**
     * Relay only packets whose source address has a workload identity (msm_identities; none: {@link
     * SourceIdentity#WORLD}) that msm_group_allow lists for this group; drop (or, with
     * F_PASS_OTHERS, hand to the local stack) and count the rest. Checked after F_STRICT.
     */
    public static final int F_IDENTITY = 8;

    /**
     * One continuous RTP stream across source switches, and hot standby: the kernel rewrites SSRC,
     * sequence numbers and timestamps (RTP) or sender reports (RTCP) by the group's {@link
     * RewriteState} in msm_rewrites.
     */
    public static final int F_REWRITE = 16;

    /**
     * MSM_MARK_INJECTED: the skb mark of a packet the agent injects through BPF_PROG_TEST_RUN,
     * whose sender was authorised on its connection; F_IDENTITY does not check its source.
     */
    public static final int MARK_INJECTED = 0x6d736d69;

    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_fanout_group", 24 + MAX_SUBS * 36)
                    .u32("group_id", 0)
                    .u32("flags", 4)
                    .u32("n_subs", 8)
                    .u16("src_port", 12)
                    .pad("pad", 14, 2)
                    .u32("src_addr", 16)
                    .pad("pad2", 20, 4)
                    .member("subs", 24, MAX_SUBS * 36)
                    .build();
    private static final int GROUP_ID = LAYOUT.u32("group_id");
    private static final int FLAGS = LAYOUT.u32("flags");
    private static final int N_SUBS = LAYOUT.u32("n_subs");
    private static final int SRC_PORT = LAYOUT.u16("src_port");
    private static final int PAD = LAYOUT.u16("pad");
    private static final int SRC_ADDR = LAYOUT.u32("src_addr");
    private static final int PAD2 = LAYOUT.u32("pad2");
    private static final int SUBS = LAYOUT.nestedArray("subs", FanoutSub.LAYOUT, MAX_SUBS);
    private static final int SUB_SIZE = FanoutSub.LAYOUT.size();

    public FanoutGroup {
        subs = List.copyOf(subs);
        if (subs.size() > MAX_SUBS) {
            throw new IllegalArgumentException(
                    "a group holds at most " + MAX_SUBS + " subscribers, got " + subs.size());
        }
    }

    public boolean local() {
        return (flags & F_LOCAL) != 0;
    }

    public FanoutGroup withSubs(List<FanoutSub> newSubs) {
        return new FanoutGroup(groupId, flags, srcAddr, srcPort, newSubs);
    }

    public static final Codec<FanoutGroup> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, FanoutGroup g) {
                    b.putInt(off + GROUP_ID, g.groupId);
                    b.putInt(off + FLAGS, g.flags);
                    b.putInt(off + N_SUBS, g.subs.size());
                    b.putShort(off + SRC_PORT, (short) g.srcPort);
                    b.putShort(off + PAD, (short) 0);
                    Addr.write4(b, off + SRC_ADDR, g.srcAddr);
                    b.putInt(off + PAD2, 0);
                    int i = 0;
                    for (FanoutSub s : g.subs) {
                        FanoutSub.write(b, off + SUBS + SUB_SIZE * i++, s);
                    }
                    // unused slots are zero, so equal groups encode to equal bytes
                    for (int p = off + SUBS + SUB_SIZE * i; p < off + size(); p++) {
                        b.put(p, (byte) 0);
                    }
                }

                @Override
                public FanoutGroup read(ByteBuffer b, int off) {
                    int n = Math.min(b.getInt(off + N_SUBS), MAX_SUBS);
                    List<FanoutSub> subs = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) {
                        subs.add(FanoutSub.read(b, off + SUBS + SUB_SIZE * i));
                    }
                    return new FanoutGroup(
                            b.getInt(off + GROUP_ID),
                            b.getInt(off + FLAGS),
                            Addr.read4(b, off + SRC_ADDR),
                            b.getShort(off + SRC_PORT) & 0xffff,
                            subs);
                }
            };
}
