package io.msm.bench.fanout;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.msm.bpf.ProgInfo;
import io.msm.testkit.Sh;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * One benchmark run on one topology: trials, searches and the recorded measurements for each system
 * under test and group size.
 */
final class FanoutRun {
    /** Input rate of the baseline latency run (sender -> node ingress, no system under test). */
    static final double BASELINE_PPS = 20_000;

    final Plan plan;
    final Topology topo;
    final BenchSink sink;
    final Sender sender;
    final Consumer<String> log;
    double senderMaxPps;
    double senderMaxAcceptedPps;
    Histogram baselineLatency = Histogram.empty();
    private final ObjectMapper json = new ObjectMapper();

    /** The recorded result of one system at one N in one view. */
    record Measured(
            String system,
            String label,
            View view,
            int n,
            LossFreeSearch.Result search,
            double rate,
            Trial full,
            Trial half,
            String note) {}

    FanoutRun(Plan plan, Topology topo, BenchSink sink, Sender sender, Consumer<String> log) {
        this.plan = plan;
        this.topo = topo;
        this.sink = sink;
        this.sender = sender;
        this.log = log;
    }

    /**
     * Before any system: the sender's own ceiling (as fast as it goes into the node, where a sink
     * on n-in drops everything) and the latency of the path sender -> node ingress, which every
     * copy's latency includes.
     */
    void calibrate() {
        sink.attach(topo.node, List.of(Topology.NODE_IN_IF));
        sink.expectCopies(1);
        try {
            Trial max = trial(null, View.RX, 1, 0, Math.max(0.5, plan.trialSeconds()), true);
            senderMaxPps = max.offeredPps();
            senderMaxAcceptedPps = (max.sender().sent() - max.sender().errors()) / max.seconds();
            Trial base =
                    trial(
                            null,
                            View.RX,
                            1,
                            BASELINE_PPS,
                            Math.max(0.5, plan.measureSeconds()),
                            true);
            baselineLatency = base.latency();
            log.accept(
                    String.format(
                            "sender: at most %.0f pps offered (%.0f accepted by the node's input backlog),"
                                    + " on CPU %d; baseline latency sender->node ingress at %.0f pps: p50 %.1f us, p99 %.1f us",
                            senderMaxPps,
                            senderMaxAcceptedPps,
                            Topology.SENDER_CPU,
                            BASELINE_PPS,
                            baselineLatency.quantile(0.5) / 1e3,
                            baselineLatency.quantile(0.99) / 1e3));
        } finally {
            sink.detach(topo.node, List.of(Topology.NODE_IN_IF));
        }
    }

    /** Sum of a TX counter over the node's veths 0..n-1. */
    long nodeTx(int n, String field) {
        Sh.Result r = Sh.exec(60, "ip", "-n", topo.node.name(), "-s", "-j", "link", "show");
        if (r.exit() != 0) {
            throw new IllegalStateException(
                    "ip -s -j link show in the node namespace failed: " + r.err().trim());
        }
        try {
            long sum = 0;
            for (JsonNode l : json.readTree(r.out())) {
                String name = l.path("ifname").asText();
                if (name.startsWith("n-r")) {
                    int i = Integer.parseInt(name.substring(3));
                    if (i < n) {
                        sum += l.path("stats64").path("tx").path(field).asLong();
                    }
                }
            }
            return sum;
        } catch (IOException e) {
            throw new IllegalStateException("cannot parse ip -j output: " + e.getMessage(), e);
        }
    }

