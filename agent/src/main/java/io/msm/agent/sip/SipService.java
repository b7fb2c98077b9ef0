package io.msm.agent.sip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.MeterRegistry;
import io.msm.agent.Service;
import io.msm.agent.config.SipSettings;
import io.msm.agent.identity.IdentityLookup;
import io.msm.agent.media.MediaPlane;
import io.msm.agent.media.RelayStats;
import io.msm.agent.net.Transport;
import io.msm.agent.sip.call.MediaSession;
import io.msm.agent.sip.proxy.SipProxy;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * The SIP proxy as an agent service: listens on --sip-listen (UDP and TCP), anchors call media on
 * the agent's media plane, and answers /calls on the metrics listener with the calls and their live
 * relay counters.
 */
public final class SipService implements Service {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final SipSettings settings;
    private final InetSocketAddress listen;
    private final MediaPlane plane;
    private final MeterRegistry registry;
    private EventLoopGroup group;
    private SipProxy proxy;
    private IdentityLookup identities = IdentityLookup.NONE;

    public SipService(
            SipSettings settings,
            InetSocketAddress listen,
            MediaPlane plane,
            MeterRegistry registry) {
        this.settings = settings;
        this.listen = listen;
        this.plane = plane;
        this.registry = registry;
    }

    /** Where callers' workload identities come from (sip.trusted-identities); before start. */
    public SipService withIdentities(IdentityLookup lookup) {
        this.identities = lookup;
        return this;
    }

    @Override
    public String name() {
        return "sip";
    }

    @Override
    public Map<String, Executor> loops() {
        if (proxy == null) {
            return Map.of();
        }
        return Map.of(
                "msm-sip (signalling)",
                proxy.signallingThread(),
                "msm-sip-media",
                proxy.mediaThread());
    }

    @Override
    public void start() throws Exception {
        group = Transport.group(1, "msm-sip");
        proxy = new SipProxy(settings, listen, plane, registry, group);
        proxy.admission().identities(identities);
        try {
            proxy.start();
        } catch (Exception e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
    }

    @Override
    public boolean ready() {
        return proxy != null && proxy.started();
    }

    @Override
    public String describe() {
        return proxy == null ? "sip: not started" : proxy.describe();
    }

    public SipProxy proxy() {
        return proxy;
    }

    /**
     * /calls: every call with its parties, state, duration and per stream and direction the relays'
     * counters (packets in, copies out, strict-source drops, RFC 3550 loss and jitter of what
     * arrived).
     */
    public String callsJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("mode", plane.mode());
        long now = System.currentTimeMillis();
        root.put("now_ms", now);
        ArrayNode out = root.putArray("calls");
        if (proxy == null) {
            return root.toString();
        }
        List<SipProxy.CallView> views;
        try {
            views = proxy.calls().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            root.put("error", "the SIP proxy did not answer: " + e);
            return root.toString();
        }
        for (SipProxy.CallView v : views) {
            out.add(withRelays(v.json(), v.media(), now));
        }
        return root.toString();
    }

    /**
     * One call of /calls: its record (as the state file keeps it, less the dialog) with the
     * duration and, per stream and direction, the relays' live counters. NG calls (ng/) are shown
     * the same way.
     */
    public static ObjectNode withRelays(ObjectNode c, MediaSession m, long now) {
        c.remove("dialog");
        c.remove("caller_tag");
        c.remove("callee_tag");
        long started = c.path("started_ms").asLong();
        c.put("duration_s", Math.max(0, now - started) / 1000.0);
        JsonNode streams = c.path("streams");
        for (int i = 0; i < streams.size(); i++) {
            ObjectNode s = (ObjectNode) streams.get(i);
            MediaSession.StreamRelays r = m == null ? null : m.streams().get(i);
            JsonNode caller = s.path("caller");
            JsonNode callee = s.path("callee");
            s.set(
                    "caller_to_callee",
                    direction(
                            r == null ? null : r.callerToCallee(),
                            caller.path("last_rtp"),
                            s.path("caller_side"),
                            s.path("callee_side"),
                            callee.path("rtp")));
            s.set(
                    "callee_to_caller",
                    direction(
                            r == null ? null : r.calleeToCaller(),
                            callee.path("last_rtp"),
                            s.path("callee_side"),
                            s.path("caller_side"),
                            caller.path("rtp")));
        }
        return c;
    }

    private static ObjectNode direction(
            MediaSession.Flow d, JsonNode from, JsonNode nodeIn, JsonNode nodeOut, JsonNode to) {
        ObjectNode o = JSON.createObjectNode();
        o.set("from", from.isMissingNode() ? null : from);
        o.set("node_in", nodeIn);
        o.set("node_out", nodeOut);
        o.set("to", to.isMissingNode() ? null : to);
        if (d == null) {
            o.put("served_by", "off");
            return o;
        }
        RelayStats rtp = d.rtpStats();
        RelayStats rtcp = d.rtcpStats();
        o.put("served_by", d.servedBy());
        o.put("packets", rtp.upstreamPackets());
        o.put("bytes", rtp.upstreamBytes());
        o.put("copies", rtp.copies());
        o.put("rtcp_packets", rtcp.upstreamPackets());
        o.put("rtcp_copies", rtcp.copies());
        o.put("strict_drops", rtp.droppedOthers() + rtcp.droppedOthers());
        d.rtpReceiver()
                .ifPresent(
                        x -> {
                            ObjectNode r = o.putObject("rtp");
                            r.put("ssrc", x.ssrc());
                            r.put("received", x.received());
                            r.put("lost", x.lost());
                            r.put("jitter_ms", x.jitterMs());
                        });
        return o;
    }

    @Override
    public void close() {
        if (proxy != null) {
            proxy.close();
        }
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
