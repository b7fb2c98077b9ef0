package io.msm.cli.fanout;

import com.fasterxml.jackson.core.JsonGenerator;
import io.msm.bpf.maps.Addr;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.FanoutSub;
import io.msm.bpf.maps.GroupStats;
import io.msm.bpf.maps.RewriteState;
import io.msm.bpf.maps.SourceIdentity;
import io.msm.bpf.maps.SubStats;
import io.msm.cli.MsmCommand;
import io.msm.cli.MsmVersion;
import io.msm.cli.render.Json;
import io.msm.cli.render.Table;
import io.msm.cli.render.Units;
import io.msm.cli.source.DatapathView;
import io.msm.cli.source.Host;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code msm fanout}: every fan-out group with its subscribers and counters. */
@Command(
        name = "fanout",
        mixinStandardHelpOptions = true,
        versionProvider = MsmVersion.class,
        description = {
            "List the in-kernel fan-out groups: for each upstream flow (UDP to addr:port) the subscribers its "
                    + "packets are copied to — destination, egress interface, source address of the copies — "
                    + "with packets in, copies out and errors (per-CPU counters, summed).",
            "A group with an identity check (flag 'identity') lists the workload identities that may feed it "
                    + "(SPIFFE IDs; 'world': senders with none) and counts the packets it refused: 'unknown' "
                    + "(the sender has no identity) and 'denied' (an identity it does not admit)."
        },
        footerHeading = "%nJSON (one object per group, in one array):%n",
        footer = {
            "  upstream, proto, group_id, flags [local, strict, pass_others, identity, rewrite],",
            "  rewrite (with rewrite): {rtp_group, primed, in_ssrc, out_ssrc, seq_delta, ts_delta,",
            "    switches, rewritten, dropped[, standby, standby_active, silence_ms]},",
            "  source_filter (with strict), packets, bytes, copies, errors, strict_drops,",
            "  identity_unknown, identity_denied,",
            "  allowed_identities (with identity): [{id, name}] (id 0, name \"world\": no identity),",
            "  subscribers: [{destination, ifindex, ifname, source, sub_id, dmac,",
            "                 ingress, packets, bytes, errors}]"
        })
public final class FanoutCommand implements Callable<Integer> {
    @ParentCommand MsmCommand msm;

    @Spec CommandSpec spec;

    @Option(names = "--json", description = "print a JSON array instead of tables")
    boolean json;

    /** A group and its counters, read once. */
    record GroupView(
            FanoutKey key,
            FanoutGroup group,
            String label,
            GroupStats stats,
            List<SubView> subs,
            List<Admitted> allowed,
            RewriteState rewrite) {}

    /** An identity a group admits: its number and name ("world" for 0). */
    record Admitted(int id, String name) {}

    static final String WORLD = "world";

