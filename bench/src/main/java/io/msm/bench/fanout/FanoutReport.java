package io.msm.bench.fanout;

import io.msm.bench.report.Chart;
import io.msm.bench.report.Csv;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** The fan-out results as CSV, a Markdown table with the targets checked, and a PNG chart. */
final class FanoutReport {
    static final List<String> HEADER =
            List.of(
                    "system",
                    "view",
                    "n",
                    "load_pct",
                    "lossfree_in_pps",
                    "offered_in_pps",
                    "delivered_copies_per_s",
                    "loss_pct",
                    "late_pct",
                    "sender_bound",
                    "sender_limited",
                    "node_cpu_pct",
                    "node_ns_per_copy",
                    "node_ns_per_in_packet",
                    "process_ns_per_copy",
                    "bpf_ns_per_in_packet",
                    "bpf_ns_per_copy",
                    "own_gave_up_pct",
                    "softirq_share_pct",
                    "system_share_pct",
                    "user_share_pct",
                    "lat_p50_us",
                    "lat_p99_us",
                    "lat_p999_us",
                    "spread_p50_us",
                    "spread_p99_us",
                    "spread_max_us",
                    "late",
                    "duplicates",
                    "min_copies_per_rx",
                    "max_copies_per_rx",
                    "node_backlog_drops",
                    "sender_cpu_backlog_drops",
                    "sender_batch",
                    "sender_cpu_pct",
                    "seconds",
                    "load1",
                    "search_steps",
                    "note");
    static final List<String> STEP_HEADER =
            List.of(
                    "system",
                    "view",
                    "n",
                    "step",
                    "target_in_pps",
                    "offered_in_pps",
                    "delivered_copies_per_s",
                    "loss_pct",
                    "late_pct",
                    "node_cpu_pct",
                    "node_ns_per_copy",
                    "node_backlog_drops",
                    "load1");

    private final List<FanoutRun.Measured> results;

    FanoutReport(List<FanoutRun.Measured> results) {
        this.results =
                results.stream()
                        .sorted(
                                Comparator.comparingInt(FanoutRun.Measured::n)
                                        .thenComparing(FanoutRun.Measured::view)
                                        .thenComparing(m -> order(m.system())))
                        .toList();
    }

    static int order(String system) {
        return switch (system) {
            case "kernel" -> 0;
            case "userspace" -> 1;
            default -> 2;
        };
    }

