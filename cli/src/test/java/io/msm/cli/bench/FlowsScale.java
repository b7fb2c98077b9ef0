package io.msm.cli.bench;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.msm.bpf.Bpffs;
import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.maps.BpfMap;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.FanoutSub;
import io.msm.bpf.maps.Flow;
import io.msm.bpf.maps.FlowKey;
import io.msm.bpf.maps.RtpStats;
import io.msm.bpf.maps.TrafficClass;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Scale check of 'msm flows --json' (not a unit test: needs root). Loads a datapath with a
 * 131072-entry flow table, pins it to a private bpffs directory, writes N flows straight into the
 * map, then times {@code bin/msm --bpffs DIR flows --json > /dev/null} under /usr/bin/time -v and
 * prints wall time and max RSS of each run. The pins are removed at the end.
 *
 * <pre>
 *   bench/cli/flows-scale.sh [flows] [runs]      (defaults: 100000 flows, 5 runs)
 * </pre>
 */
public final class FlowsScale {
    private FlowsScale() {}

    public static void main(String[] args) throws Exception {
        int flows = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        Path msm = Path.of(args.length > 2 ? args[2] : "bin/msm").toAbsolutePath();
        Path dir = Path.of(Bpffs.DEFAULT_ROOT, "msmbench-" + ProcessHandle.current().pid());
        try (Datapath dp = Datapath.load(DatapathSpec.DEFAULT.withFlows(131_072))) {
            dp.pin(dir);
            dp.writeMeta(System.nanoTime());
            long t0 = System.nanoTime();
            fill(dp, flows);
            System.out.printf(
                    Locale.ROOT,
                    "filled %d flows in %.2f s; timing: /usr/bin/time -v %s --bpffs %s flows "
                            + "--json > /dev/null%n",
                    flows,
                    (System.nanoTime() - t0) / 1e9,
                    msm,
                    dir);
            List<double[]> results = new ArrayList<>();
            for (int i = 0; i < runs; i++) {
                double[] r = time(msm, dir);
                results.add(r);
                System.out.printf(
                        Locale.ROOT,
                        "run %d: wall %.3f s, cpu %.2f s, max RSS %.1f MB, exit %d%n",
                        i + 1,
                        r[0],
                        r[2],
                        r[1] / 1024,
                        (int) r[3]);
                if (r[3] != 0) {
                    throw new IllegalStateException("msm failed (exit " + (int) r[3] + ")");
                }
            }
            double best = results.stream().mapToDouble(r -> r[0]).min().orElse(0);
            double median =
                    results.stream()
                            .mapToDouble(r -> r[0])
                            .sorted()
                            .skip(runs / 2)
                            .findFirst()
                            .orElse(0);
            double rss = results.stream().mapToDouble(r -> r[1]).max().orElse(0);
            System.out.printf(
                    Locale.ROOT,
                    "%d flows: wall best %.3f s, median %.3f s; max RSS %.1f MB%n",
                    flows,
                    best,
                    median,
                    rss / 1024);
        } finally {
            Bpffs.removeTree(dir);
        }
    }

