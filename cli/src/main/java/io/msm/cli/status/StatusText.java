package io.msm.cli.status;

import io.msm.bpf.maps.Counters;
import io.msm.bpf.maps.Meta;
import io.msm.bpf.maps.Stat;
import io.msm.bpf.maps.TrafficClass;
import io.msm.cli.render.Table;
import io.msm.cli.render.Units;
import io.msm.cli.source.AgentProbe;
import io.msm.cli.source.MapFill;
import io.msm.cli.source.PinScan;
import io.msm.cli.source.PinnedProgram;
import java.io.PrintWriter;
import java.io.StringWriter;

/** {@code msm status} for people: a summary, then one table per section. */
final class StatusText {
    private StatusText() {}

    static void print(PrintWriter out, StatusReport r) {
        Table head = new Table().left("").left("");
        head.row("kernel", r.kernel());
        head.row("bpffs", r.dir() + "  " + pins(r.pins()));
        head.row("datapath", datapath(r));
        head.row("agent", r.agentUrl() + "  " + agent(r));
        printWithoutHeader(out, head);

        if (!r.programs().isEmpty()) {
            out.println();
            out.println("programs");
            Table t =
                    new Table()
                            .indent("  ")
                            .left("PIN")
                            .right("ID")
                            .right("VERIFIED INSNS")
                            .right("XLATED");
            for (PinnedProgram p : r.programs()) {
                t.row(
                        p.name(),
                        Integer.toString(p.info().id()),
                        Integer.toString(p.info().verifiedInsns()),
                        Units.bytes(p.info().xlatedLen()));
            }
            t.print(out);
        }

        if (r.openFailure() == null) {
            out.println();
            out.println("attached");
            if (r.hooks().isEmpty()) {
                out.println("  nothing recorded in msm_attachments (msm-agent attaches on start)");
            } else {
                Table t =
                        new Table()
                                .indent("  ")
                                .right("IFINDEX")
                                .left("IFACE")
                                .left("HOOK")
                                .right("RECORDED")
                                .right("LIVE")
                                .left("STATE");
                for (StatusReport.Hook h : r.hooks()) {
                    t.row(
                            Integer.toString(h.ifindex()),
                            h.ifname(),
                            h.kind(),
                            Integer.toString(h.recordedId()),
                            h.liveId() == 0 ? "-" : Integer.toString(h.liveId()),
                            h.state().healthy() ? h.state().label() : h.state().name());
                }
                t.print(out);
            }
        }

        if (!r.fills().isEmpty()) {
            out.println();
            out.println("maps");
            Table t =
                    new Table()
                            .indent("  ")
                            .left("MAP")
                            .right("ENTRIES")
                            .right("MAX")
                            .right("FILL");
            for (MapFill f : r.fills()) {
                t.row(
                        f.map(),
                        Long.toString(f.entries()),
                        Long.toString(f.maxEntries()),
                        Units.percent(f.percent()));
            }
            t.print(out);
        }

        Counters c = r.totals();
        if (c != null) {
            out.println();
            out.println("traffic");
            Table t = new Table().indent("  ").left("CLASS").right("PACKETS").right("BYTES");
            for (TrafficClass tc : TrafficClass.values()) {
                t.row(tc.label(), Long.toString(c.packets(tc)), Units.bytes(c.bytes(tc)));
            }
            t.print(out);
            out.println();
            out.println("counters");
            Table s = new Table().indent("  ").left("COUNTER").right("VALUE").left("MEANING");
            for (Stat st : Stat.values()) {
                s.row(st.label(), Long.toString(c.get(st)), st.help());
            }
            s.print(out);
        }

        tree(out, r.tree());

        var problems = r.problems();
        if (!problems.isEmpty()) {
            out.println();
            out.println("problems");
            for (String p : problems) {
                out.println("  - " + p.replace("\n", "\n    "));
            }
        }
    }

    /**
     * The relay tree edges: what this node pulls from other nodes' agents ("takes") and what their
     * agents pull from it ("serves"); nothing when the node has none and nothing to say.
     */
    static void tree(PrintWriter out, AgentProbe.Tree tree) {
        if (tree.edges().isEmpty()) {
            if (tree.unknown() != null && !"not asked".equals(tree.unknown())) {
                out.println();
                out.println("relay tree");
                out.println("  not known: " + tree.unknown());
            }
            return;
        }
        out.println();
        out.println("relay tree");
        Table t =
                new Table()
                        .indent("  ")
                        .left("EDGE")
                        .left("PEER")
                        .left("PATH")
                        .right("SESSIONS")
                        .right("BYTES");
        for (AgentProbe.Edge e : tree.edges()) {
            t.row(
                    e.direction(),
                    ("takes".equals(e.direction()) ? "<- " : "-> ") + e.peer(),
                    e.path(),
                    Long.toString(e.sessions()),
                    e.bytes() < 0 ? "-" : Units.bytes(e.bytes()));
        }
        t.print(out);
    }

    /** A key/value block: the table without its (empty) header line. */
    private static void printWithoutHeader(PrintWriter out, Table t) {
        StringWriter sw = new StringWriter();
        t.print(new PrintWriter(sw));
        String s = sw.toString();
        out.print(s.substring(s.indexOf('\n') + 1));
    }

    static String pins(PinScan p) {
        String fs = p.onBpffs() ? "bpf filesystem" : "NOT on a bpf filesystem";
        if (p.accessDenied()) {
            return "(" + fs + "; cannot look inside: needs root or CAP_BPF)";
        }
        if (!p.dirExists()) {
            return "(" + fs + "; directory does not exist)";
        }
        int all = p.present().size() + p.missing().size();
        if (p.missing().isEmpty()) {
            return "(" + fs + ", all " + all + " pins present)";
        }
        return "("
                + fs
                + ", "
                + p.present().size()
                + " of "
                + all
                + " pins present; missing: "
                + String.join(", ", p.missing())
                + ")";
    }

    static String datapath(StatusReport r) {
        if (r.openFailure() != null) {
            String m = r.openFailure().getMessage();
            int nl = m.indexOf('\n');
            return "NOT READABLE: " + (nl < 0 ? m : m.substring(0, nl));
        }
        Meta m = r.meta();
        if (m == null) {
            return "layout version unknown (msm_meta not stamped); this msm reads "
                    + Meta.LAYOUT_VERSION;
        }
        String s =
                "layout version "
                        + m.layoutVersion()
                        + " (this msm reads "
                        + Meta.LAYOUT_VERSION
                        + "), object sha256 "
                        + m.shaHex()
                        + (r.sameObjectAsShipped()
                                ? " (the one this msm ships)"
                                : r.shippedSha() != null
                                        ? " (another build than this msm ships)"
                                        : "");
        if (m.createdNs() > 0 && m.createdNs() <= r.nowNs()) {
            s += ", loaded " + Units.duration((r.nowNs() - m.createdNs()) / 1_000_000) + " ago";
        }
        return s;
    }

    static String agent(StatusReport r) {
        var h = r.agent();
        if (h.reachable()) {
            return "reachable (HTTP "
                    + h.httpStatus()
                    + (h.detail().isEmpty() ? "" : " " + h.detail())
                    + ", "
                    + h.millis()
                    + " ms)";
        }
        if (h.httpStatus() != 0) {
            return "NOT HEALTHY (HTTP "
                    + h.httpStatus()
                    + (h.detail().isEmpty() ? "" : ": " + h.detail())
                    + ")";
        }
        return "NOT REACHABLE (" + h.detail() + ")";
    }
}
