package io.msm.bench.jmh;

import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.maps.BpfMap;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.FanoutSub;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Changing a fan-out group (a viewer joins or leaves): encode the group with N subscribers into the
 * C struct, and write it with bpf_map_update_elem into a real msm_fanout_groups map. Needs root
 * (loads the datapath; nothing is attached).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class FanoutGroupUpdate {
    @Param({"1", "64", "1024"})
    public int subscribers;

    private Datapath dp;
    private BpfMap<FanoutKey, FanoutGroup> groups;
    private FanoutKey key;
    private FanoutGroup group;
    private ByteBuffer buf;

    static Inet4Address v4(int a, int b, int c, int d) {
        try {
            return (Inet4Address)
                    InetAddress.getByAddress(new byte[] {(byte) a, (byte) b, (byte) c, (byte) d});
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        dp = Datapath.load(DatapathSpec.DEFAULT.withFlows(1024).withGroups(4).withSubIds(2048));
        groups = dp.fanoutGroups();
        key = new FanoutKey(v4(10, 200, 0, 1), 5004);
        List<FanoutSub> subs = new ArrayList<>();
        for (int i = 0; i < subscribers; i++) {
            subs.add(
                    new FanoutSub(
                            2 + i % 8,
                            i,
                            new byte[] {2, 0, 0, 0, (byte) (i >> 8), (byte) i},
                            new byte[] {2, 0, 0, 1, 0, 1},
                            v4(10, 200, 0, 1),
                            v4(10, 201, i >> 8, i & 255),
                            5004,
                            6000 + i,
                            0));
        }
        group = new FanoutGroup(1, FanoutGroup.F_STRICT, v4(10, 100, 0, 2), 0, subs);
        buf = ByteBuffer.allocateDirect(FanoutGroup.CODEC.size()).order(ByteOrder.nativeOrder());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        dp.close();
    }

    /** The Java side only: the whole struct (36 kB for up to 1024 slots) written into a buffer. */
    @Benchmark
    public ByteBuffer encode() {
        FanoutGroup.CODEC.write(buf, 0, group);
        return buf;
    }

    /**
     * Encode plus the syscall that replaces the group in the kernel (what the agent does per
     * change).
     */
    @Benchmark
    public void update() {
        groups.update(key, group);
    }
}