    /**
     * One bounded trial: counters before, the sender for `seconds`, a short drain, counters after.
     *
     * @param calibration the sink sits on the node's ingress (copies = packets in)
     */
    Trial trial(
            SystemUnderTest sut,
            View view,
            int n,
            double pps,
            double seconds,
            boolean calibration) {
        List<Long> pids = sut == null ? List.of() : sut.pids();
        Optional<ProgInfo> progA = sut == null ? Optional.empty() : sut.program();
        Optional<long[]> ownA = sut == null ? Optional.empty() : sut.ownCounters();
        BenchSink.Snapshot sa = view == View.RX ? sink.snapshot() : null;
        long onTimeA =
                view == View.RX
                        ? sa.rx().values().stream().mapToLong(BenchSink.Rx::packets).sum()
                        : 0;
        long txA = view == View.TX ? nodeTx(n, "dropped") : 0;
        if (view == View.TX) {
            onTimeA = txA;
        }
        long procA = HostSample.processNs(pids);
        HostSample a = HostSample.take();

        Sender.Result s = sender.send(pps, seconds);
        sleep(Trial.GRACE_MS);
        long onTimeB =
                view == View.RX
                        ? sink.snapshot().rx().values().stream()
                                .mapToLong(BenchSink.Rx::packets)
                                .sum()
                        : nodeTx(n, "dropped");
        drain(view, n);

        HostSample b = HostSample.take();
        long procB = HostSample.processNs(pids);
        long txB = view == View.TX ? nodeTx(n, "dropped") : 0;
        BenchSink.Snapshot sb = view == View.RX ? sink.snapshot() : null;
        Optional<ProgInfo> progB = sut == null ? Optional.empty() : sut.program();
        Optional<long[]> ownB = sut == null ? Optional.empty() : sut.ownCounters();
        long[] own = null;
        if (ownA.isPresent() && ownB.isPresent()) {
            own = new long[3];
            for (int i = 0; i < 3; i++) {
                own[i] = ownB.get()[i] - ownA.get()[i];
            }
        }

        long delivered;
        long late = 0;
        long dups = 0;
        long min = 0;
        long max = 0;
        Histogram lat = Histogram.empty();
        Histogram spread = Histogram.empty();
        if (view == View.RX) {
            if (calibration) {
                // the sink on n-in: one key, the node's address
                delivered =
                        sb.rx().values().stream().mapToLong(BenchSink.Rx::packets).sum()
                                - sa.rx().values().stream().mapToLong(BenchSink.Rx::packets).sum();
            } else {
                long[] d = sb.deltas(sa, n);
                delivered = d[0];
                late = d[1];
                dups = d[2];
                long[] per = sb.perReceiver(sa, n);
                min = Arrays.stream(per).min().orElse(0);
                max = Arrays.stream(per).max().orElse(0);
            }
            lat = sb.latency().minus(sa.latency());
            spread = sb.spread().minus(sa.spread());
        } else {
            delivered = txB - txA;
        }
        int node = Topology.NODE_CPU;
        int snd = Topology.SENDER_CPU;
        long progNs =
                progA.isPresent() && progB.isPresent()
                        ? progB.get().runTimeNs() - progA.get().runTimeNs()
                        : 0;
        long progRuns =
                progA.isPresent() && progB.isPresent()
                        ? progB.get().runCount() - progA.get().runCount()
                        : 0;
        // on time: counted over all receivers (the sink keys only the first n in a trial of n)
        long onTime = Math.min(delivered, onTimeB - onTimeA);
        return new Trial(
                sut == null ? "baseline" : sut.name(),
                view,
                n,
                pps,
                s,
                delivered,
                onTime,
                b.wallSince(a),
                b.busyNs(a, node),
                b.statNs(a, node, HostSample.SOFTIRQ),
                b.statNs(a, node, HostSample.SYSTEM),
                b.statNs(a, node, HostSample.USER) + b.statNs(a, node, HostSample.NICE),
                b.busyNs(a, snd),
                procB - procA,
                b.softnetDrops(a, node),
                b.softnetDrops(a, snd),
                late,
                dups,
                min,
                max,
                lat,
                spread,
                progNs,
                progRuns,
                b.load1(),
                own);
    }

    /**
     * After the sender stops, wait until copies stop arriving: an overloaded node holds up to
     * net.core.netdev_max_backlog packets per CPU (100000, over a second of work) and socket
     * buffers hold more; what drains late belongs to this trial, not the next. The minimum wait is
     * the plan's drain time, the maximum 10 s (the search keeps overload small, so a queue is at
     * most about half a trial deep).
     */
    private void drain(View view, int n) {
        sleep(Math.max(0, plan.drainMs() - Trial.GRACE_MS));
        long end = System.nanoTime() + 10_000_000_000L;
        long last = -1;
        int stable = 0;
        while (System.nanoTime() < end && stable < 3) {
            long now =
                    view == View.RX
                            ? sink.snapshot().rx().values().stream()
                                    .mapToLong(BenchSink.Rx::packets)
                                    .sum()
                            : nodeTx(n, "dropped");
            stable = now == last ? stable + 1 : 0;
            last = now;
            sleep(30);
        }
    }

