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
            StructLayout.of(
                    "msm_flow",
                    88,
                    "class",
                    0,
                    "flags",
                    1,
                    "class_mask",
                    2,
                    "pad0",
                    3,
                    "pad1",
                    4,
                    "packets",
                    8,
                    "bytes",
                    16,
                    "first_ns",
                    24,
                    "last_ns",
                    32,
                    "rtp",
                    40);

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
                    b.put(off, (byte) f.classId);
                    b.put(off + 1, (byte) f.flags);
                    b.put(off + 2, (byte) f.classMask);
                    b.put(off + 3, (byte) 0);
                    b.putInt(off + 4, 0);
                    b.putLong(off + 8, f.packets);
                    b.putLong(off + 16, f.bytes);
                    b.putLong(off + 24, f.firstNs);
                    b.putLong(off + 32, f.lastNs);
                    RtpStats.write(b, off + 40, f.rtp == null ? RtpStats.EMPTY : f.rtp);
                }

                @Override
                public Flow read(ByteBuffer b, int off) {
                    return new Flow(
                            b.get(off) & 0xff,
                            b.get(off + 1) & 0xff,
                            b.get(off + 2) & 0xff,
                            b.getLong(off + 8),
                            b.getLong(off + 16),
                            b.getLong(off + 24),
                            b.getLong(off + 32),
                            RtpStats.read(b, off + 40));
                }
            };
}
