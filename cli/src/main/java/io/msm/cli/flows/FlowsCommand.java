package io.msm.cli.flows;

import com.fasterxml.jackson.core.JsonGenerator;
import io.msm.bpf.maps.FlowKey;
import io.msm.bpf.maps.TrafficClass;
import io.msm.cli.MsmCommand;
import io.msm.cli.MsmVersion;
import io.msm.cli.render.Json;
import io.msm.cli.source.DatapathView;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/** {@code msm flows}: the flow table, as a table, as JSON, or refreshed in place. */
@Command(
        name = "flows",
        mixinStandardHelpOptions = true,
        versionProvider = MsmVersion.class,
        description = {
            "List the flows in the datapath's flow table: 5-tuple, class, packets, bytes, age, idle time, "
                    + "fan-out subscribers, the source's workload identity (Kubernetes) and, for RTP, loss "
                    + "and jitter (RFC 3550).",
            "Without --sort, --json streams flows in the kernel's map order (fastest for large tables); "
                    + "the table is sorted by packets.",
            "A client's flow to a game service shows the backend its session is pinned to (BACKEND; "
                    + "JSON backend); every game session, with its key and address changes: 'msm games'."
        },
        footerHeading = "%nJSON (one object per flow, in one array):%n",
        footer = {
            "  src, dst     \"addr:port\" (IPv6: \"[addr]:port\")",
            "  proto        udp | tcp",
            "  class        rtp | rtcp | stun | dtls | game | control | other",
            "  packets, bytes, age_ms, idle_ms",
            "  fanout       subscribers of the fan-out group fed by this flow (0: none)",
            "  identity     the source address's workload identity (SPIFFE ID), or \"world\"",
            "               (none known); the table shows an IDENTITY column when the node",
            "               knows any (Kubernetes)",
            "  backend      a client's flow to a game service: the backend its session is",
            "               pinned to (\"addr:port\"); absent for other flows",
            "  rtp          RTP flows only: ssrc, payload_type, highest_seq (extended),",
            "               lost, jitter_ms, clock_rate"
        })
public final class FlowsCommand implements Callable<Integer> {
    /** Rows shown by --watch when --limit is not given: one screen. */
    static final int WATCH_LIMIT = 40;

    static final String CLEAR = "\033[H\033[2J";

    @ParentCommand MsmCommand msm;

    @Spec CommandSpec spec;

    @Option(
            names = "--class",
            paramLabel = "CLASS",
            split = ",",
            converter = ClassConverter.class,
            description =
                    "only flows of these classes (comma-separated): rtp, rtcp, stun, dtls, game, control, other")
    List<TrafficClass> classes = new ArrayList<>();

    @Option(
            names = "--sort",
            paramLabel = "KEY",
            description =
                    "order by packets, bytes, loss, jitter (largest first) or age (oldest first)")
    FlowOrder sort;

    @Option(
            names = "--limit",
            paramLabel = "N",
            description = "show at most N flows (with --sort: the first N)")
    Integer limit;

    @Option(names = "--json", description = "print a JSON array instead of a table")
    boolean json;

    @Option(
            names = "--watch",
            description =
                    "redraw the table in place every --interval seconds, with packet "
                            + "and bit rates since the previous refresh; Ctrl-C stops (shows "
                            + WATCH_LIMIT
                            + " flows unless --limit says otherwise)")
    boolean watch;

    @Option(
            names = "--interval",
            paramLabel = "S",
            description = "seconds between --watch refreshes (default 1)")
    Double interval;

    @Option(
            names = "--count",
            paramLabel = "N",
            description = "with --watch: stop after N refreshes")
    Integer count;

