package io.msm.agent.sip.call;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.msm.agent.sip.sdp.Direction;
import io.msm.agent.sip.transport.Hop;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A call as JSON — the state file's records and the base of what /calls shows. Field names are
 * snake_case; addresses are "a.b.c.d:port".
 */
public final class CallCodec {
    static final ObjectMapper JSON = new ObjectMapper();

    private CallCodec() {}

    public static ObjectNode toJson(Call c) {
        ObjectNode o = JSON.createObjectNode();
        o.put("call_id", c.callId);
        o.put("caller_tag", c.callerTag);
        o.put("callee_tag", c.calleeTag);
        o.put("caller", c.caller);
        o.put("callee", c.callee);
        o.put("state", c.state.label());
        o.put("started_ms", c.startedAtMs);
        o.put("answered_ms", c.answeredAtMs);
        o.put("facing_caller", c.facingCaller == null ? null : c.facingCaller.getHostAddress());
        o.put("facing_callee", c.facingCallee == null ? null : c.facingCallee.getHostAddress());
        ArrayNode streams = o.putArray("streams");
        for (Call.Stream s : c.streams) {
            ObjectNode so = streams.addObject();
            so.put("media", s.media);
            so.put("caller_side", s.ports == null ? null : addr(s.ports.callerSide()));
            so.put("callee_side", s.ports == null ? null : addr(s.ports.calleeSide()));
            so.put("rtcp_mux", s.rtcpMux());
            so.set("caller", party(s.caller));
            so.set("callee", party(s.callee));
        }
        ObjectNode d = o.putObject("dialog");
        d.put("caller_from", c.callerFrom);
        d.put("callee_to", c.calleeTo);
        d.put("caller_contact", c.callerContact);
        d.put("callee_contact", c.calleeContact);
        ArrayNode rr = d.putArray("record_route");
        c.recordRoute.forEach(rr::add);
        d.put("caller_cseq", c.callerCseq);
        d.put("callee_cseq", c.calleeCseq);
        d.put("caller_hop", c.callerHop == null ? null : hop(c.callerHop));
        d.put("callee_hop", c.calleeHop == null ? null : hop(c.calleeHop));
        return o;
    }

    private static ObjectNode party(Party p) {
        ObjectNode o = JSON.createObjectNode();
        o.put("rtp", addr(p.rtp()));
        o.put("rtcp", addr(p.rtcp()));
        o.put("direction", p.direction().attribute());
        o.put("mux", p.mux());
        o.put("last_rtp", addr(p.lastRtp()));
        o.put("last_rtcp", addr(p.lastRtcp()));
        return o;
    }

    public static String addr(InetSocketAddress a) {
        if (a == null) {
            return null;
        }
        String h = a.getAddress().getHostAddress();
        return (h.indexOf(':') >= 0 ? "[" + h + "]" : h) + ":" + a.getPort();
    }

    static String hop(Hop h) {
        return h.kind().name().toLowerCase(Locale.ROOT) + ":" + addr(h.remote());
    }

    /** A call from its record (state ANSWERED; the relays are re-opened by the caller). */
    public static Call fromJson(JsonNode o) {
        Call c =
                new Call(
                        text(o, "call_id"),
                        text(o, "caller_tag"),
                        text(o, "caller"),
                        text(o, "callee"),
                        o.path("started_ms").asLong(),
                        System.nanoTime());
        if (c.callId == null || c.callerTag == null) {
            throw new IllegalArgumentException("a call record needs call_id and caller_tag");
        }
        c.calleeTag = text(o, "callee_tag");
        c.state = Call.State.valueOf(o.path("state").asText("answered").toUpperCase(Locale.ROOT));
        c.answeredAtMs = o.path("answered_ms").asLong();
        c.facingCaller = ip(text(o, "facing_caller"));
        c.facingCallee = ip(text(o, "facing_callee"));
        for (JsonNode so : o.path("streams")) {
            Call.Stream s = new Call.Stream(so.path("media").asText("audio"));
            InetSocketAddress a = sock(text(so, "caller_side"));
            InetSocketAddress b = sock(text(so, "callee_side"));
            s.ports = a == null || b == null ? null : new StreamPorts(a, b);
            s.caller = party(so.path("caller"));
            s.callee = party(so.path("callee"));
            c.streams.add(s);
        }
        JsonNode d = o.path("dialog");
        c.callerFrom = text(d, "caller_from");
        c.calleeTo = text(d, "callee_to");
        c.callerContact = text(d, "caller_contact");
        c.calleeContact = text(d, "callee_contact");
        List<String> rr = new ArrayList<>();
        d.path("record_route").forEach(x -> rr.add(x.asText()));
        c.recordRoute = List.copyOf(rr);
        c.callerCseq = d.path("caller_cseq").asLong();
        c.calleeCseq = d.path("callee_cseq").asLong();
        c.callerHop = hop(text(d, "caller_hop"));
        c.calleeHop = hop(text(d, "callee_hop"));
        return c;
    }

    private static Party party(JsonNode p) {
        Direction dir =
                Direction.valueOf(p.path("direction").asText("sendrecv").toUpperCase(Locale.ROOT));
        return new Party(
                sock(text(p, "rtp")),
                sock(text(p, "rtcp")),
                dir,
                p.path("mux").asBoolean(),
                sock(text(p, "last_rtp")),
                sock(text(p, "last_rtcp")));
    }

    private static String text(JsonNode o, String f) {
        JsonNode v = o.get(f);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static InetAddress ip(String s) {
        if (s == null) {
            return null;
        }
        if (!s.matches("[0-9A-Fa-f:.]+")) {
            throw new IllegalArgumentException("not an IP address: " + s);
        }
        try {
            return InetAddress.getByName(s); // a literal
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IP address: " + s);
        }
    }

    static InetSocketAddress sock(String s) {
        if (s == null) {
            return null;
        }
        int c = s.lastIndexOf(':');
        if (c <= 0) {
            throw new IllegalArgumentException("not ADDR:PORT: " + s);
        }
        String h = s.substring(0, c);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        return new InetSocketAddress(ip(h), Integer.parseInt(s.substring(c + 1)));
    }

    private static Hop hop(String s) {
        if (s == null) {
            return null;
        }
        int c = s.indexOf(':');
        return new Hop(Hop.Kind.of(s.substring(0, c)), sock(s.substring(c + 1)), null);
    }
}