    /** A subscriber, its interface name (null if none has that index) and its counters. */
    record SubView(FanoutSub sub, String ifname, SubStats stats) {}

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        List<GroupView> groups;
        try (DatapathView view = msm.open()) {
            groups = read(view, msm.sources().host());
        }
        if (json) {
            json(out, groups);
        } else {
            table(out, groups);
        }
        out.flush();
        return 0;
    }

    static List<GroupView> read(DatapathView view, Host host) {
        Map<Integer, String> names = new HashMap<>();
        Map<Integer, SortedSet<Integer>> allow = view.allowedIdentities();
        Map<Integer, String> idNames =
                allow.isEmpty() ? Map.of() : view.identityNames(); // one read, only if needed
        List<GroupView> out = new ArrayList<>();
        for (Map.Entry<FanoutKey, FanoutGroup> e : view.fanoutGroups().entrySet()) {
            FanoutGroup g = e.getValue();
            List<SubView> subs = new ArrayList<>(g.subs().size());
            for (FanoutSub s : g.subs()) {
                String ifname =
                        names.computeIfAbsent(s.ifindex(), i -> host.ifname(i).orElse(null));
                subs.add(new SubView(s, ifname, view.subStats(s.subId())));
            }
            List<Admitted> admitted = new ArrayList<>();
            if ((g.flags() & FanoutGroup.F_IDENTITY) != 0) {
                for (int id : allow.getOrDefault(g.groupId(), Collections.emptySortedSet())) {
                    admitted.add(
                            new Admitted(
                                    id,
                                    id == SourceIdentity.WORLD
                                            ? WORLD
                                            : idNames.getOrDefault(id, "identity " + id)));
                }
            }
            out.add(
                    new GroupView(
                            e.getKey(),
                            g,
                            view.groupLabel(g.groupId()),
                            view.groupStats(g.groupId()),
                            subs,
                            admitted,
                            (g.flags() & FanoutGroup.F_REWRITE) != 0
                                    ? view.rewrite(g.groupId()).orElse(null)
                                    : null));
        }
        return out;
    }

    static List<String> flags(FanoutGroup g) {
        List<String> f = new ArrayList<>();
        if ((g.flags() & FanoutGroup.F_LOCAL) != 0) {
            f.add("local");
        }
        if ((g.flags() & FanoutGroup.F_STRICT) != 0) {
            f.add("strict");
        }
        if ((g.flags() & FanoutGroup.F_PASS_OTHERS) != 0) {
            f.add("pass_others");
        }
        if ((g.flags() & FanoutGroup.F_IDENTITY) != 0) {
            f.add("identity");
        }
        if ((g.flags() & FanoutGroup.F_REWRITE) != 0) {
            f.add("rewrite");
        }
        return f;
    }

    static String sourceFilter(FanoutGroup g) {
        if ((g.flags() & FanoutGroup.F_STRICT) == 0 || g.srcAddr() == null) {
            return null;
        }
        return g.srcPort() == 0
                ? g.srcAddr().getHostAddress() + ":*"
                : Addr.hostPort(g.srcAddr(), g.srcPort());
    }

    /**
     * Where an RTSP group's stream comes from, as the agent writes it after " <- " in the label:
     * "publisher", "node X's agent" (a relay tree edge), "upstream"; null when not said.
     */
    static String fedBy(String label) {
        int i = label == null ? -1 : label.indexOf(" <- ");
        return i < 0 ? null : label.substring(i + 4);
    }

    static void table(PrintWriter out, List<GroupView> groups) {
        if (groups.isEmpty()) {
            out.println("no fan-out groups");
            return;
        }
        int subscribers = 0;
        for (GroupView gv : groups) {
            FanoutGroup g = gv.group();
            StringBuilder head =
                    new StringBuilder(
                            "udp "
                                    + gv.key()
                                    + "  group "
                                    + g.groupId()
                                    + (gv.label().isEmpty() ? "" : "  " + gv.label()));
            List<String> flags = flags(g);
            if (!flags.isEmpty()) {
                head.append("  [").append(String.join(", ", flags));
                String src = sourceFilter(g);
                if (src != null) {
                    head.append(" from ").append(src);
                }
                head.append(']');
            }
            out.println(head);
            GroupStats st = gv.stats();
            out.println(
                    "  in "
                            + st.packets()
                            + " packets ("
                            + Units.bytes(st.bytes())
                            + ")  copies out "
                            + st.copies()
                            + "  errors "
                            + st.errors()
                            + (st.strictDrops() > 0 ? "  strict drops " + st.strictDrops() : ""));
            boolean identity = (g.flags() & FanoutGroup.F_IDENTITY) != 0;
            if (identity) {
                List<String> who = new ArrayList<>();
                gv.allowed().forEach(a -> who.add(a.name()));
                out.println(
                        "  admits "
                                + (who.isEmpty() ? "nobody" : String.join(", ", who))
                                + "  refused: unknown "
                                + st.identityUnknown()
                                + ", denied "
                                + st.identityDenied());
            } else if (st.identityUnknown() + st.identityDenied() > 0) {
                out.println(
                        "  refused by identity earlier: unknown "
                                + st.identityUnknown()
                                + ", denied "
                                + st.identityDenied());
            }
            RewriteState rw = gv.rewrite();
            if (rw != null) {
                out.println("  " + continuity(gv.group(), rw, System.nanoTime()));
            }
            if (gv.subs().isEmpty()) {
                out.println("  no subscribers");
            } else {
                Table t =
                        new Table()
                                .indent("  ")
                                .left("DESTINATION")
                                .right("IFINDEX")
                                .left("IFACE")
                                .left("SOURCE")
                                .right("PACKETS")
                                .right("BYTES")
                                .right("ERRORS");
                for (SubView s : gv.subs()) {
                    FanoutSub sub = s.sub();
                    t.row(
                            sub.destination(),
                            Integer.toString(sub.ifindex()),
                            (s.ifname() == null ? "?" : s.ifname())
                                    + ((sub.flags() & FanoutSub.F_INGRESS) != 0
                                            ? " (ingress)"
                                            : ""),
                            Addr.hostPort(sub.saddr(), sub.sport()),
                            Long.toString(s.stats().packets()),
                            Units.bytes(s.stats().bytes()),
                            Long.toString(s.stats().errors()));
                }
                t.print(out);
            }
            subscribers += gv.subs().size();
            out.println();
        }
        out.println(
                groups.size()
                        + (groups.size() == 1 ? " group, " : " groups, ")
                        + subscribers
                        + (subscribers == 1 ? " subscriber" : " subscribers"));
    }

    /** The continuity line of a rewriting group: its source now, switches, standby. */
    static String continuity(FanoutGroup g, RewriteState rw, long nowNs) {
        if (rw.rtpGroup() != g.groupId()) {
            return "sender reports follow group "
                    + rw.rtpGroup()
                    + "  rewritten "
                    + rw.rewritten()
                    + "  dropped "
                    + rw.dropped();
        }
        if (!rw.primed()) {
            return "continuity: no source yet";
        }
        StringBuilder b =
                new StringBuilder(
                        String.format(
                                "continuity: source ssrc %08x as %08x, seq %+d, ts +%d, switches %d,"
                                        + " rewritten %d",
                                rw.inSsrc(),
                                rw.outSsrc(),
                                (short) rw.seqDelta(),
                                rw.tsDelta() & 0xffffffffL,
                                rw.switches(),
                                rw.rewritten()));
        long silentMs = (nowNs - rw.lastNs()) / 1_000_000;
        if (silentMs >= 1000) {
            b.append(", source silent ").append(silentMs / 1000).append(" s (publisher in grace?)");
        }
        if (rw.altAddr() != null) {
            b.append(
                    String.format(
                            "%n  hot standby: %s (%s active), takes over after %d ms of silence,"
                                    + " dropped %d",
                            rw.altPort() == 0
                                    ? rw.altAddr().getHostAddress() + ":*"
                                    : Addr.hostPort(rw.altAddr(), rw.altPort()),
                            rw.activeAlt() ? "standby" : "primary",
                            rw.silenceNs() / 1_000_000,
                            rw.dropped()));
        }
        return b.toString();
    }

    static void json(PrintWriter out, List<GroupView> groups) {
        try (JsonGenerator g = Json.pretty(out)) {
            g.writeStartArray();
            for (GroupView gv : groups) {
                FanoutGroup grp = gv.group();
                GroupStats st = gv.stats();
                g.writeStartObject();
                g.writeStringField("upstream", gv.key().toString());
                g.writeStringField("proto", "udp");
                g.writeNumberField("group_id", grp.groupId());
                // the label as metrics name the stream; what feeds it is a field of its own
                String fedBy = fedBy(gv.label());
                g.writeStringField(
                        "label",
                        fedBy == null
                                ? gv.label()
                                : gv.label().substring(0, gv.label().indexOf(" <- ")));
                if (fedBy != null) {
                    g.writeStringField("fed_by", fedBy);
                }
                g.writeArrayFieldStart("flags");
                for (String f : flags(grp)) {
                    g.writeString(f);
                }
                g.writeEndArray();
                String src = sourceFilter(grp);
                if (src != null) {
                    g.writeStringField("source_filter", src);
                }
                g.writeNumberField("packets", st.packets());
                g.writeNumberField("bytes", st.bytes());
                g.writeNumberField("copies", st.copies());
                g.writeNumberField("errors", st.errors());
                g.writeNumberField("strict_drops", st.strictDrops());
                g.writeNumberField("identity_unknown", st.identityUnknown());
                g.writeNumberField("identity_denied", st.identityDenied());
                if ((grp.flags() & FanoutGroup.F_IDENTITY) != 0) {
                    g.writeArrayFieldStart("allowed_identities");
                    for (Admitted a : gv.allowed()) {
                        g.writeStartObject();
                        g.writeNumberField("id", a.id());
                        g.writeStringField("name", a.name());
                        g.writeEndObject();
                    }
                    g.writeEndArray();
                }
                RewriteState rw = gv.rewrite();
                if (rw != null) {
                    g.writeObjectFieldStart("rewrite");
                    g.writeNumberField("rtp_group", rw.rtpGroup());
                    g.writeBooleanField("primed", rw.primed());
                    g.writeNumberField("in_ssrc", rw.inSsrc() & 0xffffffffL);
                    g.writeNumberField("out_ssrc", rw.outSsrc() & 0xffffffffL);
                    g.writeNumberField("seq_delta", rw.seqDelta());
                    g.writeNumberField("ts_delta", rw.tsDelta() & 0xffffffffL);
                    g.writeNumberField("switches", rw.switches());
                    g.writeNumberField("rewritten", rw.rewritten());
                    g.writeNumberField("dropped", rw.dropped());
                    if (rw.altAddr() != null) {
                        g.writeStringField("standby", Addr.hostPort(rw.altAddr(), rw.altPort()));
                        g.writeBooleanField("standby_active", rw.activeAlt());
                        g.writeNumberField("silence_ms", rw.silenceNs() / 1_000_000);
                    }
                    g.writeEndObject();
                }
                g.writeArrayFieldStart("subscribers");
                for (SubView s : gv.subs()) {
                    FanoutSub sub = s.sub();
                    g.writeStartObject();
                    g.writeStringField("destination", sub.destination());
                    g.writeNumberField("ifindex", sub.ifindex());
                    if (s.ifname() == null) {
                        g.writeNullField("ifname");
                    } else {
                        g.writeStringField("ifname", s.ifname());
                    }
                    g.writeStringField("source", Addr.hostPort(sub.saddr(), sub.sport()));
                    g.writeNumberField("sub_id", sub.subId());
                    g.writeStringField("dmac", Addr.macString(sub.dmac()));
                    g.writeBooleanField("ingress", (sub.flags() & FanoutSub.F_INGRESS) != 0);
                    g.writeNumberField("packets", s.stats().packets());
                    g.writeNumberField("bytes", s.stats().bytes());
                    g.writeNumberField("errors", s.stats().errors());
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
}
