package io.msm.bench.classifier;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.msm.bench.report.Csv;
import io.msm.bpf.BpfObject;
import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.maps.AllowKey;
import io.msm.bpf.maps.BpfMap;
import io.msm.bpf.maps.Codec;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.FanoutSub;
import io.msm.bpf.maps.IdentityKey;
import io.msm.bpf.maps.PortTable;
import io.msm.bpf.maps.SourceIdentity;
import io.msm.bpf.maps.Stat;
import io.msm.bpf.maps.StructLayout;
import io.msm.bpf.testrun.ProgTestRun;
import io.msm.testkit.Names;
import io.msm.testkit.Netns;
import io.msm.testkit.Packets;
import io.msm.testkit.Testkit;
import io.msm.testkit.Veth;
import java.net.Inet4Address;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The TC classifier alone: nanoseconds per packet for each traffic class, through BPF_PROG_TEST_RUN
 * with {@code repeat} (the kernel times the program over the repeats; no device, no stack). Then
 * the same RTP packet hitting a fan-out group of N subscribers (timed one run at a time), whose
 * copies leave through a veth whose peer is down (each copy: rewrite, clone, transmit, TX drop),
 * which gives the loop's cost per copy without any receiver; and next to it the floor under any
 * clone-per-copy design (msm_clone_floor).
 *
 * <pre>ClassifierCost --out DIR [--repeat R] [--fanout 1,8,64] [--fanout-only]</pre>
 *
 * writes DIR/classifier.csv.
 */
public final class ClassifierCost {
    /** struct msm_clone_floor_cfg of msm_testkit.bpf.o (checked by BenchLayoutMatchesBtfTest). */
    public static final StructLayout CLONE_FLOOR_CFG =
            StructLayout.struct("msm_clone_floor_cfg", 16)
                    .u32("copies", 0)
                    .u32("ifindex", 4)
                    .u32("mode", 8)
                    .u32("l4_off", 12)
                    .build();

    private static final int CFG_COPIES = CLONE_FLOOR_CFG.u32("copies");
    private static final int CFG_IFINDEX = CLONE_FLOOR_CFG.u32("ifindex");
    private static final int CFG_MODE = CLONE_FLOOR_CFG.u32("mode");
    private static final int CFG_L4_OFF = CLONE_FLOOR_CFG.u32("l4_off");

    private ClassifierCost() {}

    record Case(String name, byte[] packet, int subscribers) {}

    static Packets.Builder udp4(int sport, int dport) {
        return Packets.builder().ip("10.1.0.1", "10.2.0.2").udp(sport, dport);
    }

    static List<Case> classes() {
        byte[] rtp = Packets.rtp(1, 0, 0x6d736d62, 96, false, 1188);
        return List.of(
                new Case("rtp (1200 B)", udp4(5004, 6004).payload(rtp).build(), 0),
                new Case(
                        "rtp over ipv6",
                        Packets.builder()
                                .ip("2001:db8::1", "2001:db8::2")
                                .udp(5004, 6004)
                                .payload(rtp)
                                .build(),
                        0),
                new Case(
                        "rtcp sr",
                        udp4(5005, 6005).payload(Packets.rtcpSenderReport(7)).build(),
                        0),
                new Case(
                        "stun", udp4(3478, 40000).payload(Packets.stunBindingRequest()).build(), 0),
                new Case("dtls", udp4(40000, 40001).payload(Packets.dtlsHandshake()).build(), 0),
                new Case("game (port range)", udp4(40000, 27016).payload(new byte[200]).build(), 0),
                new Case(
                        "game (raknet ping)",
                        udp4(40000, 19132).payload(Packets.raknetUnconnectedPing()).build(),
                        0),
                new Case(
                        "rtsp (tcp 8554)",
                        Packets.builder()
                                .ip("10.1.0.1", "10.2.0.2")
                                .tcp(40000, 8554)
                                .payload(
                                        "DESCRIBE rtsp://cam/1 RTSP/1.0\r\nCSeq: 2\r\n\r\n"
                                                .getBytes(UTF_8))
                                .build(),
                        0),
                new Case(
                        "sip (udp 5060)",
                        udp4(5060, 5060)
                                .payload("INVITE sip:a@b SIP/2.0\r\n".getBytes(UTF_8))
                                .build(),
                        0),
                new Case(
                        "other udp",
                        udp4(40000, 40002).payload(new byte[] {64, 1, 2, 3, 4, 5, 6, 7}).build(),
                        0),
                new Case(
                        "not ip (arp)",
                        Packets.builder()
                                .etherType(Packets.ETH_P_ARP)
                                .payload(new byte[28])
                                .build(),
                        0));
    }