    static String f(String fmt, double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, fmt, v);
    }

    static String us(double ns) {
        return f("%.1f", ns / 1e3);
    }

    private static double share(long part, Trial t) {
        long total = t.nodeSoftirqNs() + t.nodeSystemNs() + t.nodeUserNs();
        return total == 0 ? Double.NaN : 100.0 * part / total;
    }

    List<String> row(FanoutRun.Measured m, Trial t, int load) {
        boolean rx = m.view() == View.RX;
        return List.of(
                m.system(),
                m.view().key(),
                Integer.toString(m.n()),
                Integer.toString(load),
                f("%.0f", m.rate()),
                f("%.0f", t.offeredPps()),
                f("%.0f", t.deliveredPps()),
                f("%.4f", t.loss() * 100),
                f("%.4f", (t.shortfall() - t.loss()) * 100),
                Boolean.toString(m.search().senderBound()),
                Boolean.toString(t.senderLimited()),
                f("%.1f", t.nodeUtilisation() * 100),
                f("%.0f", t.nodeNsPerCopy()),
                f("%.0f", t.nodeNsPerPacket()),
                f("%.0f", t.processNsPerCopy()),
                f("%.0f", t.progNsPerPacket()),
                f("%.0f", t.progNsPerCopy()),
                // in the node-only view the kernel counts its clones into downed veths as failed
                // copies
                m.view() == View.TX && m.system().equals("kernel")
                        ? ""
                        : f("%.2f", t.gaveUp() * 100),
                f("%.0f", share(t.nodeSoftirqNs(), t)),
                f("%.0f", share(t.nodeSystemNs(), t)),
                f("%.0f", share(t.nodeUserNs(), t)),
                rx ? us(t.latency().quantile(0.5)) : "",
                rx ? us(t.latency().quantile(0.99)) : "",
                rx ? us(t.latency().quantile(0.999)) : "",
                rx ? us(t.spread().quantile(0.5)) : "",
                rx ? us(t.spread().quantile(0.99)) : "",
                rx ? us(t.spread().max()) : "",
                Long.toString(t.late()),
                Long.toString(t.duplicates()),
                rx ? Long.toString(t.minPerReceiver()) : "",
                rx ? Long.toString(t.maxPerReceiver()) : "",
                Long.toString(t.nodeDrops()),
                Long.toString(t.senderCpuDrops()),
                Integer.toString(t.sender().batch()),
                f("%.1f", 100.0 * t.senderBusyNs() / Math.max(1, t.windowNs())),
                f("%.2f", t.seconds()),
                f("%.2f", t.load1()),
                Integer.toString(m.search().steps().size()),
                m.note());
    }

    List<List<String>> rows() {
        List<List<String>> rows = new ArrayList<>();
        for (FanoutRun.Measured m : results) {
            if (m.full() == null) {
                List<String> r = new ArrayList<>();
                for (String h : HEADER) {
                    r.add(
                            switch (h) {
                                case "system" -> m.system();
                                case "view" -> m.view().key();
                                case "n" -> Integer.toString(m.n());
                                case "note" -> m.note();
                                default -> "";
                            });
                }
                rows.add(r);
                continue;
            }
            rows.add(row(m, m.full(), 100));
            rows.add(row(m, m.half(), 50));
        }
        return rows;
    }

    List<List<String>> stepRows() {
        List<List<String>> rows = new ArrayList<>();
        for (FanoutRun.Measured m : results) {
            int i = 0;
            for (Trial t : m.search().steps()) {
                rows.add(
                        List.of(
                                m.system(),
                                m.view().key(),
                                Integer.toString(m.n()),
                                Integer.toString(i++),
                                f("%.0f", t.targetPps()),
                                f("%.0f", t.offeredPps()),
                                f("%.0f", t.deliveredPps()),
                                f("%.4f", t.loss() * 100),
                                f("%.4f", (t.shortfall() - t.loss()) * 100),
                                f("%.1f", t.nodeUtilisation() * 100),
                                f("%.0f", t.nodeNsPerCopy()),
                                Long.toString(t.nodeDrops()),
                                f("%.2f", t.load1())));
            }
        }
        return rows;
    }

    void writeCsv(Path dir) throws IOException {
        Csv.write(dir.resolve("fanout.csv"), HEADER, rows());
        Csv.write(dir.resolve("fanout-steps.csv"), STEP_HEADER, stepRows());
    }

    Optional<FanoutRun.Measured> find(String system, View view, int n) {
        return results.stream()
                .filter(
                        m ->
                                m.system().equals(system)
                                        && m.view() == view
                                        && m.n() == n
                                        && m.full() != null)
                .findFirst();
    }

    /**
     * Least-squares slope and intercept of node ns per upstream packet against N (at the loss-free
     * rate).
     */
    double[] slope(String system, View view) {
        return slope(system, view, false);
    }

    /**
     * The same over the system's own time (BPF run time for the kernel, process time for the
     * others): exact, so other programs on the CPU do not bend it.
     */
    double[] slope(String system, View view, boolean own) {
        List<double[]> pts = new ArrayList<>();
        for (FanoutRun.Measured m : results) {
            if (!m.system().equals(system)
                    || m.view() != view
                    || m.full() == null
                    || m.search().senderBound()) {
                continue;
            }
            Trial t = m.full();
            double perCopy =
                    !own
                            ? Double.NaN
                            : system.equals("kernel") ? t.progNsPerCopy() : t.processNsPerCopy();
            double y = own ? perCopy * m.n() : t.nodeNsPerPacket();
            if (!Double.isNaN(y)) {
                pts.add(new double[] {m.n(), y});
            }
        }
        if (pts.size() < 2) {
            return null;
        }
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (double[] p : pts) {
            sx += p[0];
            sy += p[1];
            sxx += p[0] * p[0];
            sxy += p[0] * p[1];
        }
        int k = pts.size();
        double b = (k * sxy - sx * sy) / (k * sxx - sx * sx);
        return new double[] {b, (sy - b * sx) / k};
    }

    String markdown(String machine, String calibration) {
        StringBuilder b = new StringBuilder();
        b.append("Machine: ").append(machine).append("  \n").append(calibration).append("\n\n");
        b.append(
                "| N | system | view | loss-free input (pkt/s) | copies/s delivered | node CPU ns/copy | own ns/copy ¹"
                        + " | node ns/copy at 50 % | latency p50 / p99 / p99.9 µs (50 %) | first→last copy p99 µs (50 %) | load avg |\n");
        b.append("|---:|---|---|---:|---:|---:|---:|---:|---|---:|---:|\n");
        for (FanoutRun.Measured m : results) {
            if (m.full() == null) {
                b.append(
                        String.format(
                                "| %d | %s | %s | — | — | — | — | — | %s | | |%n",
                                m.n(), m.system(), m.view().label, m.note()));
                continue;
            }
            Trial t = m.full();
            Trial h = m.half();
            boolean rx = m.view() == View.RX;
            double own = m.system().equals("kernel") ? t.progNsPerCopy() : t.processNsPerCopy();
            String flags =
                    (m.search().senderBound() ? " (sender-bound)" : "")
                            + (t.lossFree()
                                    ? ""
                                    : String.format(
                                            Locale.ROOT,
                                            " (recorded run lost %.1f %%)",
                                            t.shortfall() * 100));
            b.append(
                    String.format(
                            Locale.ROOT,
                            "| %d | %s | %s | %s%s | %s | %s | %s | %s | %s | %s | %s |%n",
                            m.n(),
                            m.system(),
                            m.view().label,
                            Chart.human(m.rate()),
                            flags,
                            Chart.human(t.deliveredPps()),
                            f("%.0f", t.nodeNsPerCopy()),
                            Double.isNaN(own) ? "—" : f("%.0f", own),
                            f("%.0f", h.nodeNsPerCopy()),
                            rx
                                    ? us(h.latency().quantile(0.5))
                                            + " / "
                                            + us(h.latency().quantile(0.99))
                                            + " / "
                                            + us(h.latency().quantile(0.999))
                                    : "—",
                            rx ? us(h.spread().quantile(0.99)) : "—",
                            f("%.2f", (t.load1() + h.load1()) / 2)));
        }
        b.append(
                "\n¹ the system's own share: its process's CPU time (userspace, gstreamer; exact, includes softirq"
                        + " work done in its context), or msm_tc_ingress's run time from kernel.bpf_stats_enabled (kernel, node-only"
                        + " view: classifier, rewrites, clones and their transmit; not the receive on n-in).\n");
        b.append('\n').append(targets());
        return b.toString();
    }

    /** The targets, checked against this run (reported, not asserted). */
    String targets() {
        StringBuilder b = new StringBuilder("Targets (reported, not asserted):\n\n");
        for (View v : View.values()) {
            for (int n : new int[] {64, 256}) {
                Optional<FanoutRun.Measured> k = find("kernel", v, n);
                if (k.isEmpty()) {
                    continue;
                }
                double kc = k.get().full().deliveredPps();
                for (String other : new String[] {"userspace", "gstreamer"}) {
                    Optional<FanoutRun.Measured> o = find(other, v, n);
                    if (o.isEmpty()) {
                        continue;
                    }
                    double ratio = kc / o.get().full().deliveredPps();
                    double want = other.equals("userspace") ? 10 : 3;
                    b.append(
                            String.format(
                                    Locale.ROOT,
                                    "- N=%d, %s: kernel %s copies/s = %.1f× %s (target ≥ %.0f×): %s%n",
                                    n,
                                    v.label,
                                    Chart.human(kc),
                                    ratio,
                                    other,
                                    want,
                                    ratio >= want
                                            ? "met"
                                            : String.format(
                                                    Locale.ROOT, "missed by %.1f×", want / ratio)));
                }
                double ns = k.get().full().nodeNsPerCopy();
                b.append(
                        String.format(
                                Locale.ROOT,
                                "- N=%d, %s: kernel node CPU %.0f ns per delivered copy (target ≤ 500): %s%n",
                                n,
                                v.label,
                                ns,
                                ns <= 500
                                        ? "met"
                                        : String.format(
                                                Locale.ROOT, "missed by %.0f ns", ns - 500)));
            }
            double[] so = slope("kernel", v, true);
            if (so != null) {
                b.append(
                        String.format(
                                Locale.ROOT,
                                "- %s: kernel marginal cost by msm_tc_ingress's own run time %.0f ns"
                                        + " per extra subscriber (target ≤ 200): %s%n",
                                v.label,
                                so[0],
                                so[0] <= 200
                                        ? "met"
                                        : String.format(
                                                Locale.ROOT, "missed by %.0f ns", so[0] - 200)));
            }
            double[] s = slope("kernel", v);
            if (s != null) {
                b.append(
                        String.format(
                                Locale.ROOT,
                                "- %s: kernel marginal cost %.0f ns per extra subscriber (node CPU per"
                                        + " upstream packet = %.0f + %.0f·N; target ≤ 200): %s%n",
                                v.label,
                                s[0],
                                s[1],
                                s[0],
                                s[0] <= 200
                                        ? "met"
                                        : String.format(
                                                Locale.ROOT, "missed by %.0f ns", s[0] - 200)));
            }
            for (String other : new String[] {"userspace", "gstreamer"}) {
                double[] o = slope(other, v);
                double[] oo = slope(other, v, true);
                if (o != null) {
                    b.append(
                            String.format(
                                    Locale.ROOT,
                                    "- %s: %s marginal cost %.0f ns per extra subscriber (node CPU),"
                                            + " %s ns (own process time)%n",
                                    v.label,
                                    other,
                                    o[0],
                                    oo == null ? "—" : f("%.0f", oo[0])));
                }
            }
        }
        for (int n : new int[] {64, 256}) {
            find("kernel", View.RX, n)
                    .ifPresent(
                            m -> {
                                double p99 = m.half().latency().quantile(0.99);
                                b.append(
                                        String.format(
                                                Locale.ROOT,
                                                "- N=%d: kernel latency p99 %.1f µs at 50 %% of the loss-free rate"
                                                        + " (target ≤ 50 µs): %s%n",
                                                n,
                                                p99 / 1e3,
                                                p99 <= 50_000
                                                        ? "met"
                                                        : String.format(
                                                                Locale.ROOT,
                                                                "missed by %.1f µs",
                                                                (p99 - 50_000) / 1e3)));
                            });
        }
        return b.toString();
    }

    void chart(Path png, String footer) throws IOException {
        List<FanoutChart.Point> points = new ArrayList<>();
        for (FanoutRun.Measured m : results) {
            if (m.full() != null) {
                points.add(
                        new FanoutChart.Point(
                                m.system(),
                                m.view(),
                                m.n(),
                                m.full().deliveredPps(),
                                m.full().nodeNsPerCopy()));
            }
        }
        // series in the order systems and views first appear
        points.sort(
                Comparator.comparing(FanoutChart.Point::view)
                        .thenComparing(p -> order(p.system()))
                        .thenComparingInt(FanoutChart.Point::n));
        FanoutChart.write(png, footer, points);
    }
}
