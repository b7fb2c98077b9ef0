package io.msm.bench.fanout;

import io.msm.bench.report.Chart;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * fanout.png: copies delivered per second at the loss-free rate, and node CPU per copy, against N;
 * one line per system, solid for the receivers view, dashed for node-only. Drawn by the benchmark
 * at the end of a run, or again from a results directory: {@code java -cp ...
 * io.msm.bench.fanout.FanoutChart bench/results}.
 */
public final class FanoutChart {
    static final Map<String, Color> COLORS =
            Map.of(
                    "kernel",
                    new Color(0x1f77b4),
                    "userspace",
                    new Color(0xd62728),
                    "gstreamer",
                    new Color(0x2ca02c));

    /** One system at one N in one view, at its loss-free rate. */
    record Point(String system, View view, int n, double copiesPerSecond, double nsPerCopy) {}

    private FanoutChart() {}

    static void write(Path png, String footer, List<Point> points) throws IOException {
        Map<String, List<Point>> series = new LinkedHashMap<>();
        for (Point p : points) {
            series.computeIfAbsent(p.system() + "/" + p.view().key(), k -> new ArrayList<>())
                    .add(p);
        }
        List<Chart.Series> pps = new ArrayList<>();
        List<Chart.Series> cpu = new ArrayList<>();
        for (List<Point> ps : series.values()) {
            Point first = ps.get(0);
            double[] x = ps.stream().mapToDouble(Point::n).toArray();
            Color c = COLORS.getOrDefault(first.system(), Color.GRAY);
            String name = first.system() + " (" + first.view().label + ")";
            boolean dashed = first.view() == View.TX;
            pps.add(
                    new Chart.Series(
                            name,
                            c,
                            dashed,
                            x,
                            ps.stream().mapToDouble(Point::copiesPerSecond).toArray()));
            cpu.add(
                    new Chart.Series(
                            name,
                            c,
                            dashed,
                            x,
                            ps.stream().mapToDouble(Point::nsPerCopy).toArray()));
        }
        Chart.write(
                png,
                "Fan-out: msm kernel vs userspace relays (1200-byte RTP, loss-free rate, node on one core)",
                footer,
                List.of(
                        new Chart.Panel(
                                "Copies delivered per second (loss < 0.1 %)",
                                "subscribers (N)", "copies/s", true, true, pps),
                        new Chart.Panel(
                                "Node CPU per delivered copy",
                                "subscribers (N)",
                                "ns per copy",
                                true,
                                true,
                                cpu)));
    }

    /** Re-draw DIR/fanout.png from DIR/fanout.csv (the footer from DIR/machine.txt). */
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args.length > 0 ? args[0] : "bench/results");
        List<String> lines = Files.readAllLines(dir.resolve("fanout.csv"));
        List<String> header = Arrays.asList(lines.get(0).split(","));
        List<Point> points = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",", -1);
            if (f.length < header.size() || !"100".equals(f[header.indexOf("load_pct")])) {
                continue;
            }
            points.add(
                    new Point(
                            f[header.indexOf("system")],
                            View.valueOf(f[header.indexOf("view")].toUpperCase(Locale.ROOT)),
                            Integer.parseInt(f[header.indexOf("n")]),
                            Double.parseDouble(f[header.indexOf("delivered_copies_per_s")]),
                            Double.parseDouble(f[header.indexOf("node_ns_per_copy")])));
        }
        String footer = "";
        Path machine = dir.resolve("machine.txt");
        if (Files.exists(machine)) {
            Map<String, String> m = new LinkedHashMap<>();
            for (String l : Files.readAllLines(machine)) {
                int c = l.indexOf(':');
                if (c > 0) {
                    m.put(l.substring(0, c), l.substring(c + 1).trim());
                }
            }
            footer =
                    m.getOrDefault("cpus", "?")
                            + " cores, Linux "
                            + m.getOrDefault("kernel", "?")
                            + "; load avg "
                            + m.getOrDefault("load at start", "?")
                            + " → "
                            + m.getOrDefault("load at end", "?")
                            + "; "
                            + m.getOrDefault("mode", "")
                            + " run "
                            + m.getOrDefault("date", "");
        }
        write(dir.resolve("fanout.png"), footer, points);
        System.out.println(
                "wrote " + dir.resolve("fanout.png") + " from " + points.size() + " points");
    }
}
