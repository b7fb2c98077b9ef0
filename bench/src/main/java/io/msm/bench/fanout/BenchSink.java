package io.msm.bench.fanout;

import io.msm.bpf.BpfObject;
import io.msm.bpf.attach.TcIngress;
import io.msm.bpf.maps.BpfMap;
import io.msm.bpf.maps.Codec;
import io.msm.bpf.maps.StructLayout;
import io.msm.bpf.testrun.ProgTestRun;
import io.msm.testkit.Netns;
import io.msm.testkit.Testkit;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The receivers: msm_bench_sink (msm_testkit.bpf.o) on the TC ingress of every receiver veth. It
 * counts each benchmark copy per receiver, follows the RTP sequence (late = reordered, duplicates),
 * histograms the one-way latency from the send time in the payload, and the spread between the
 * first and the last copy of each upstream packet; then drops the copy. Counters only grow: a trial
 * is the difference of two {@link Snapshot}s.
 */
public final class BenchSink implements AutoCloseable {
    static final String PROG = "msm_bench_sink";

    /** struct msm_bench_cfg (this and the other layouts: checked by BenchLayoutMatchesBtfTest) */
    static final StructLayout CFG =
            StructLayout.struct("msm_bench_cfg", 8).u32("copies", 0).pad("pad", 4, 4).build();

    private static final int CFG_COPIES = CFG.u32("copies");
    private static final int CFG_PAD = CFG.u32("pad");

    /** struct msm_bench_hist */
    static final StructLayout HIST_LAYOUT =
            StructLayout.struct("msm_bench_hist", 2 * Histogram.BUCKETS * 8)
                    .member("latency", 0, Histogram.BUCKETS * 8)
                    .member("spread", Histogram.BUCKETS * 8, Histogram.BUCKETS * 8)
                    .build();

    private static final int HIST_LATENCY = HIST_LAYOUT.array("latency", 8, Histogram.BUCKETS);
    private static final int HIST_SPREAD = HIST_LAYOUT.array("spread", 8, Histogram.BUCKETS);

    private final BpfObject obj;

    private BenchSink(BpfObject obj) {
        this.obj = obj;
    }

    public static BenchSink load() {
        return new BenchSink(BpfObject.load("msm_testkit", BpfObject.resource(Testkit.RESOURCE)));
    }

    /** Attach to each interface's TC ingress in ns. */
    public void attach(Netns ns, List<String> ifnames) {
        int fd = obj.progFd(PROG);
        ns.run(
                () -> {
                    for (String i : ifnames) {
                        TcIngress.attach(ns.ifindex(i), fd, Testkit.HANDLE, Testkit.PRIORITY, true);
                    }
                });
    }

    public void detach(Netns ns, List<String> ifnames) {
        ns.run(
                () -> {
                    for (String i : ifnames) {
                        TcIngress.detach(ns.ifindex(i), Testkit.HANDLE, Testkit.PRIORITY);
                    }
                });
    }

    /** Run the sink once on a packet (BPF_PROG_TEST_RUN); returns its verdict. For tests. */
    int testRun(byte[] packet) {
        return ProgTestRun.run(obj.progFd(PROG), packet).retval();
    }

    /** Copies expected per upstream packet (N): the spread is recorded when the N-th arrives. */
    public void expectCopies(int n) {
        try (BpfMap<Integer, Integer> cfg =
                new BpfMap<>(
                        obj.mapFd("msm_bench_cfg"),
                        false,
                        Codec.U32,
                        new Codec<>() {
                            @Override
                            public int size() {
                                return CFG.size();
                            }

                            @Override
                            public void write(ByteBuffer b, int off, Integer v) {
                                b.putInt(off + CFG_COPIES, v);
                                b.putInt(off + CFG_PAD, 0);
                            }

                            @Override
                            public Integer read(ByteBuffer b, int off) {
                                return b.getInt(off + CFG_COPIES);
                            }
                        })) {
            cfg.update(0, n);
        }
    }

