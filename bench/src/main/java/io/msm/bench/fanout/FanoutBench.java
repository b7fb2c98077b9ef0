package io.msm.bench.fanout;

import io.msm.bench.report.Chart;
import io.msm.testkit.Sh;
import io.msm.testkit.Sysctl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The fan-out benchmark (issue 5): msm's kernel fan-out, msm's userspace relay and GStreamer's
 * multiudpsink on one namespace topology, in one run.
 *
 * <pre>
 * FanoutBench --sender PATH --launcher bin/msm-agent --out DIR [--mode full|quick|smoke]
 *             [--systems kernel,userspace,gstreamer] [--n 1,8,64] [--time-limit SECONDS] [--profile]
 * </pre>
 *
 * For each N and system: start it with N subscribers, warm it up, then in each view search the
 * highest loss-free input rate and record a run at that rate and one at half of it. Writes
 * fanout.csv, fanout-steps.csv, fanout.md and fanout.png to DIR. Exit status 1 if a system failed
 * (in smoke mode also if any delivered nothing).
 */
public final class FanoutBench {
    private FanoutBench() {}

    static void log(String s) {
        System.out.println(
                LocalDateTime.now(ZoneId.systemDefault())
                                .format(DateTimeFormatter.ofPattern("HH:mm:ss"))
                        + " "
                        + s);
        System.out.flush();
    }

    static String arg(List<String> args, String name, String fallback) {
        int i = args.indexOf(name);
        if (i < 0) {
            return fallback;
        }
        if (i + 1 >= args.size()) {
            throw new IllegalArgumentException(name + " needs a value");
        }
        return args.get(i + 1);
    }

