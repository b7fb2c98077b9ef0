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
 * @param flags {@link #F_LOCAL}, {@link #F_STRICT}, {@link #F_PASS_OTHERS}
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
     * With F_STRICT: hand packets from other sources to the local stack instead of dropping them.
     */
    public static final int F_PASS_OTHERS = 4;

    private static final int HEADER = 24;

    public static final StructLayout LAYOUT =
            StructLayout.of(
                    "msm_fanout_group",
                    HEADER + MAX_SUBS * 36,
                    "group_id",
                    0,
                    "flags",
                    4,
                    "n_subs",
                    8,
                    "src_port",
                    12,
                    "pad",
                    14,
                    "src_addr",
                    16,
                    "pad2",
                    20,
                    "subs",
                    24);

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
                    b.putInt(off, g.groupId);
                    b.putInt(off + 4, g.flags);
                    b.putInt(off + 8, g.subs.size());
                    b.putShort(off + 12, (short) g.srcPort);
                    b.putShort(off + 14, (short) 0);
                    Addr.write4(b, off + 16, g.srcAddr);
                    b.putInt(off + 20, 0);
                    int i = 0;
                    for (FanoutSub s : g.subs) {
                        FanoutSub.write(b, off + HEADER + 36 * i++, s);
                    }
                    // unused slots are zero, so equal groups encode to equal bytes
                    for (int p = off + HEADER + 36 * i; p < off + size(); p++) {
                        b.put(p, (byte) 0);
                    }
                }

                @Override
                public FanoutGroup read(ByteBuffer b, int off) {
                    int n = Math.min(b.getInt(off + 8), MAX_SUBS);
                    List<FanoutSub> subs = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) {
                        subs.add(FanoutSub.read(b, off + HEADER + 36 * i));
                    }
                    return new FanoutGroup(
                            b.getInt(off),
                            b.getInt(off + 4),
                            Addr.read4(b, off + 16),
                            b.getShort(off + 12) & 0xffff,
                            subs);
                }
            };
}