    /** TrafficClass labels, with the accepted names in the error. */
    public static final class ClassConverter implements ITypeConverter<TrafficClass> {
        @Override
        public TrafficClass convert(String value) {
            try {
                return TrafficClass.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    @Override
    public Integer call() {
        validate();
        PrintWriter out = spec.commandLine().getOut();
        try (DatapathView view = msm.open()) {
            FlowReader reader = new FlowReader(view, Set.copyOf(classes));
            long now = msm.sources().host().monotonicNs();
            if (watch) {
                watch(view, reader, out);
            } else if (json) {
                json(reader, out, now);
            } else {
                List<FlowRow> rows = reader.all();
                int total = rows.size();
                rows = order(rows, sort == null ? FlowOrder.PACKETS : sort, limit);
                FlowTable.print(
                        out, rows, now, false, reader.anyIdentity(), reader.anyGameSession());
                out.println(summary(rows.size(), total, sort == null ? FlowOrder.PACKETS : sort));
            }
        }
        out.flush();
        return 0;
    }

    private void validate() {
        if (limit != null && limit < 0) {
            throw new ParameterException(
                    spec.commandLine(), "--limit must be 0 or more, got " + limit);
        }
        if (!watch && (interval != null || count != null)) {
            throw new ParameterException(
                    spec.commandLine(), "--interval and --count only apply with --watch");
        }
        if (watch && json) {
            throw new ParameterException(
                    spec.commandLine(),
                    "--watch draws a table for a terminal; for JSON run 'msm flows --json' at the pace you need");
        }
        if (interval != null && (interval < 0.05 || interval > 3600)) {
            throw new ParameterException(
                    spec.commandLine(), "--interval must be 0.05..3600 seconds, got " + interval);
        }
        if (count != null && count < 1) {
            throw new ParameterException(
                    spec.commandLine(), "--count must be 1 or more, got " + count);
        }
    }

    /** Sorted, then cut to limit (null or 0: all). */
    static List<FlowRow> order(List<FlowRow> rows, FlowOrder by, Integer limit) {
        return by.sort(rows, limit == null ? 0 : limit);
    }

    static String summary(int shown, int total, FlowOrder by) {
        String flows = total == 1 ? " flow" : " flows";
        if (shown == total) {
            return total + flows + ", by " + by.label();
        }
        return shown + " of " + total + flows + ", by " + by.label();
    }

    /** Streamed when unsorted: one flow in memory at a time. */
    private void json(FlowReader reader, PrintWriter out, long now) {
        int max = limit == null || limit == 0 ? Integer.MAX_VALUE : limit;
        try (JsonGenerator g = Json.linePerElement(out)) {
            g.writeStartArray();
            if (sort == null) {
                int[] n = {0};
                reader.stream(
                        r -> {
                            if (n[0] < max) {
                                n[0]++;
                                write(g, r, now);
                            }
                        });
            } else {
                for (FlowRow r : order(reader.all(), sort, limit)) {
                    write(g, r, now);
                }
            }
            g.writeEndArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.println();
    }

    private static void write(JsonGenerator g, FlowRow r, long now) {
        try {
            FlowJson.write(g, r, now);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void watch(DatapathView view, FlowReader reader, PrintWriter out) {
        FlowOrder by = sort == null ? FlowOrder.PACKETS : sort;
        Integer rowsShown = limit == null ? Integer.valueOf(WATCH_LIMIT) : limit;
        long sleepMs = Math.round((interval == null ? 1.0 : interval) * 1000);
        Rates rates = new Rates();
        DateTimeFormatter hms = DateTimeFormatter.ofPattern("HH:mm:ss");
        for (int i = 0; count == null || i < count; i++) {
            if (i > 0) {
                try {
                    Thread.sleep(sleepMs);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                reader.refreshGroups();
            }
            long now = msm.sources().host().monotonicNs();
            List<FlowRow> rows = rates.apply(reader.all(), now);
            int total = rows.size();
            rows = order(rows, by, rowsShown);
            out.print(CLEAR);
            out.println(
                    "msm flows at "
                            + view.dir()
                            + " — every "
                            + (sleepMs / 1000.0)
                            + " s — "
                            + LocalTime.now(ZoneId.systemDefault()).format(hms)
                            + " — Ctrl-C to stop");
            out.println();
            FlowTable.print(out, rows, now, true, reader.anyIdentity(), reader.anyGameSession());
            out.println(summary(rows.size(), total, by));
            out.flush();
        }
    }

    /** Packet and byte rates of each flow between two refreshes. */
    static final class Rates {
        private Map<FlowKey, long[]> previous;
        private long previousNs;

        List<FlowRow> apply(List<FlowRow> rows, long nowNs) {
            Map<FlowKey, long[]> current = new HashMap<>(rows.size() * 2);
            List<FlowRow> out = new ArrayList<>(rows.size());
            double dt = (nowNs - previousNs) / 1e9;
            for (FlowRow r : rows) {
                long p = r.flow().packets();
                long b = r.flow().bytes();
                current.put(r.key(), new long[] {p, b});
                if (previous == null || dt <= 0) {
                    out.add(r);
                    continue;
                }
                long[] before = previous.get(r.key());
                if (before == null || before[0] > p) {
                    // new since the last refresh (or evicted and re-created): everything counted is
                    // new
                    before =
                            r.flow().firstNs() >= previousNs || before != null
                                    ? new long[] {0, 0}
                                    : null;
                }
                out.add(
                        before == null
                                ? r
                                : r.withRates((p - before[0]) / dt, (b - before[1]) / dt));
            }
            previous = current;
            previousNs = nowNs;
            return out;
        }
    }
}
