package io.msm.cli.calls;

import com.fasterxml.jackson.databind.JsonNode;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.Flow;
import io.msm.bpf.maps.FlowKey;
import io.msm.bpf.maps.GroupStats;
import io.msm.cli.source.DatapathView;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Calls joined with the kernel: for each direction of each stream, the fan-out group keyed by the
 * node port the media arrives on (packets in, copies out, strict-source drops) and the flow from
 * the party to that port (RFC 3550 loss and jitter).
 */
final class CallRows {
    /** One direction of one stream. */
    record Direction(
            String name,
            String from,
            String nodeIn,
            String nodeOut,
            String to,
            String servedBy,
            Long packets,
            Long copies,
            Long strictDrops,
            Long lost,
            Double jitterMs,
            String counters) {}

    record Stream(String media, List<Direction> directions) {}

    record Row(
            String callId,
            String caller,
            String callee,
            String state,
            double durationS,
            List<Stream> streams) {}

    private CallRows() {}

    /**
     * @param view the pinned datapath, or null (counters from the agent then)
     */
    static List<Row> build(CallSource.Result src, DatapathView view) {
        Map<String, GroupCounters> groups = view == null ? Map.of() : groups(view);
        Map<FlowKey, Flow> flows = view == null ? Map.of() : flows(view, src.calls());
        List<Row> rows = new ArrayList<>();
        for (JsonNode c : src.calls()) {
            double duration =
                    c.has("duration_s")
                            ? c.path("duration_s").asDouble()
                            : Math.max(0, src.nowMs() - c.path("started_ms").asLong()) / 1000.0;
            List<Stream> streams = new ArrayList<>();
            for (JsonNode s : c.path("streams")) {
                List<Direction> dirs = new ArrayList<>();
                dirs.add(
                        direction(
                                "caller->callee",
                                s,
                                s.path("caller_to_callee"),
                                "caller",
                                "callee",
                                "caller_side",
                                "callee_side",
                                groups,
                                flows));
                dirs.add(
                        direction(
                                "callee->caller",
                                s,
                                s.path("callee_to_caller"),
                                "callee",
                                "caller",
                                "callee_side",
                                "caller_side",
                                groups,
                                flows));
                streams.add(new Stream(s.path("media").asText("?"), dirs));
            }
            rows.add(
                    new Row(
                            c.path("call_id").asText(),
                            c.path("caller").asText(),
                            c.path("callee").asText(),
                            c.path("state").asText(),
                            duration,
                            streams));
        }
        return rows;
    }

    private static Direction direction(
            String name,
            JsonNode stream,
            JsonNode live,
            String fromParty,
            String toParty,
            String inSide,
            String outSide,
            Map<String, GroupCounters> groups,
            Map<FlowKey, Flow> flows) {
        String from = text(stream.path(fromParty).path("last_rtp"));
        String nodeIn = text(stream.path(inSide));
        String nodeOut = text(stream.path(outSide));
        String to = text(stream.path(toParty).path("rtp"));
        String servedBy = live.isMissingNode() ? null : text(live.path("served_by"));
        GroupCounters g = nodeIn == null ? null : groups.get(nodeIn);
        Flow f = from == null || nodeIn == null ? null : flows.get(flowKey(from, nodeIn));
        Long lost = null;
        Double jitter = null;
        if (f != null && f.rtp().initialised()) {
            lost = f.rtp().lost();
            jitter = f.rtp().jitterMs();
        } else if (live.has("rtp")) {
            lost = live.path("rtp").path("lost").asLong();
            jitter = live.path("rtp").path("jitter_ms").asDouble();
        }
        if (g != null) {
            return new Direction(
                    name, from, nodeIn, nodeOut, to, servedBy, g.packets, g.copies, g.drops, lost,
                    jitter, "kernel");
        }
        if (live.has("packets")) {
            return new Direction(
                    name,
                    from,
                    nodeIn,
                    nodeOut,
                    to,
                    servedBy,
                    live.path("packets").asLong(),
                    live.path("copies").asLong(),
                    live.path("strict_drops").asLong(),
                    lost,
                    jitter,
                    "agent");
        }
        return new Direction(
                name, from, nodeIn, nodeOut, to, servedBy, null, null, null, lost, jitter, "none");
    }

    private record GroupCounters(long packets, long copies, long drops) {}

    private static Map<String, GroupCounters> groups(DatapathView view) {
        Map<String, GroupCounters> out = new HashMap<>();
        for (Map.Entry<FanoutKey, FanoutGroup> e : view.fanoutGroups().entrySet()) {
            GroupStats s = view.groupStats(e.getValue().groupId());
            FanoutKey k = e.getKey();
            out.put(
                    k.addr().getHostAddress() + ":" + k.port(),
                    new GroupCounters(s.packets(), s.copies(), s.strictDrops()));
        }
        return out;
    }

    /** The flows from each party to its node port, in one pass over the flow table. */
    private static Map<FlowKey, Flow> flows(DatapathView view, JsonNode calls) {
        Set<FlowKey> want = new HashSet<>();
        for (JsonNode c : calls) {
            for (JsonNode s : c.path("streams")) {
                add(want, text(s.path("caller").path("last_rtp")), text(s.path("caller_side")));
                add(want, text(s.path("callee").path("last_rtp")), text(s.path("callee_side")));
            }
        }
        Map<FlowKey, Flow> out = new HashMap<>();
        if (want.isEmpty()) {
            return out;
        }
        view.forEachFlow(
                (k, f) -> {
                    if (want.contains(k)) {
                        out.put(k, f);
                    }
                });
        return out;
    }

    private static void add(Set<FlowKey> want, String from, String to) {
        FlowKey k = from == null || to == null ? null : flowKey(from, to);
        if (k != null) {
            want.add(k);
        }
    }

    static FlowKey flowKey(String from, String to) {
        InetAddress a = ip(from);
        InetAddress b = ip(to);
        if (a == null || b == null) {
            return null;
        }
        return FlowKey.udp(a, port(from), b, port(to));
    }

    private static InetAddress ip(String hostPort) {
        int c = hostPort.lastIndexOf(':');
        String h = c < 0 ? hostPort : hostPort.substring(0, c);
        if (!h.matches("[0-9.]+")) {
            return null; // IPv4 literals only: the kernel fan-out is IPv4
        }
        try {
            InetAddress a = InetAddress.getByName(h); // a literal: no lookup
            return a instanceof Inet4Address ? a : null;
        } catch (UnknownHostException e) {
            return null;
        }
    }

    private static int port(String hostPort) {
        return Integer.parseInt(hostPort.substring(hostPort.lastIndexOf(':') + 1));
    }

    private static String text(JsonNode n) {
        return n == null || n.isMissingNode() || n.isNull() ? null : n.asText();
    }
}