    static String machine() {
        String model = "";
        for (String line : Procfs.readOr("/proc/cpuinfo", "").split("\n")) {
            if (line.startsWith("model name")) {
                model = line.substring(line.indexOf(':') + 1).trim();
                break;
            }
        }
        String kernel = Procfs.readOr("/proc/sys/kernel/osrelease", "?").trim();
        long memKb = 0;
        for (String line : Procfs.readOr("/proc/meminfo", "").split("\n")) {
            if (line.startsWith("MemTotal:")) {
                memKb = Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return String.format(
                Locale.ROOT,
                "%d cores (%s), %.0f GiB, Linux %s",
                HostSample.cpus(),
                model,
                memKb / 1048576.0,
                kernel);
    }

    public static void main(String[] argv) throws Exception {
        List<String> args = Arrays.asList(argv);
        if (args.contains("--help") || args.contains("-h")) {
            System.out.println(
                    "usage: FanoutBench --sender PATH --launcher bin/msm-agent --out DIR [--mode full|quick|smoke]"
                            + " [--systems kernel,userspace,gstreamer] [--n 1,8,64] [--time-limit SECONDS] [--profile]");
            return;
        }
        Plan plan = Plan.named(arg(args, "--mode", "full"));
        String ns = arg(args, "--n", null);
        if (ns != null) {
            plan =
                    plan.withNs(
                            Arrays.stream(ns.split(","))
                                    .map(String::trim)
                                    .map(Integer::parseInt)
                                    .toList());
        }
        String limit = arg(args, "--time-limit", null);
        if (limit != null) {
            plan = plan.withTimeLimit(Long.parseLong(limit));
        }
        if (args.contains("--profile")) {
            plan = plan.withProfile(true);
        }
        Path senderBin = Path.of(arg(args, "--sender", "bench/target/rtpsend"));
        Path launcher = Path.of(arg(args, "--launcher", "bin/msm-agent")).toAbsolutePath();
        Path out = Path.of(arg(args, "--out", "bench/results"));
        List<String> systems =
                Arrays.asList(arg(args, "--systems", "kernel,userspace,gstreamer").split(","));
        if (!"0".equals(Sh.run("id", "-u").trim())) {
            System.err.println(
                    "FanoutBench: needs root (namespaces, BPF, sysctls): run as root or via sudo");
            System.exit(2);
        }
        if (!Files.isExecutable(senderBin)) {
            System.err.println(
                    "FanoutBench: no sender at " + senderBin + ": bench/run.sh builds it (gcc)");
            System.exit(2);
        }
        Files.createDirectories(out);
        System.exit(run(plan, systems, senderBin, launcher, out));
    }

    static int run(Plan plan, List<String> systems, Path senderBin, Path launcher, Path out)
            throws Exception {
        long deadline = System.nanoTime() + plan.timeLimitSeconds() * 1_000_000_000L;
        String machine = machine();
        double loadStart = HostSample.loadAverage();
        log(
                "fan-out benchmark, "
                        + plan.mode()
                        + ": N "
                        + plan.ns()
                        + ", systems "
                        + systems
                        + ", views "
                        + plan.views()
                        + "; "
                        + machine
                        + "; load "
                        + loadStart);
        List<FanoutRun.Measured> results = new ArrayList<>();
        boolean failed = false;
        String calibration;
        try (Cleanup cleanup = new Cleanup()) {
            Sysctl backlog = Sysctl.atLeast("net.core.netdev_max_backlog", 100_000);
            cleanup.push("net.core.netdev_max_backlog", backlog::close);
            long t0 = System.nanoTime();
            Topology topo = Topology.create(plan.maxN());
            cleanup.push("namespaces " + topo.id, topo::close);
            BenchSink sink = BenchSink.load();
            cleanup.push("sink", sink::close);
            sink.attach(topo.receivers, topo.receiverIfs(plan.maxN()));
            log(
                    String.format(
                            "topology %s: sender, node, %d receivers, sinks attached in %.1f s",
                            topo.id, plan.maxN(), (System.nanoTime() - t0) / 1e9));

            FanoutRun run =
                    new FanoutRun(plan, topo, sink, new Sender(senderBin, topo), FanoutBench::log);
            run.calibrate();
            calibration =
                    String.format(
                            Locale.ROOT,
                            "Sender (rtpsend, AF_PACKET, CPU %d): at most %s pkt/s offered."
                                    + " Baseline one-way latency sender → node ingress at %s pkt/s: p50 %.1f µs, p99 %.1f µs,"
                                    + " p99.9 %.1f µs. Load average at start %.2f.",
                            Topology.SENDER_CPU,
                            Chart.human(run.senderMaxPps),
                            Chart.human(FanoutRun.BASELINE_PPS),
                            run.baselineLatency.quantile(0.5) / 1e3,
                            run.baselineLatency.quantile(0.99) / 1e3,
                            run.baselineLatency.quantile(0.999) / 1e3,
                            loadStart);

            for (int n : plan.ns()) {
                sink.expectCopies(n);
                for (String name : systems) {
                    SystemUnderTest sut =
                            switch (name.trim()) {
                                case "kernel" -> new AgentSut(false, launcher);
                                case "userspace" -> new AgentSut(true, launcher);
                                case "gstreamer" -> new GstreamerSut();
                                default ->
                                        throw new IllegalArgumentException(
                                                "unknown system '"
                                                        + name
                                                        + "' (kernel, userspace, gstreamer)");
                            };
                    if (sut instanceof GstreamerSut && !GstreamerSut.available()) {
                        log(
                                "gstreamer: gst-launch-1.0 not installed (make deps installs gstreamer1.0-tools): skipped");
                        results.add(skipped(sut, plan, n, "gst-launch-1.0 not installed"));
                        continue;
                    }
                    double left = (deadline - System.nanoTime()) / 1e9;
                    if (left < plan.secondsPerSystemAndN()) {
                        log(
                                String.format(
                                        "%s N=%d: skipped, %.0f s left of the %d s limit",
                                        sut.name(), n, left, plan.timeLimitSeconds()));
                        results.add(skipped(sut, plan, n, "skipped: time limit"));
                        continue;
                    }
                    Runnable stop = cleanup.push(sut.name() + " N=" + n, sut::stop);
                    try {
                        long s0 = System.nanoTime();
                        sut.start(topo, n);
                        log(
                                String.format(
                                        "%s N=%d: started in %.1f s (%s)",
                                        sut.name(),
                                        n,
                                        (System.nanoTime() - s0) / 1e9,
                                        sut.label()));
                        double estimate = run.warm(sut, n);
                        for (View v : plan.views()) {
                            FanoutRun.Measured m = run.measure(sut, v, n, estimate);
                            results.add(m);
                            if (m.rate() > 0) {
                                // the next view starts from here (node-only is cheaper than with
                                // receivers)
                                estimate = m.rate() * 1.2;
                            }
                            if (plan.profile()
                                    && n == plan.profileN()
                                    && v == View.RX
                                    && m.rate() > 0) {
                                String p =
                                        run.profile(
                                                sut,
                                                n,
                                                m.rate() * 1.2,
                                                out.resolve(
                                                        "profile-"
                                                                + sut.name()
                                                                + "-n"
                                                                + n
                                                                + ".txt"));
                                log("  profile written: " + p.lines().findFirst().orElse(""));
                            }
                        }
                    } catch (Exception e) {
                        failed = true;
                        log(sut.name() + " N=" + n + " FAILED: " + e);
                        e.printStackTrace(System.out);
                        results.add(
                                skipped(
                                        sut,
                                        plan,
                                        n,
                                        "failed: "
                                                + String.valueOf(e.getMessage())
                                                        .lines()
                                                        .findFirst()
                                                        .orElse("")));
                    } finally {
                        stop.run();
                    }
                }
            }
        }
        double loadEnd = HostSample.loadAverage();
        String footer =
                machine
                        + "; load avg "
                        + loadStart
                        + " → "
                        + loadEnd
                        + "; "
                        + plan.mode()
                        + " run "
                        + LocalDateTime.now(ZoneId.systemDefault())
                                .format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm"));
        FanoutReport report = new FanoutReport(results);
        report.writeCsv(out);
        String md =
                "## Fan-out benchmark ("
                        + plan.mode()
                        + ")\n\n"
                        + report.markdown(
                                machine, calibration + " Load average at end " + loadEnd + ".");
        Files.writeString(out.resolve("fanout.md"), md);
        report.chart(out.resolve("fanout.png"), footer);
        log("wrote " + out.resolve("fanout.csv") + ", fanout-steps.csv, fanout.md, fanout.png");
        System.out.println(md);
        if (plan.mode().equals("smoke")) {
            // the harness works: every system forwarded to every receiver (warm-up checks that),
            // each
            // search ran, and the report files exist. The numbers are not judged.
            for (String f : List.of("fanout.csv", "fanout-steps.csv", "fanout.md", "fanout.png")) {
                if (!Files.isRegularFile(out.resolve(f)) || Files.size(out.resolve(f)) == 0) {
                    log("smoke: " + f + " was not written");
                    failed = true;
                }
            }
            for (FanoutRun.Measured m : results) {
                if (m.search().steps().isEmpty()) {
                    log("smoke: " + m.system() + " N=" + m.n() + " did not run: " + m.note());
                    failed = true;
                }
            }
            log("smoke: " + (failed ? "FAILED" : "ok"));
        }
        return failed ? 1 : 0;
    }

    static FanoutRun.Measured skipped(SystemUnderTest sut, Plan plan, int n, String why) {
        return new FanoutRun.Measured(
                sut.name(),
                sut.label(),
                plan.views().get(0),
                n,
                new LossFreeSearch.Result(0, false, null, List.of()),
                0,
                null,
                null,
                why);
    }
}