    public static void main(String[] argv) throws Exception {
        List<String> args = Arrays.asList(argv);
        Path out = Path.of(value(args, "--out", "bench/results"));
        int repeat = Integer.parseInt(value(args, "--repeat", "100000"));
        List<Integer> fanout =
                Arrays.stream(value(args, "--fanout", "1,8,64,256,1024").split(","))
                        .map(String::trim)
                        .map(Integer::parseInt)
                        .toList();
        Files.createDirectories(out);
        List<List<String>> rows = run(repeat, fanout, !args.contains("--fanout-only"));
        Csv.write(
                out.resolve("classifier.csv"),
                List.of(
                        "case",
                        "packet_bytes",
                        "subscribers",
                        "verdict",
                        "repeat",
                        "ns_per_packet",
                        "ns_per_copy",
                        "ns_min",
                        "ns_max"),
                rows);
        System.out.printf(
                "%-22s %6s %5s %7s %10s %10s%n",
                "case", "bytes", "subs", "verdict", "ns/packet", "ns/copy");
        for (List<String> r : rows) {
            System.out.printf(
                    "%-22s %6s %5s %7s %10s %10s%n",
                    r.get(0), r.get(1), r.get(2), r.get(3), r.get(5), r.get(6));
        }
    }

    static String value(List<String> args, String name, String fallback) {
        int i = args.indexOf(name);
        return i >= 0 && i + 1 < args.size() ? args.get(i + 1) : fallback;
    }

