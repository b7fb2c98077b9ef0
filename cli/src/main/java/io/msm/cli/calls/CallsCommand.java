package io.msm.cli.calls;

import com.fasterxml.jackson.core.JsonGenerator;
import io.msm.cli.CliFailure;
import io.msm.cli.MsmCommand;
import io.msm.cli.MsmVersion;
import io.msm.cli.render.Json;
import io.msm.cli.render.Table;
import io.msm.cli.render.Units;
import io.msm.cli.source.DatapathView;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code msm calls}: the SIP calls whose media msm anchors, with per-direction counters from the
 * kernel.
 */
@Command(
        name = "calls",
        mixinStandardHelpOptions = true,
        versionProvider = MsmVersion.class,
        description = {
            "List the SIP calls msm-agent's proxy has set up: call id, parties, state, duration, and for each media "
                    + "stream and direction the relay path (party -> node port | node port -> party), who relays it "
                    + "(kernel or userspace), packets, RFC 3550 loss and jitter and strict-source drops.",
            "Calls come from msm-agent (GET --agent, default "
                    + CallsCommand.DEFAULT_AGENT
                    + "); if it does not "
                    + "answer, from its SIP state file (answered calls only). Counters come from the pinned "
                    + "datapath (fan-out group of the node port, flow from the party), else from the agent."
        },
        footerHeading = "%nJSON (one object per call, in one array):%n",
        footer = {
            "  call_id, caller, callee, state, duration_s,",
            "  streams: [{media, directions: [{direction, from, node_in, node_out, to,",
            "             served_by, packets, copies, strict_drops, lost, jitter_ms,",
            "             counters: kernel|agent|none}]}]"
        })
public final class CallsCommand implements Callable<Integer> {
    public static final String DEFAULT_AGENT = "http://127.0.0.1:9469/calls";
    public static final String DEFAULT_STATE_FILE = "/var/lib/msm/sip-state.json";

    @ParentCommand MsmCommand msm;

    @Spec CommandSpec spec;

    @Option(names = "--json", description = "print a JSON array instead of tables")
    boolean json;

    @Option(
            names = "--agent",
            paramLabel = "URL",
            defaultValue = DEFAULT_AGENT,
            description =
                    "msm-agent's calls endpoint (default: ${DEFAULT-VALUE}); asked with a 2 s timeout")
    String agent;

    @Option(
            names = "--token-file",
            paramLabel = "FILE",
            description =
                    "the bearer token the agent's http.token-file holds (needed when the agent has one)")
    Path tokenFile;

    @Option(
            names = "--state-file",
            paramLabel = "FILE",
            defaultValue = DEFAULT_STATE_FILE,
            description =
                    "the agent's sip.state-file, read when the agent does not answer (default: ${DEFAULT-VALUE})")
    Path stateFile;