    /** One receiver's counters (struct msm_bench_rx). */
    record Rx(long packets, long late, long duplicates) {
        static final StructLayout LAYOUT =
                StructLayout.struct("msm_bench_rx", 48)
                        .u64("packets", 0)
                        .u64("bytes", 8)
                        .u64("late", 16)
                        .u64("duplicates", 24)
                        .u32("max_seq", 32)
                        .u32("started", 36)
                        .u64("last_sent_ns", 40)
                        .build();
        private static final int PACKETS = LAYOUT.u64("packets");
        private static final int LATE = LAYOUT.u64("late");
        private static final int DUPLICATES = LAYOUT.u64("duplicates");

        static final Codec<Rx> CODEC =
                new Codec<>() {
                    @Override
                    public int size() {
                        return LAYOUT.size();
                    }

                    @Override
                    public void write(ByteBuffer b, int off, Rx v) {
                        throw new UnsupportedOperationException("read-only");
                    }

                    @Override
                    public Rx read(ByteBuffer b, int off) {
                        return new Rx(
                                b.getLong(off + PACKETS),
                                b.getLong(off + LATE),
                                b.getLong(off + DUPLICATES));
                    }
                };
    }

    /** The sink's counters at one moment, keyed by receiver (see {@link Topology#receiverKey}). */
    public record Snapshot(Map<Integer, Rx> rx, Histogram latency, Histogram spread) {
        /** Copies, late and duplicate copies received by receivers 0..n-1 since before. */
        public long[] deltas(Snapshot before, int n) {
            long packets = 0;
            long late = 0;
            long dups = 0;
            for (int i = 0; i < n; i++) {
                int k = Topology.receiverKey(i);
                Rx a = rx.get(k);
                if (a == null) {
                    continue;
                }
                Rx b = before.rx.getOrDefault(k, new Rx(0, 0, 0));
                packets += a.packets - b.packets;
                late += a.late - b.late;
                dups += a.duplicates - b.duplicates;
            }
            return new long[] {packets, late, dups};
        }

        /** Copies per receiver 0..n-1 since before (min and max show a starved receiver). */
        public long[] perReceiver(Snapshot before, int n) {
            long[] out = new long[n];
            for (int i = 0; i < n; i++) {
                int k = Topology.receiverKey(i);
                long a = rx.containsKey(k) ? rx.get(k).packets : 0;
                long b = before.rx.containsKey(k) ? before.rx.get(k).packets : 0;
                out[i] = a - b;
            }
            return out;
        }
    }

    private static final Codec<long[][]> HIST =
            new Codec<>() {
                @Override
                public int size() {
                    return HIST_LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, long[][] v) {
                    throw new UnsupportedOperationException("read-only");
                }

                @Override
                public long[][] read(ByteBuffer b, int off) {
                    long[][] h = new long[2][Histogram.BUCKETS];
                    int[] base = {HIST_LATENCY, HIST_SPREAD};
                    for (int k = 0; k < 2; k++) {
                        for (int i = 0; i < Histogram.BUCKETS; i++) {
                            h[k][i] = b.getLong(off + base[k] + i * 8);
                        }
                    }
                    return h;
                }
            };

    public Snapshot snapshot() {
        Map<Integer, Rx> rx = new HashMap<>();
        try (BpfMap<Integer, Rx> m =
                new BpfMap<>(obj.mapFd("msm_bench_rx"), false, Codec.U32, Rx.CODEC)) {
            m.forEach(rx::put);
        }
        long[] lat = new long[Histogram.BUCKETS];
        long[] spread = new long[Histogram.BUCKETS];
        try (BpfMap<Integer, long[][]> m =
                new BpfMap<>(obj.mapFd("msm_bench_hist"), false, Codec.U32, HIST)) {
            for (long[][] cpu : m.lookupPerCpu(0).orElse(List.of())) {
                for (int i = 0; i < Histogram.BUCKETS; i++) {
                    lat[i] += cpu[0][i];
                    spread[i] += cpu[1][i];
                }
            }
        }
        return new Snapshot(rx, new Histogram(lat), new Histogram(spread));
    }

    @Override
    public void close() {
        obj.close();
    }
}