    /**
     * Search the loss-free rate of sut (already started for n receivers) in view, starting at
     * estimate (input pkt/s), then record a run at it and at half of it.
     */
    Measured measure(SystemUnderTest sut, View view, int n, double estimate) {
        // node-only: no sink runs, so the BPF run-time statistics cost only the system itself (two
        // clock reads per upstream packet), and give the kernel system's exact in-program cost
        String statsBefore = null;
        if (view == View.TX) {
            topo.receiversUp(n, false);
            if (sut.program().isPresent()) {
                statsBefore = Sh.run("sysctl", "-n", "kernel.bpf_stats_enabled").trim();
                Sh.run("sysctl", "-q", "-w", "kernel.bpf_stats_enabled=1");
            }
        }
        try {
            LossFreeSearch.Result r =
                    LossFreeSearch.search(
                            (pps, secs) -> {
                                Trial t = trial(sut, view, n, pps, secs, false);
                                log.accept("  step  " + t.summary());
                                return t;
                            },
                            estimate,
                            senderMaxPps,
                            plan.trialSeconds(),
                            plan.searchSteps());
            if (r.rate() <= 0) {
                Trial lowest = r.steps().get(r.steps().size() - 1);
                String why =
                        lowest.gaveUp() > 0
                                ? String.format(
                                        "; the system itself gave up %.1f %% of its copies",
                                        lowest.gaveUp() * 100)
                                : "";
                return new Measured(
                        sut.name(),
                        sut.label(),
                        view,
                        n,
                        r,
                        0,
                        null,
                        null,
                        String.format(
                                "no loss-free rate: lost %.2f %% of copies even at %.0f pkt/s (the lowest rate tried)%s",
                                lowest.shortfall() * 100, lowest.offeredPps(), why));
            }
            // the sender-bound case: "as fast as it goes" again, for the full-rate record
            double rate = r.rate();
            Trial full =
                    trial(sut, view, n, r.senderBound() ? 0 : rate, plan.measureSeconds(), false);
            log.accept("  100%  " + full.summary());
            // a step passed, the longer recorded run did not (a busier moment on a shared CPU):
            // step down
            // a little, twice at most, so the record is loss-free; the table flags it if it still
            // is not
            for (int k = 0; k < 2 && !full.lossFree() && !r.senderBound(); k++) {
                rate *= 0.9;
                full = trial(sut, view, n, rate, plan.measureSeconds(), false);
                log.accept("  100%  " + full.summary() + " (again, 10 % lower)");
            }
            if (r.senderBound()) {
                rate = full.offeredPps();
            }
            Trial half = trial(sut, view, n, rate / 2, plan.measureSeconds(), false);
            log.accept("   50%  " + half.summary());
            return new Measured(
                    sut.name(),
                    sut.label(),
                    view,
                    n,
                    r,
                    rate,
                    full,
                    half,
                    r.senderBound() ? "sender-bound" : "");
        } finally {
            if (view == View.TX) {
                topo.receiversUp(n, true);
            }
            if (statsBefore != null) {
                Sh.run("sysctl", "-q", "-w", "kernel.bpf_stats_enabled=" + statsBefore);
            }
        }
    }

    /**
     * Copies per second in warm-up: light for every system here (GStreamer does several times
     * that).
     */
    static final double WARM_COPIES = 50_000;

