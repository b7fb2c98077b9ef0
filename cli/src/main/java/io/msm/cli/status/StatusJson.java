package io.msm.cli.status;

import com.fasterxml.jackson.core.JsonGenerator;
import io.msm.bpf.maps.Counters;
import io.msm.bpf.maps.Meta;
import io.msm.bpf.maps.Stat;
import io.msm.bpf.maps.TrafficClass;
import io.msm.cli.render.Json;
import io.msm.cli.source.AgentProbe;
import io.msm.cli.source.MapFill;
import io.msm.cli.source.PinnedProgram;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;

/** {@code msm status --json}: the same report as one JSON object. */
final class StatusJson {
    private StatusJson() {}

    static void print(PrintWriter out, StatusReport r) {
        try (JsonGenerator g = Json.pretty(out)) {
            g.writeStartObject();
            g.writeStringField("kernel", r.kernel());

            g.writeObjectFieldStart("bpffs");
            g.writeStringField("dir", r.dir().toString());
            g.writeBooleanField("on_bpffs", r.pins().onBpffs());
            g.writeBooleanField("exists", r.pins().dirExists());
            g.writeBooleanField("access_denied", r.pins().accessDenied());
            strings(g, "pins_present", r.pins().present());
            strings(g, "pins_missing", r.pins().missing());
            g.writeEndObject();

            g.writeObjectFieldStart("datapath");
            g.writeBooleanField("readable", r.openFailure() == null);
            g.writeNumberField("expected_layout_version", Meta.LAYOUT_VERSION);
            Meta m = r.meta();
            if (m != null) {
                g.writeNumberField("layout_version", m.layoutVersion());
                g.writeStringField("object_sha256", m.shaHex());
                g.writeNumberField("created_ns", m.createdNs());
            } else {
                g.writeNullField("layout_version");
                g.writeNullField("object_sha256");
            }
            if (r.shippedSha() != null) {
                g.writeStringField("shipped_object_sha256", r.shippedSha());
            }
            if (r.openFailure() != null) {
                g.writeStringField("error", r.openFailure().getMessage());
            }
            g.writeEndObject();

            g.writeArrayFieldStart("programs");
            for (PinnedProgram p : r.programs()) {
                g.writeStartObject();
                g.writeStringField("pin", p.name());
                g.writeNumberField("id", p.info().id());
                g.writeStringField("name", p.info().name());
                g.writeNumberField("verified_insns", p.info().verifiedInsns());
                g.writeNumberField("xlated_len", p.info().xlatedLen());
                g.writeEndObject();
            }
            g.writeEndArray();

            g.writeArrayFieldStart("attachments");
            for (StatusReport.Hook h : r.hooks()) {
                g.writeStartObject();
                g.writeNumberField("ifindex", h.ifindex());
                g.writeStringField("ifname", h.ifname());
                g.writeStringField("hook", h.kind());
                g.writeNumberField("recorded_prog_id", h.recordedId());
                g.writeNumberField("live_prog_id", h.liveId());
                g.writeStringField("state", h.state().label());
                g.writeEndObject();
            }
            g.writeEndArray();

            g.writeArrayFieldStart("maps");
            for (MapFill f : r.fills()) {
                g.writeStartObject();
                g.writeStringField("name", f.map());
                g.writeNumberField("entries", f.entries());
                g.writeNumberField("max_entries", f.maxEntries());
                g.writeEndObject();
            }
            g.writeEndArray();

            Counters c = r.totals();
            if (c != null) {
                g.writeObjectFieldStart("classes");
                for (TrafficClass tc : TrafficClass.values()) {
                    g.writeObjectFieldStart(tc.label());
                    g.writeNumberField("packets", c.packets(tc));
                    g.writeNumberField("bytes", c.bytes(tc));
                    g.writeEndObject();
                }
                g.writeEndObject();
                g.writeObjectFieldStart("counters");
                for (Stat s : Stat.values()) {
                    g.writeNumberField(s.label(), c.get(s));
                }
                g.writeEndObject();
            } else {
                g.writeNullField("classes");
                g.writeNullField("counters");
            }

            g.writeObjectFieldStart("agent");
            g.writeStringField("url", r.agentUrl().toString());
            g.writeBooleanField("reachable", r.agent().reachable());
            g.writeNumberField("http_status", r.agent().httpStatus());
            g.writeStringField("detail", r.agent().detail());
            g.writeNumberField("millis", r.agent().millis());
            g.writeEndObject();

            g.writeObjectFieldStart("tree");
            g.writeBooleanField("known", r.tree().unknown() == null);
            if (r.tree().unknown() != null) {
                g.writeStringField("detail", r.tree().unknown());
            }
            g.writeArrayFieldStart("edges");
            for (AgentProbe.Edge e : r.tree().edges()) {
                g.writeStartObject();
                g.writeStringField("direction", e.direction());
                g.writeStringField("peer", e.peer());
                g.writeStringField("path", e.path());
                g.writeNumberField("sessions", e.sessions());
                if (e.bytes() >= 0) {
                    g.writeNumberField("bytes", e.bytes());
                } else {
                    g.writeNullField("bytes");
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();

            strings(g, "problems", r.problems());
            g.writeNumberField("exit_code", r.exitCode().code());
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.println();
    }

    private static void strings(JsonGenerator g, String field, Iterable<String> values)
            throws IOException {
        g.writeArrayFieldStart(field);
        for (String v : values) {
            g.writeString(v);
        }
        g.writeEndArray();
    }
}