    static List<List<String>> run(int repeat, List<Integer> fanout, boolean classes) {
        List<List<String>> rows = new ArrayList<>();
        try (Netns ns = Netns.create(Names.runId() + "-cls");
                Datapath dp =
                        Datapath.load(
                                DatapathSpec.DEFAULT
                                        .withFlows(4096)
                                        .withGroups(8)
                                        .withSubIds(2048))) {
            Veth v = Veth.create(ns, "fa0", null, ns, "fb0", null);
            ns.ip("link", "set", "fb0", "down"); // copies become TX drops on fa0
            int ifindex = v.ifindexA();
            dp.configure(
                    DatapathConfig.defaults(),
                    PortTable.build(
                            PortTable.DEFAULT_CONTROL_TCP,
                            PortTable.DEFAULT_CONTROL_UDP,
                            List.of(new PortTable.Range(27015, 27030))));
            int fd = dp.progFd(Datapath.PROG_TC);
            for (Case c : classes ? classes() : List.<Case>of()) {
                rows.add(measure(ns, fd, c, repeat));
            }
            Inet4Address up = (Inet4Address) Packets.addr("10.2.0.9");
            FanoutKey key = new FanoutKey(up, 5004);
            byte[] pkt =
                    Packets.builder()
                            .ip("10.1.0.1", "10.2.0.9")
                            .udp(40000, 5004)
                            .payload(Packets.rtp(1, 0, 0x6d736d62, 96, false, 1188))
                            .build();
            for (int n : fanout) {
                List<FanoutSub> subs = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    subs.add(
                            new FanoutSub(
                                    ifindex,
                                    i,
                                    new byte[] {2, 0, 0, 0, (byte) (i >> 8), (byte) i},
                                    new byte[] {2, 0, 0, 1, 0, 1},
                                    up,
                                    (Inet4Address)
                                            Packets.addr("10.9." + (i >> 8) + "." + (i & 255)),
                                    5004,
                                    6000,
                                    0));
                }
                dp.fanoutGroups().update(key, new FanoutGroup(1, 0, null, 0, subs));
                rows.addAll(floor(ns, ifindex, pkt, n, Math.max(20, Math.min(200, repeat / 500))));
                // the copies' work scales with N: keep each measurement around the same length
                // a clone into a veth whose peer is down is dropped there and counted as a fan-out
                // error;
                // either way the copy was made and transmitted
                long copiesBefore =
                        dp.totals().get(Stat.FANOUT_COPIES) + dp.totals().get(Stat.FANOUT_ERRORS);
                int runs = Math.max(20, Math.min(200, repeat / 500));
                rows.add(measureSingle(ns, fd, new Case("rtp fan-out", pkt, n), runs));
                long copies =
                        dp.totals().get(Stat.FANOUT_COPIES)
                                + dp.totals().get(Stat.FANOUT_ERRORS)
                                - copiesBefore;
                if (copies < (long) n * runs) {
                    throw new IllegalStateException(
                            "fan-out to "
                                    + n
                                    + " made "
                                    + copies
                                    + " copies in "
                                    + runs
                                    + " runs: the group did not match");
                }
            }
            rows.addAll(identityCost(ns, dp, fd, up, key, pkt, ifindex, repeat));
        }
        return rows;
    }

    /**
     * What the identity check adds per packet, timed by the kernel over {@code repeat} runs: a
     * one-subscriber group flagged LOCAL (the copy is cloned and the original restored, so every
     * repetition sees the same packet) without and with F_IDENTITY (sender's identity admitted:
     * both lookups hit, the copy is made), and the refusal itself (a sender the group does not
     * admit: dropped before any copy, next to a strict-source drop).
     */
    static List<List<String>> identityCost(
            Netns ns,
            Datapath dp,
            int fd,
            Inet4Address up,
            FanoutKey key,
            byte[] pkt,
            int ifindex,
            int repeat) {
        List<List<String>> rows = new ArrayList<>();
        FanoutSub one =
                new FanoutSub(
                        ifindex,
                        0,
                        new byte[] {2, 0, 0, 0, 0, 1},
                        new byte[] {2, 0, 0, 1, 0, 1},
                        up,
                        (Inet4Address) Packets.addr("10.9.0.1"),
                        5004,
                        6000,
                        0);
        Inet4Address sender = (Inet4Address) Packets.addr("10.1.0.1");
        dp.identities().update(new IdentityKey(sender), new SourceIdentity(7));
        dp.groupAllow().update(new AllowKey(2, 7), 1);
        int local = FanoutGroup.F_LOCAL;
        dp.fanoutGroups().update(key, new FanoutGroup(2, local, null, 0, List.of(one)));
        rows.add(measure(ns, fd, new Case("fan-out 1, local", pkt, 1), repeat));
        dp.fanoutGroups()
                .update(
                        key,
                        new FanoutGroup(2, local | FanoutGroup.F_IDENTITY, null, 0, List.of(one)));
        rows.add(measure(ns, fd, new Case("fan-out 1, local + identity", pkt, 1), repeat));
        Inet4Address other = (Inet4Address) Packets.addr("10.7.7.7");
        dp.fanoutGroups()
                .update(key, new FanoutGroup(2, FanoutGroup.F_STRICT, other, 0, List.of(one)));
        rows.add(measure(ns, fd, new Case("strict-source drop", pkt, 0), repeat));
        dp.identities().update(new IdentityKey(sender), new SourceIdentity(8));
        dp.fanoutGroups()
                .update(key, new FanoutGroup(2, FanoutGroup.F_IDENTITY, null, 0, List.of(one)));
        rows.add(measure(ns, fd, new Case("identity-denied drop", pkt, 0), repeat));
        return rows;
    }

    /**
     * The floor under any clone-per-copy fan-out, same packet, same veth: msm_clone_floor
     * (msm_testkit.bpf.o) clones N times untouched, then N times with one 2-byte rewrite before
     * each clone (which makes the kernel copy the packet's head, as every per-copy rewrite must).
     * msm's cost per copy minus these is what msm's own code costs.
     */
    static List<List<String>> floor(Netns ns, int ifindex, byte[] pkt, int n, int runs) {
        List<List<String>> rows = new ArrayList<>();
        try (BpfObject kit = BpfObject.load("msm_testkit", BpfObject.resource(Testkit.RESOURCE));
                BpfMap<Integer, int[]> cfg =
                        new BpfMap<>(
                                kit.mapFd("msm_clone_floor_cfg"),
                                false,
                                Codec.U32,
                                new Codec<>() {
                                    @Override
                                    public int size() {
                                        return CLONE_FLOOR_CFG.size();
                                    }

                                    @Override
                                    public void write(ByteBuffer b, int off, int[] v) {
                                        b.putInt(off + CFG_COPIES, v[0]);
                                        b.putInt(off + CFG_IFINDEX, v[1]);
                                        b.putInt(off + CFG_MODE, v[2]);
                                        b.putInt(off + CFG_L4_OFF, v[3]);
                                    }

                                    @Override
                                    public int[] read(ByteBuffer b, int off) {
                                        return new int[] {
                                            b.getInt(off + CFG_COPIES),
                                            b.getInt(off + CFG_IFINDEX),
                                            b.getInt(off + CFG_MODE),
                                            b.getInt(off + CFG_L4_OFF)
                                        };
                                    }
                                })) {
            int fd = kit.progFd("msm_clone_floor");
            String[] names = {"floor: clone only", "floor: 2-byte rewrite + clone"};
            for (int mode = 0; mode < 2; mode++) {
                cfg.update(0, new int[] {n, ifindex, mode, 34});
                rows.add(measureSingle(ns, fd, new Case(names[mode], pkt, n), runs));
            }
        }
        return rows;
    }

    /**
     * Median of single runs: BPF_PROG_TEST_RUN's repeat does not restore the packet between
     * repetitions, and fan-out rewrites it (repetition 2 would see the last subscriber's address
     * and pass), so each run is one syscall with repeat 1.
     */
    static List<String> measureSingle(Netns ns, int fd, Case c, int runs) {
        return ns.call(
                () -> {
                    long[] t = new long[runs];
                    int verdict = 0;
                    for (int i = 0; i < runs; i++) {
                        ProgTestRun.Result r = ProgTestRun.run(fd, c.packet(), 1);
                        t[i] = r.durationNs();
                        verdict = r.retval();
                    }
                    Arrays.sort(t);
                    long median = t[runs / 2];
                    return List.of(
                            c.name(),
                            Integer.toString(c.packet().length),
                            Integer.toString(c.subscribers()),
                            verdictName(verdict),
                            "1 x " + runs,
                            Long.toString(median),
                            String.format(Locale.ROOT, "%.0f", (double) median / c.subscribers()),
                            Long.toString(t[0]),
                            Long.toString(t[runs - 1]));
                });
    }

    /** Median of five timed runs of `repeat` repetitions (after a warm-up run). */
    static List<String> measure(Netns ns, int fd, Case c, int repeat) {
        return ns.call(
                () -> {
                    ProgTestRun.run(fd, c.packet(), Math.max(1, repeat / 10));
                    long[] ns5 = new long[5];
                    int verdict = 0;
                    for (int i = 0; i < ns5.length; i++) {
                        ProgTestRun.Result r = ProgTestRun.run(fd, c.packet(), repeat);
                        ns5[i] = r.durationNs();
                        verdict = r.retval();
                    }
                    Arrays.sort(ns5);
                    double perCopy =
                            c.subscribers() > 0 ? (double) ns5[2] / c.subscribers() : Double.NaN;
                    return List.of(
                            c.name(),
                            Integer.toString(c.packet().length),
                            Integer.toString(c.subscribers()),
                            verdictName(verdict),
                            Integer.toString(repeat),
                            Long.toString(ns5[2]),
                            Double.isNaN(perCopy)
                                    ? ""
                                    : String.format(Locale.ROOT, "%.0f", perCopy),
                            Long.toString(ns5[0]),
                            Long.toString(ns5[4]));
                });
    }

    static String verdictName(int v) {
        return switch (v) {
            case 0 -> "ok";
            case 2 -> "shot";
            case 7 -> "redirect";
            default -> Integer.toString(v);
        };
    }
}
