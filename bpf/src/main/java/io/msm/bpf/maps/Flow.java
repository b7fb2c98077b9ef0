package io.msm.bpf.maps;

import java.nio.ByteBuffer;

/** struct msm_flow: per-flow state in the flow table. Times are CLOCK_MONOTONIC ns. */
public record Flow(
        int classId,
        int flags,
        int classMask,
        long packets,
        long bytes,
        long firstNs,
        long lastNs,
        RtpStats rtp) {
    public static final int F_FANOUT = 1;

    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_flow", 88)
                    .u8("class", 0)
                    .u8("flags", 1)
                    .u8("class_mask", 2)
                    .pad("pad0", 3, 1)
                    .pad("pad1", 4, 4)
                    .u64("packets", 8)
                    .u64("bytes", 16)
                    .u64("first_ns", 24)
                    .u64("last_ns", 32)
                    .member("rtp", 40, 48)
                    .build();
    private static final int CLASS = LAYOUT.u8("class");
    private static final int FLAGS = LAYOUT.u8("flags");
    private static final int CLASS_MASK = LAYOUT.u8("class_mask");
    private static final int PAD0 = LAYOUT.u8("pad0");
    private static final int PAD1 = LAYOUT.u32("pad1");
    private static final int PACKETS = LAYOUT.u64("packets");
    private static final int BYTES = LAYOUT.u64("bytes");
    private static final int FIRST_NS = LAYOUT.u64("first_ns");
    private static final int LAST_NS = LAYOUT.u64("last_ns");
    private static final int RTP = LAYOUT.nested("rtp", RtpStats.LAYOUT);

    public TrafficClass trafficClass() {
        return TrafficClass.of(classId);
    }

    public boolean fannedOut() {
        return (flags & F_FANOUT) != 0;
    }

    /** Age at monotonic time {@code nowNs}, in ms. */
    public long ageMs(long nowNs) {
        return Math.max(0, (nowNs - firstNs) / 1_000_000);
    }

    public long idleMs(long nowNs) {
        return Math.max(0, (nowNs - lastNs) / 1_000_000);
    }

    public static final Codec<Flow> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, Flow f) {
                    b.put(off + CLASS, (byte) f.classId);
                    b.put(off + FLAGS, (byte) f.flags);
                    b.put(off + CLASS_MASK, (byte) f.classMask);
                    b.put(off + PAD0, (byte) 0);
                    b.putInt(off + PAD1, 0);
                    b.putLong(off + PACKETS, f.packets);
                    b.putLong(off + BYTES, f.bytes);
                    b.putLong(off + FIRST_NS, f.firstNs);
                    b.putLong(off + LAST_NS, f.lastNs);
                    RtpStats.write(b, off + RTP, f.rtp == null ? RtpStats.EMPTY : f.rtp);
                }

                @Override
                public Flow read(ByteBuffer b, int off) {
                    return new Flow(
                            b.get(off + CLASS) & 0xff,
                            b.get(off + FLAGS) & 0xff,
                            b.get(off + CLASS_MASK) & 0xff,
                            b.getLong(off + PACKETS),
                            b.getLong(off + BYTES),
                            b.getLong(off + FIRST_NS),
                            b.getLong(off + LAST_NS),
                            RtpStats.read(b, off + RTP));
                }
            };
}
