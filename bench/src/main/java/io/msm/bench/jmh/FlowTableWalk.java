package io.msm.bench.jmh;

import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.maps.BpfMap;
import io.msm.bpf.maps.Flow;
import io.msm.bpf.maps.FlowKey;
import io.msm.bpf.maps.RtpStats;
import io.msm.bpf.maps.TrafficClass;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
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
 * What 'msm flows' pays before printing: BpfMap.forEach over a flow table of 100 000 flows (batched
 * lookups, decoding every key and value). Needs root (creates the maps).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class FlowTableWalk {
    @Param({"100000"})
    public int flows;

    private Datapath dp;
    private BpfMap<FlowKey, Flow> table;

    @Setup(Level.Trial)
    public void setUp() throws UnknownHostException {
        dp = Datapath.load(DatapathSpec.DEFAULT.withFlows(131072).withGroups(4));
        table = dp.flows();
        InetAddress dst = InetAddress.getByAddress(new byte[] {10, (byte) 200, 0, 1});
        for (int i = 0; i < flows; i++) {
            InetAddress src =
                    InetAddress.getByAddress(
                            new byte[] {10, (byte) (i >> 16), (byte) (i >> 8), (byte) i});
            RtpStats rtp =
                    new RtpStats(
                            0x1000 + i,
                            96,
                            0,
                            i & 0xffff,
                            65536,
                            1,
                            0,
                            70000,
                            3,
                            1234,
                            1440,
                            90000,
                            RtpStats.F_INIT);
            table.update(
                    FlowKey.udp(src, 5004, dst, 5004 + 2 * (i % 20000)),
                    new Flow(TrafficClass.RTP.id(), 0, 2, 1000 + i, 1_300_000L + i, 1, 2, rtp));
        }
        if (table.count() != flows) {
            throw new IllegalStateException(
                    "flow table holds " + table.count() + " of " + flows + " flows");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        dp.close();
    }

    @Benchmark
    public long forEach() {
        LongAdder packets = new LongAdder();
        table.forEach((k, v) -> packets.add(v.packets()));
        return packets.sum();
    }
}