    /**
     * Warm the system up (JIT, caches) at a light load, check that it forwards, and estimate its
     * capacity (input pkt/s) from the node CPU time each copy took: a low estimate at light load
     * (less batching), which the search then raises.
     */
    double warm(SystemUnderTest sut, int n) {
        double pps = Math.min(20_000, WARM_COPIES / n);
        Trial t = trial(sut, View.RX, n, pps, plan.warmSeconds(), false);
        log.accept("  warm  " + t.summary());
        if (t.delivered() == 0) {
            throw new IllegalStateException(
                    sut.name() + " delivered no copies in warm-up: it is not forwarding");
        }
        if (t.minPerReceiver() == 0) {
            // a system that starves some receivers is measured as it is (its copies go missing)
            log.accept(
                    String.format(
                            "  warm  %s: some of the %d receivers got nothing (%d copies delivered, the"
                                    + " most to one receiver %d)",
                            sut.name(), n, t.delivered(), t.maxPerReceiver()));
        }
        double busySeconds = Math.max(t.nodeBusyNs(), 1) / 1e9;
        return Math.max(pps, t.delivered() / busySeconds / n);
    }

    /**
     * Profile at saturation: perf samples of the node's CPU, and for a BPF system its program's run
     * time (kernel.bpf_stats_enabled on only here: it adds two clock reads per program run).
     */
    String profile(SystemUnderTest sut, int n, double pps, Path out)
            throws IOException, InterruptedException {
        Path data = Files.createTempFile("msm-bench-perf", ".data");
        StringBuilder report = new StringBuilder();
        String before = Sh.run("sysctl", "-n", "kernel.bpf_stats_enabled").trim();
        Sh.run("sysctl", "-q", "-w", "kernel.bpf_stats_enabled=1");
        Process perf = null;
        try {
            double secs = plan.trialSeconds();
            if (Sh.have("perf")) {
                perf =
                        new ProcessBuilder(
                                        "taskset",
                                        "-c",
                                        Integer.toString(Topology.SENDER_CPU),
                                        "perf",
                                        "record",
                                        "-q",
                                        "-C",
                                        Integer.toString(Topology.NODE_CPU),
                                        "-e",
                                        "cpu-clock",
                                        "-F",
                                        "2000",
                                        "-o",
                                        data.toString(),
                                        "--",
                                        "sleep",
                                        String.format("%.2f", secs))
                                .redirectErrorStream(true)
                                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                                .start();
                Thread.sleep(100);
            }
            Trial t = trial(sut, View.RX, n, pps, secs, false);
            report.append(
                    String.format(
                            "# %s, N=%d, offered %.0f pps, delivered %.0f copies/s, loss %.3f %%, node CPU %.0f %%,"
                                    + " %.0f ns/copy, load %.2f%n",
                            sut.label(),
                            n,
                            t.offeredPps(),
                            t.deliveredPps(),
                            t.loss() * 100,
                            t.nodeUtilisation() * 100,
                            t.nodeNsPerCopy(),
                            t.load1()));
            if (t.progRuns() > 0) {
                long in = t.progRuns();
                report.append(
                        String.format(
                                "# BPF msm_tc_ingress: %d runs, %.0f ns per run (upstream packet), %.0f ns per"
                                        + " copy — the clone loop, rewrites and each clone's transmit run inside the program%n",
                                in,
                                (double) t.progRunNs() / in,
                                (double) t.progRunNs() / Math.max(1, t.delivered())));
            }
            if (perf != null) {
                perf.waitFor();
                report.append("# perf, CPU ")
                        .append(Topology.NODE_CPU)
                        .append(
                                ": samples by command (anything not the"
                                        + " system's own process, ksoftirqd or swapper is another program on that CPU)\n");
                appendPerf(report, data, "comm", "1");
                report.append("# by command and symbol\n");
                appendPerf(report, data, "comm,sym", "0.7");
            }
        } finally {
            Sh.run("sysctl", "-q", "-w", "kernel.bpf_stats_enabled=" + before);
            if (perf != null && perf.isAlive()) {
                Sh.exec("kill", "-TERM", Long.toString(perf.pid()));
            }
            Files.deleteIfExists(data);
        }
        Files.writeString(out, report.toString());
        return report.toString();
    }

    private static void appendPerf(StringBuilder report, Path data, String sort, String limit) {
        Sh.Result r =
                Sh.exec(
                        120,
                        "perf",
                        "report",
                        "-i",
                        data.toString(),
                        "--stdio",
                        "--no-children",
                        "--sort",
                        sort,
                        "--percent-limit",
                        limit);
        for (String line : r.out().split("\n")) {
            if (!line.isBlank() && !line.startsWith("#")) {
                report.append(line).append('\n');
            }
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
