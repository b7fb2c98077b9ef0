package io.msm.testkit;

import io.msm.bpf.BpfObject;
import io.msm.bpf.attach.TcIngress;
import io.msm.bpf.maps.BpfMap;
import io.msm.bpf.maps.Codec;
import io.msm.bpf.maps.StructLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The test instruments of msm_testkit.bpf.o: a capture program that records each packet (up to 2048
 * bytes) into a queue, and a sink that counts and drops (the cheapest receiver). Attach them where
 * copies arrive.
 */
public final class Testkit implements AutoCloseable {
    public static final String RESOURCE = "/io/msm/bpf/msm_testkit.bpf.o";
    public static final String PROG_CAPTURE = "msm_capture";
    public static final String PROG_CAPTURE_PASS = "msm_capture_pass";
    public static final String PROG_SINK = "msm_sink";

    /** Handle/priority of testkit filters (distinct from msm's). */
    public static final int HANDLE = 0x7e57;

    public static final int PRIORITY = 5;

    /**
     * MSM_CAPTURE_BYTES: how much of each packet is captured (a whole 1500-byte frame and more).
     */
    public static final int CAPTURE_BYTES = 2048;

    private final BpfObject obj;

    private Testkit(BpfObject obj) {
        this.obj = obj;
    }

    public static Testkit load() {
        return new Testkit(BpfObject.load("msm_testkit", BpfObject.resource(RESOURCE)));
    }

    /** A captured packet: its length, the interface it arrived on, and its first bytes. */
    public record Captured(int len, int ifindex, byte[] data) {
        public Frame frame() {
            return Frame.parse(data);
        }
    }

    /** struct msm_capture_rec (checked against the object's BTF by TestkitLayoutMatchesBtfTest). */
    static final StructLayout CAPTURE_REC =
            StructLayout.struct("msm_capture_rec", 16 + CAPTURE_BYTES)
                    .u32("len", 0)
                    .u32("ifindex", 4)
                    .u32("caplen", 8)
                    .pad("pad", 12, 4)
                    .member("data", 16, CAPTURE_BYTES)
                    .build();

    private static final int LEN = CAPTURE_REC.u32("len");
    private static final int IFINDEX = CAPTURE_REC.u32("ifindex");
    private static final int CAPLEN = CAPTURE_REC.u32("caplen");
    private static final int DATA = CAPTURE_REC.bytes("data", CAPTURE_BYTES);

    /** struct msm_sink_stats */
    static final StructLayout SINK_STATS =
            StructLayout.struct("msm_sink_stats", 16).u64("packets", 0).u64("bytes", 8).build();

    private static final int SINK_PACKETS = SINK_STATS.u64("packets");
    private static final int SINK_BYTES = SINK_STATS.u64("bytes");

    private static final Codec<Captured> CAPTURED =
            new Codec<>() {
                @Override
                public int size() {
                    return CAPTURE_REC.size();
                }

                @Override
                public void write(ByteBuffer b, int off, Captured c) {
                    throw new UnsupportedOperationException();
                }

                @Override
                public Captured read(ByteBuffer b, int off) {
                    int caplen = Math.min(b.getInt(off + CAPLEN), CAPTURE_BYTES);
                    byte[] d = new byte[caplen];
                    for (int i = 0; i < caplen; i++) {
                        d[i] = b.get(off + DATA + i);
                    }
                    return new Captured(b.getInt(off + LEN), b.getInt(off + IFINDEX), d);
                }
            };

    /** Attach a program to ifindex's TC ingress (call from inside the device's namespace). */
    public void attach(int ifindex, String prog) {
        TcIngress.attach(ifindex, obj.progFd(prog), HANDLE, PRIORITY, false);
    }

    /** Attach in a namespace. */
    public void attach(Netns ns, String ifname, String prog) {
        ns.run(() -> attach(ns.ifindex(ifname), prog));
    }

    /** Everything captured so far, oldest first. */
    public List<Captured> drain() {
        List<Captured> out = new ArrayList<>();
        try (BpfMap<Integer, Captured> q =
                new BpfMap<>(
                        obj.mapFd("msm_capture_q"),
                        false,
                        new Codec<>() {
                            @Override
                            public int size() {
                                return 0;
                            }

                            @Override
                            public void write(ByteBuffer b, int off, Integer v) {}

                            @Override
                            public Integer read(ByteBuffer b, int off) {
                                return 0;
                            }
                        },
                        CAPTURED)) {
            while (true) {
                var c = q.pop();
                if (c.isEmpty()) {
                    return out;
                }
                out.add(c.get());
            }
        }
    }

    /** Wait until at least n packets are captured (up to timeoutMs), then drain. */
    public List<Captured> await(int n, long timeoutMs) throws InterruptedException {
        List<Captured> got = new ArrayList<>();
        long end = System.nanoTime() + timeoutMs * 1_000_000;
        while (got.size() < n && System.nanoTime() < end) {
            got.addAll(drain());
            if (got.size() < n) {
                Thread.sleep(5);
            }
        }
        got.addAll(drain());
        return got;
    }

    /** Packets and bytes the sink counted (all CPUs). */
    public long[] sinkCounts() {
        try (BpfMap<Integer, long[]> m =
                new BpfMap<>(
                        obj.mapFd("msm_sink_stats"),
                        false,
                        Codec.U32,
                        new Codec<>() {
                            @Override
                            public int size() {
                                return SINK_STATS.size();
                            }

                            @Override
                            public void write(ByteBuffer b, int off, long[] v) {
                                b.putLong(off + SINK_PACKETS, v[0]);
                                b.putLong(off + SINK_BYTES, v[1]);
                            }

                            @Override
                            public long[] read(ByteBuffer b, int off) {
                                return new long[] {
                                    b.getLong(off + SINK_PACKETS), b.getLong(off + SINK_BYTES)
                                };
                            }
                        })) {
            long[] t = new long[2];
            for (long[] c : m.lookupPerCpu(0).orElse(List.of())) {
                t[0] += c[0];
                t[1] += c[1];
            }
            return t;
        }
    }

    @Override
    public void close() {
        obj.close();
    }

    public static String hex(byte[] b) {
        return Arrays.toString(b);
    }
}