    @Override
    public Integer call() {
        URI url;
        try {
            url = new URI(agent);
            if (!"http".equalsIgnoreCase(url.getScheme()) || url.getHost() == null) {
                throw new ParameterException(
                        spec.commandLine(),
                        "--agent needs an http:// URL with a host, e.g. "
                                + DEFAULT_AGENT
                                + "; got '"
                                + agent
                                + "'");
            }
        } catch (URISyntaxException e) {
            throw new ParameterException(
                    spec.commandLine(), "--agent is not a URL: " + e.getMessage());
        }
        String token = null;
        if (tokenFile != null) {
            try {
                token = Files.readString(tokenFile, StandardCharsets.UTF_8).strip();
            } catch (IOException e) {
                throw new ParameterException(
                        spec.commandLine(),
                        "--token-file " + tokenFile + " cannot be read: " + e.getMessage());
            }
        }
        CallSource.Result src = CallSource.load(url, token, stateFile, Duration.ofSeconds(2));
        List<CallRows.Row> rows;
        String counters;
        DatapathView view = null;
        try {
            view = msm.open();
            counters = "counters from the kernel (" + msm.bpffs() + ")";
        } catch (CliFailure e) {
            counters =
                    "counters from msm-agent ("
                            + e.getMessage().lines().findFirst().orElse("")
                            + ")";
        }
        try {
            rows = CallRows.build(src, view);
        } finally {
            if (view != null) {
                view.close();
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            json(out, rows);
        } else {
            table(out, rows, "calls from " + src.origin() + "; " + counters);
        }
        out.flush();
        return 0;
    }

    static void table(PrintWriter out, List<CallRows.Row> rows, String footer) {
        if (rows.isEmpty()) {
            out.println("no calls");
            out.println(footer);
            return;
        }
        int answered = 0;
        for (CallRows.Row r : rows) {
            if (r.state().equals("answered")) {
                answered++;
            }
            out.println(
                    r.callId()
                            + "  "
                            + r.caller()
                            + " -> "
                            + r.callee()
                            + "  "
                            + r.state()
                            + "  "
                            + Units.duration((long) (r.durationS() * 1000)));
            Table t =
                    new Table()
                            .indent("  ")
                            .left("MEDIA")
                            .left("DIRECTION")
                            .left("FROM")
                            .left("NODE IN")
                            .left("NODE OUT")
                            .left("TO")
                            .left("BY")
                            .right("PACKETS")
                            .right("LOST")
                            .right("JITTER")
                            .right("DROPS");
            for (CallRows.Stream s : r.streams()) {
                for (CallRows.Direction d : s.directions()) {
                    t.row(
                            s.media(),
                            d.name(),
                            dash(d.from()),
                            dash(d.nodeIn()),
                            dash(d.nodeOut()),
                            dash(d.to()),
                            dash(d.servedBy()),
                            num(d.packets()),
                            num(d.lost()),
                            d.jitterMs() == null ? "-" : Units.millis(d.jitterMs()),
                            num(d.strictDrops()));
                }
            }
            if (t.rowCount() > 0) {
                t.print(out);
            } else {
                out.println("  no media streams");
            }
            out.println();
        }
        out.println(
                rows.size()
                        + (rows.size() == 1 ? " call" : " calls")
                        + " ("
                        + answered
                        + " answered); "
                        + footer);
    }

    private static String dash(String s) {
        return s == null ? "-" : s;
    }

    private static String num(Long n) {
        return n == null ? "-" : Long.toString(n);
    }

    static void json(PrintWriter out, List<CallRows.Row> rows) {
        try (JsonGenerator g = Json.pretty(out)) {
            g.writeStartArray();
            for (CallRows.Row r : rows) {
                g.writeStartObject();
                g.writeStringField("call_id", r.callId());
                g.writeStringField("caller", r.caller());
                g.writeStringField("callee", r.callee());
                g.writeStringField("state", r.state());
                g.writeNumberField("duration_s", r.durationS());
                g.writeArrayFieldStart("streams");
                for (CallRows.Stream s : r.streams()) {
                    g.writeStartObject();
                    g.writeStringField("media", s.media());
                    g.writeArrayFieldStart("directions");
                    for (CallRows.Direction d : s.directions()) {
                        g.writeStartObject();
                        g.writeStringField("direction", d.name());
                        g.writeStringField("from", d.from());
                        g.writeStringField("node_in", d.nodeIn());
                        g.writeStringField("node_out", d.nodeOut());
                        g.writeStringField("to", d.to());
                        g.writeStringField("served_by", d.servedBy());
                        number(g, "packets", d.packets());
                        number(g, "copies", d.copies());
                        number(g, "strict_drops", d.strictDrops());
                        number(g, "lost", d.lost());
                        if (d.jitterMs() == null) {
                            g.writeNullField("jitter_ms");
                        } else {
                            g.writeNumberField("jitter_ms", d.jitterMs());
                        }
                        g.writeStringField("counters", d.counters());
                        g.writeEndObject();
                    }
                    g.writeEndArray();
                    g.writeEndObject();
                }
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.println();
    }

    private static void number(JsonGenerator g, String name, Long v) throws IOException {
        if (v == null) {
            g.writeNullField(name);
        } else {
            g.writeNumberField(name, v);
        }
    }
}