    /** RTP over IPv4 mostly, some IPv6, TCP and STUN; one fan-out group fed by one of the flows. */
    static void fill(Datapath dp, int n) throws IOException {
        BpfMap<FlowKey, Flow> map = dp.flows();
        long now = System.nanoTime();
        byte[] a4 = new byte[4];
        byte[] a6 = new byte[16];
        a6[0] = 0x20;
        a6[1] = 0x01;
        a6[2] = 0x0d;
        a6[3] = (byte) 0xb8;
        for (int i = 0; i < n; i++) {
            int kind = i % 10;
            FlowKey k;
            if (kind == 9) {
                a6[14] = (byte) (i >> 8);
                a6[15] = (byte) i;
                k =
                        FlowKey.udp(
                                InetAddress.getByAddress(a6.clone()),
                                5004,
                                InetAddress.getByAddress(a6.clone()),
                                6000 + (i % 1000));
            } else {
                a4[0] = 10;
                a4[1] = (byte) (i >> 16);
                a4[2] = (byte) (i >> 8);
                a4[3] = (byte) i;
                InetAddress src = InetAddress.getByAddress(a4.clone());
                InetAddress dst = InetAddress.getByAddress(new byte[] {10, (byte) 200, 0, 1});
                k =
                        kind == 8
                                ? FlowKey.tcp(src, 40000 + (i % 20000), dst, 554)
                                : FlowKey.udp(src, 5004, dst, 5004 + 2 * (i % 20000));
            }
            TrafficClass c =
                    kind == 9 || kind < 7
                            ? TrafficClass.RTP
                            : kind == 8 ? TrafficClass.CONTROL : TrafficClass.STUN;
            RtpStats rtp =
                    c == TrafficClass.RTP
                            ? new RtpStats(
                                    0x1000 + i,
                                    96,
                                    0,
                                    i & 0xffff,
                                    65536,
                                    1,
                                    0,
                                    (i & 0xffff) + 65536 - (i % 7),
                                    0,
                                    1234,
                                    16 * 90 * ((long) (i % 50)),
                                    90000,
                                    RtpStats.F_INIT)
                            : RtpStats.EMPTY;
            map.update(
                    k,
                    new Flow(
                            c.id(),
                            0,
                            1 << c.id(),
                            1000 + i,
                            200_000L + 1300L * i,
                            now - 60_000_000_000L,
                            now - (i % 1000) * 1_000_000L,
                            rtp));
        }
        byte[] mac = {2, 0, 0, 0, 0, 1};
        Inet4Address up =
                (Inet4Address) InetAddress.getByAddress(new byte[] {10, (byte) 200, 0, 1});
        List<FanoutSub> subs = new ArrayList<>();
        for (int s = 0; s < 4; s++) {
            subs.add(
                    new FanoutSub(
                            1,
                            s,
                            mac,
                            mac,
                            up,
                            (Inet4Address)
                                    InetAddress.getByAddress(
                                            new byte[] {10, 50, 0, (byte) (s + 1)}),
                            7000,
                            6000,
                            0));
        }
        dp.fanoutGroups().update(new FanoutKey(up, 5004), new FanoutGroup(0, 0, null, 0, subs));
    }

    /**
     * {wall seconds, max RSS kB, CPU seconds (user + sys), exit code} of one run, output to
     * /dev/null.
     */
    static double[] time(Path msm, Path dir) throws IOException, InterruptedException {
        ProcessBuilder pb =
                new ProcessBuilder(
                        "/usr/bin/time",
                        "-v",
                        msm.toString(),
                        "--bpffs",
                        dir.toString(),
                        "flows",
                        "--json");
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.redirectError(ProcessBuilder.Redirect.PIPE);
        Process p = pb.start();
        String err = new String(p.getErrorStream().readAllBytes(), UTF_8);
        int exit = p.waitFor();
        double cpu =
                field(err, "User time \\(seconds\\): ([\\d.]+)")
                        + field(err, "System time \\(seconds\\): ([\\d.]+)");
        return new double[] {
            wall(err), field(err, "Maximum resident set size \\(kbytes\\): (\\d+)"), cpu, exit
        };
    }

    private static double wall(String timeOutput) {
        Matcher m =
                Pattern.compile(
                                "Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\): (?:(\\d+):)?(\\d+):([\\d.]+)")
                        .matcher(timeOutput);
        if (!m.find()) {
            throw new IllegalStateException("no wall time in /usr/bin/time output:\n" + timeOutput);
        }
        double h = m.group(1) == null ? 0 : Double.parseDouble(m.group(1));
        return h * 3600 + Double.parseDouble(m.group(2)) * 60 + Double.parseDouble(m.group(3));
    }

    private static double field(String timeOutput, String regex) {
        Matcher m = Pattern.compile(regex).matcher(timeOutput);
        if (!m.find()) {
            throw new IllegalStateException("no match for " + regex + " in:\n" + timeOutput);
        }
        return Double.parseDouble(m.group(1));
    }
}
