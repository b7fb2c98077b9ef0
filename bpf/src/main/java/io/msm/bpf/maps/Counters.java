package io.msm.bpf.maps;

import java.nio.ByteBuffer;
import java.util.List;

/** struct msm_counters: global per-CPU counters; {@link #sum} adds the CPUs up. */
public record Counters(long[] classPackets, long[] classBytes, long[] stat) {
    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_counters", 320)
                    .member("class_packets", 0, 64)
                    .member("class_bytes", 64, 64)
                    .member("stat", 128, 8 * Stat.SLOTS)
                    .build();
    private static final int CLASS_PACKETS = LAYOUT.array("class_packets", 8, TrafficClass.SLOTS);
    private static final int CLASS_BYTES = LAYOUT.array("class_bytes", 8, TrafficClass.SLOTS);
    private static final int STAT = LAYOUT.array("stat", 8, Stat.SLOTS);

    public static Counters zero() {
        return new Counters(
                new long[TrafficClass.SLOTS], new long[TrafficClass.SLOTS], new long[Stat.SLOTS]);
    }

    public long packets(TrafficClass c) {
        return classPackets[c.id()];
    }

    public long bytes(TrafficClass c) {
        return classBytes[c.id()];
    }

    public long get(Stat s) {
        return stat[s.id()];
    }

    public static Counters sum(List<Counters> perCpu) {
        Counters t = zero();
        for (Counters c : perCpu) {
            for (int i = 0; i < TrafficClass.SLOTS; i++) {
                t.classPackets[i] += c.classPackets[i];
                t.classBytes[i] += c.classBytes[i];
            }
            for (int i = 0; i < Stat.SLOTS; i++) {
                t.stat[i] += c.stat[i];
            }
        }
        return t;
    }

    public static final Codec<Counters> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, Counters c) {
                    for (int i = 0; i < TrafficClass.SLOTS; i++) {
                        b.putLong(off + CLASS_PACKETS + i * 8, c.classPackets[i]);
                        b.putLong(off + CLASS_BYTES + i * 8, c.classBytes[i]);
                    }
                    for (int i = 0; i < Stat.SLOTS; i++) {
                        b.putLong(off + STAT + i * 8, c.stat[i]);
                    }
                }

                @Override
                public Counters read(ByteBuffer b, int off) {
                    Counters c = zero();
                    for (int i = 0; i < TrafficClass.SLOTS; i++) {
                        c.classPackets[i] = b.getLong(off + CLASS_PACKETS + i * 8);
                        c.classBytes[i] = b.getLong(off + CLASS_BYTES + i * 8);
                    }
                    for (int i = 0; i < Stat.SLOTS; i++) {
                        c.stat[i] = b.getLong(off + STAT + i * 8);
                    }
                    return c;
                }
            };
}
