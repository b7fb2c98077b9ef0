package io.msm.agent.ng;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.msm.agent.config.NgSettings;
import io.msm.agent.media.MediaAdmission;
import io.msm.agent.media.MediaPlane;
import io.msm.agent.media.RelayStats;
import io.msm.agent.media.RtpStreamStats;
import io.msm.agent.sip.SipService;
import io.msm.agent.sip.call.Call;
import io.msm.agent.sip.call.CallCodec;
import io.msm.agent.sip.call.CallStore;
import io.msm.agent.sip.call.LegPlan;
import io.msm.agent.sip.call.MediaSession;
import io.msm.agent.sip.call.Party;
import io.msm.agent.sip.call.Side;
import io.msm.agent.sip.call.StreamPorts;
import io.msm.agent.sip.route.Node;
import io.msm.agent.sip.sdp.Direction;
import io.msm.agent.sip.sdp.Sdp;
import io.msm.agent.sip.sdp.SdpException;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The calls set up over the NG protocol and what each command does to them. Media is anchored the
 * way the SIP proxy anchors it ({@link MediaSession}: per stream an RTP/RTCP relay pair facing each
 * party, strict source, one subscriber per direction — in the kernel on the kernel plane), under
 * the media plane's admission share "ng".
 *
 * <p>One thread only (the NG thread, owned by {@link NgServer}); an answer's reply completes when
 * its relays are installed.
 */
public final class NgCalls implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(NgCalls.class);

    /** Ports a stream takes: an RTP/RTCP pair facing each party. */
    static final int PORTS_PER_STREAM = 4;

    /** How long an answer waits, at most, for its relays before it is replied to. */
    static final long MEDIA_READY_MS = 2000;

    /** A command that fails: answered {@code result: error, error-reason: reason}. */
    static final class NgError extends Exception {
        private static final long serialVersionUID = 1L;

        NgError(String reason) {
            super(reason);
        }
    }

    /** What NG keeps of a call besides the SIP side's {@link Call}. */
    private static final class Extra {
        final long createdS;
        long lastSignalS;
        String fromLabel;
        String toLabel;
        long lastActivity = -1;
        long activityAtNanos = System.nanoTime();

        Extra(long createdS) {
            this.createdS = createdS;
            this.lastSignalS = createdS;
        }
    }

    private final NgSettings settings;
    private final MediaPlane plane;
    private final MediaAdmission.Share share;
    private final NgMetrics metrics;
    private final CallStore store;
    private final Node node = new Node(new InetSocketAddress(0), List.of());
    private final Map<String, Call> calls = new LinkedHashMap<>();
    private final Map<Call, Extra> extras = new HashMap<>();
    private volatile int active;
    private long managed;
    private long rejected;
    private long timedOut;
    private long deleted;
    private boolean stored;
    private ScheduledExecutorService scheduler;
    private boolean persistScheduled;

    /** At most one state-file snapshot per this long (the store writes it shortly after). */
    static final long PERSIST_DELAY_MS = 50;

    public NgCalls(NgSettings settings, MediaPlane plane, NgMetrics metrics) {
        this.settings = settings;
        this.plane = plane;
        this.share = plane.admission("ng");
        this.metrics = metrics;
        this.store = settings.stateFile() == null ? null : new CallStore(settings.stateFile());
    }

    /** Calls now (any thread). */
    public int active() {
        return active;
    }

    /** The admission share the calls hold (tests). */
    public MediaAdmission.Share share() {
        return share;
    }

    /** Kernel fan-out groups a stream takes: one per relay on the kernel plane. */
    private int groupsPerStream() {
        return "kernel".equals(plane.mode()) ? 4 : 0;
    }

    // ------------------------------------------------------------------ dispatch

    /** Run one request; the reply dictionary completes (at once, except for answers). */
    public CompletableFuture<Map<String, Object>> handle(NgRequest r) {
        String cmd = r.command();
        try {
            if (cmd == null) {
                throw new NgError("Dictionary contains no key \"command\"");
            }
            return switch (cmd) {
                case "ping" -> done(Map.of("result", "pong"));
                case "offer" -> done(offer(r));
                case "answer" -> answer(r);
                case "delete" -> done(delete(r));
                case "query" -> done(query(r));
                case "list" -> done(list(r));
                case "statistics" -> done(statistics());
                default ->
                        throw new NgError(
                                NgMetrics.KNOWN_UNSUPPORTED.contains(cmd)
                                        ? "msm does not support the '" + cmd + "' command"
                                        : "Unrecognized command");
            };
        } catch (NgError e) {
            return done(error(e.getMessage()));
        }
    }

    static Map<String, Object> error(String reason) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("result", "error");
        m.put("error-reason", reason);
        return m;
    }

    private static CompletableFuture<Map<String, Object>> done(Map<String, Object> m) {
        return CompletableFuture.completedFuture(m);
    }

    private static String required(NgRequest r, String key) throws NgError {
        String v = r.string(key);
        if (v == null || v.isEmpty()) {
            throw new NgError("No " + key + " in message");
        }
        if (v.length() > 256) {
            throw new NgError(key + " longer than 256 bytes");
        }
        return v;
    }

    // ------------------------------------------------------------------ offer

    private Map<String, Object> offer(NgRequest r) throws NgError {
        String callId = required(r, "call-id");
        String fromTag = required(r, "from-tag");
        Sdp sdp = parse(r);
        if (sdp.media().size() > settings.maxMediaLines()) {
            metrics.refusals()
                    .refuse(
                            "media_lines",
                            "call " + callId + ": an SDP with " + sdp.media().size() + " m= lines");
            throw new NgError(
                    "more than ng.max-media-lines ("
                            + settings.maxMediaLines()
                            + ") media sections");
        }
        checkProtocol(r, sdp);
        InetAddress override = mediaAddressOverride(r);
        List<InetSocketAddress> rtp = new ArrayList<>();
        List<InetSocketAddress> rtcp = new ArrayList<>();
        try {
            for (int i = 0; i < sdp.media().size(); i++) {
                InetSocketAddress a = sdp.rtp(i);
                InetSocketAddress b = sdp.rtcp(i, false);
                if (a != null && override != null) {
                    a = new InetSocketAddress(override, a.getPort());
                    b = new InetSocketAddress(override, b.getPort());
                }
                if (a != null && !(a.getAddress() instanceof Inet4Address)) {
                    throw new NgError(
                            "media section " + (i + 1) + " is IPv6; msm anchors IPv4 media");
                }
                rtp.add(a);
                rtcp.add(b);
            }
        } catch (SdpException e) {
            throw new NgError("Incomplete SDP specification: " + e.getMessage());
        }
        Call c = calls.get(callId);
        boolean fresh = c == null;
        long nowS = System.currentTimeMillis() / 1000;
        if (fresh) {
            if (calls.size() >= settings.maxCalls()) {
                metrics.refusals().refuse("max_calls", "call " + callId + ": ng.max-calls reached");
                rejected++;
                throw new NgError("Parallel session limit reached");
            }
            String label = label(r, "from-label");
            c =
                    new Call(
                            callId,
                            fromTag,
                            label != null ? label : fromTag,
                            labelOr(r, "to-label", ""),
                            System.currentTimeMillis(),
                            System.nanoTime());
            InetAddress peer = null;
            for (InetSocketAddress a : rtp) {
                if (a != null) {
                    peer = a.getAddress();
                    break;
                }
            }
            List<String> dir = r.list("direction");
            if (dir.isEmpty()) {
                String fi = r.string("from-interface");
                String ti = r.string("to-interface");
                if (fi != null || ti != null) {
                    dir = new ArrayList<>();
                    dir.add(fi);
                    dir.add(ti);
                }
            }
            InetAddress fc = iface(dir.size() > 0 ? dir.get(0) : null);
            if (fc == null) {
                fc = settings.mediaAddress();
            }
            if (fc == null && peer != null) {
                fc = node.facing(peer);
            }
            InetAddress fe = iface(dir.size() > 1 ? dir.get(1) : null);
            if (fe == null) {
                fe = settings.mediaAddress() != null ? settings.mediaAddress() : fc;
            }
            if (!(fc instanceof Inet4Address) || !(fe instanceof Inet4Address)) {
                throw new NgError(
                        "no IPv4 address of this node towards the parties (set ng.media-address)");
            }
            c.facing(fc, fe);
        }
        Side side = fresh ? Side.CALLER : c.sideOf(fromTag);
        List<Integer> need = new ArrayList<>();
        List<InetSocketAddress> expect = new ArrayList<>();
        for (int i = 0; i < sdp.media().size(); i++) {
            Call.Stream s = c.stream(i, sdp.media().get(i).type());
            if (!sdp.media().get(i).disabled() && s.ports() == null) {
                need.add(i);
                expect.add(side == Side.CALLER ? rtp.get(i) : null);
            }
        }
        MediaAdmission.Lease lease = c.mediaLease();
        if (!need.isEmpty()) {
            int streams = need.size();
            for (Call.Stream st : c.streams()) {
                if (st.ports() != null) {
                    streams++;
                }
            }
            int ports = PORTS_PER_STREAM * streams;
            int groups = groupsPerStream() * streams;
            boolean fits;
            if (lease == null) {
                lease = share.reserve(ports, groups);
                fits = lease != null;
                if (fits) {
                    c.admitted(lease, null);
                }
            } else {
                fits = lease.ensure(ports, groups);
            }
            if (!fits) {
                metrics.refusals()
                        .refuse(
                                "media_share",
                                "call "
                                        + callId
                                        + ": "
                                        + streams
                                        + " streams do not fit the media plane");
                rejected++;
                if (fresh) {
                    dropStreams(c);
                }
                throw new NgError("Ran out of ports");
            }
            MediaSession m = c.media();
            if (m == null) {
                m = new MediaSession(plane, "ng");
            }
            List<StreamPorts> got;
            try {
                got = m.allocate(need, c.facing(Side.CALLER), c.facing(Side.CALLEE), expect);
            } catch (IOException | RuntimeException e) {
                metrics.refusals().refuse("ports", "call " + callId + ": " + e.getMessage());
                rejected++;
                if (fresh) {
                    c.release();
                    dropStreams(c);
                }
                throw new NgError("Ran out of ports");
            }
            c.media(m);
            for (int k = 0; k < need.size(); k++) {
                c.streams().get(need.get(k)).anchoredOn(got.get(k));
            }
        }
        for (int i = 0; i < sdp.media().size(); i++) {
            Call.Stream s = c.streams().get(i);
            Sdp.Media m = sdp.media().get(i);
            Party p = s.party(side);
            s.party(
                    side,
                    m.disabled()
                            ? p.next(null, null, Direction.INACTIVE, false)
                            : p.next(rtp.get(i), rtcp.get(i), sdp.direction(i), m.rtcpMux()));
        }
        c.offer(new Call.Offer(side, sdp));
        Extra x;
        if (fresh) {
            calls.put(callId, c);
            active = calls.size();
            x = new Extra(nowS);
            x.fromLabel = label(r, "from-label");
            extras.put(c, x);
            managed++;
        } else {
            x = extras.get(c);
            x.lastSignalS = nowS;
        }
        Side receiver = side.other();
        byte[] out = sdp.anchor((Inet4Address) c.facing(receiver), anchors(c, receiver, sdp));
        out = finish(out, r, (Inet4Address) c.facing(receiver));
        persist();
        return ok(out);
    }

    /** Streams added for a call that is not kept after all. */
    private static void dropStreams(Call c) {
        c.streams().clear();
    }

    // ------------------------------------------------------------------ answer

    private CompletableFuture<Map<String, Object>> answer(NgRequest r) throws NgError {
        String callId = required(r, "call-id");
        required(r, "from-tag");
        String toTag = required(r, "to-tag");
        Sdp a = parse(r);
        checkProtocol(r, a);
        Call c = calls.get(callId);
        if (c == null) {
            throw new NgError("Unknown call-id");
        }
        InetAddress override = mediaAddressOverride(r);
        Side answerer = toTag.equals(c.callerTag()) ? Side.CALLER : Side.CALLEE;
        Side offerer = answerer.other();
        if (c.offer() != null && c.offer().from() != offerer) {
            throw new NgError("Invalid dialogue association");
        }
        int n = Math.min(c.streams().size(), a.media().size());
        List<CompletableFuture<Void>> applied = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Call.Stream s = c.streams().get(i);
            Sdp.Media am = a.media().get(i);
            Party off = s.party(offerer);
            try {
                if (am.disabled() || off.rtp() == null && off.direction() == Direction.INACTIVE) {
                    s.party(offerer, off.next(null, null, Direction.INACTIVE, off.mux()));
                    s.party(
                            answerer,
                            s.party(answerer).next(null, null, Direction.INACTIVE, false));
                } else {
                    InetSocketAddress rtp = a.rtp(i);
                    InetSocketAddress rtcp = a.rtcp(i, false);
                    if (rtp != null && override != null) {
                        rtp = new InetSocketAddress(override, rtp.getPort());
                        rtcp = new InetSocketAddress(override, rtcp.getPort());
                    }
                    if (rtp != null && !(rtp.getAddress() instanceof Inet4Address)) {
                        throw new NgError(
                                "media section " + (i + 1) + " is IPv6; msm anchors IPv4 media");
                    }
                    s.party(
                            answerer,
                            s.party(answerer).next(rtp, rtcp, a.direction(i), am.rtcpMux()));
                }
            } catch (SdpException e) {
                throw new NgError("Incomplete SDP specification: " + e.getMessage());
            }
        }
        if (!c.answered()) {
            c.answer(System.currentTimeMillis(), toTag, null, null, List.of());
        } else if (answerer == Side.CALLEE) {
            c.calleeTagged(toTag);
        }
        Extra x = extras.get(c);
        x.lastSignalS = System.currentTimeMillis() / 1000;
        String tl = label(r, "to-label");
        if (tl == null && r.has("label")) {
            tl = label(r, "label");
        }
        if (tl != null) {
            x.toLabel = tl;
        }
        MediaSession m = c.media();
        for (int i = 0; i < n; i++) {
            if (m != null && c.streams().get(i).ports() != null) {
                LegPlan[] plans = c.streams().get(i).plans();
                applied.add(m.apply(i, plans[0], plans[1]));
            }
        }
        c.offer(null);
        byte[] out = a.anchor((Inet4Address) c.facing(offerer), anchors(c, offerer, a));
        out = finish(out, r, (Inet4Address) c.facing(offerer));
        persist();
        Map<String, Object> reply = ok(out);
        if (applied.isEmpty()) {
            return done(reply);
        }
        return CompletableFuture.allOf(applied.toArray(new CompletableFuture<?>[0]))
                .orTimeout(MEDIA_READY_MS, TimeUnit.MILLISECONDS)
                .handle(
                        (v, e) -> {
                            if (e != null) {
                                log.warn(
                                        "call {}: relays not ready before the answer is replied to: {}",
                                        callId,
                                        e.getMessage());
                                reply.put("warning", "media relays not ready yet");
                            }
                            return reply;
                        });
    }

    private static Map<String, Object> ok(byte[] sdp) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("result", "ok");
        m.put("sdp", sdp);
        return m;
    }

    // ------------------------------------------------------------------ delete, query, list

    private Map<String, Object> delete(NgRequest r) throws NgError {
        String callId = required(r, "call-id");
        Call c = calls.get(callId);
        String fromTag = r.string("from-tag");
        if (c != null
                && fromTag != null
                && !fromTag.isEmpty()
                && !fromTag.equals(c.callerTag())
                && !fromTag.equals(c.calleeTag())) {
            c = null;
        }
        if (c == null) {
            if (r.flag("fatal")) {
                throw new NgError("Unknown call-id");
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("result", "ok");
            m.put("warning", "Call-ID not found or tags didn't match");
            return m;
        }
        Map<String, Object> m = r.flag("fast") ? new LinkedHashMap<>() : queryOf(c);
        m.put("result", "ok");
        end(c, "delete");
        return m;
    }

    private Map<String, Object> query(NgRequest r) throws NgError {
        Call c = calls.get(required(r, "call-id"));
        if (c == null) {
            throw new NgError("Unknown call-id");
        }
        Map<String, Object> m = queryOf(c);
        m.put("result", "ok");
        return m;
    }

    /** rtpengine's query reply: created, last signal, tags (each with its medias), totals. */
    private Map<String, Object> queryOf(Call c) {
        Extra x = extras.get(c);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("created", x.createdS);
        m.put("last signal", x.lastSignalS);
        Map<String, Object> tags = new LinkedHashMap<>();
        String calleeTag = c.calleeTag() == null ? "" : c.calleeTag();
        long[] rtpTotals = new long[3];
        long[] rtcpTotals = new long[3];
        tags.put(
                c.callerTag(),
                tag(
                        c,
                        Side.CALLER,
                        c.callerTag(),
                        calleeTag,
                        x.fromLabel,
                        x.createdS,
                        rtpTotals,
                        rtcpTotals));
        tags.put(
                calleeTag,
                tag(
                        c,
                        Side.CALLEE,
                        calleeTag,
                        c.callerTag(),
                        x.toLabel,
                        x.lastSignalS,
                        rtpTotals,
                        rtcpTotals));
        m.put("tags", tags);
        Map<String, Object> totals = new LinkedHashMap<>();
        totals.put("RTP", counters(rtpTotals));
        totals.put("RTCP", counters(rtcpTotals));
        m.put("totals", totals);
        return m;
    }

    private Map<String, Object> tag(
            Call c,
            Side side,
            String tag,
            String other,
            String label,
            long created,
            long[] rtpTotals,
            long[] rtcpTotals) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("tag", tag);
        if (label != null) {
            t.put("label", label);
        }
        t.put("created", created);
        t.put("in dialogue with", other);
        List<Object> medias = new ArrayList<>();
        MediaSession ms = c.media();
        for (int i = 0; i < c.streams().size(); i++) {
            Call.Stream s = c.streams().get(i);
            Map<String, Object> md = new LinkedHashMap<>();
            md.put("index", (long) (i + 1));
            md.put("type", mediaType(c, i));
            md.put("protocol", "RTP/AVP");
            List<Object> mflags = new ArrayList<>();
            mflags.add("initialized");
            if (s.rtcpMux()) {
                mflags.add("rtcp-mux");
            }
            md.put("flags", mflags);
            List<Object> streams = new ArrayList<>();
            MediaSession.StreamRelays sr = ms == null ? null : ms.streams().get(i);
            MediaSession.Flow f =
                    sr == null
                            ? null
                            : side == Side.CALLER ? sr.callerToCallee() : sr.calleeToCaller();
            StreamPorts p = s.ports();
            Party party = s.party(side);
            streams.add(
                    stream(
                            p == null
                                    ? null
                                    : side == Side.CALLER ? p.callerSide() : p.calleeSide(),
                            party.lastRtp(),
                            f == null ? null : f.rtpStats(),
                            "RTP",
                            f == null ? "off" : f.servedBy(),
                            rtpTotals));
            streams.add(
                    stream(
                            p == null
                                    ? null
                                    : side == Side.CALLER ? p.callerSideRtcp() : p.calleeSideRtcp(),
                            party.lastRtcp(),
                            f == null ? null : f.rtcpStats(),
                            "RTCP",
                            f == null ? "off" : f.servedBy(),
                            rtcpTotals));
            md.put("streams", streams);
            if (f != null) {
                f.rtpReceiver().ifPresent(rs -> md.put("ssrc", ssrc(rs)));
            }
            medias.add(md);
        }
        t.put("medias", medias);
        return t;
    }

    private static String mediaType(Call c, int i) {
        ObjectNode j = CallCodec.toJson(c);
        return j.path("streams").path(i).path("media").asText("audio");
    }

    private static Map<String, Object> ssrc(RtpStreamStats rs) {
        Map<String, Object> s = new LinkedHashMap<>();
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("packets", rs.received());
        v.put("lost", rs.lost());
        v.put("jitter ms", Double.toString(rs.jitterMs()));
        s.put(Long.toString(rs.ssrc()), v);
        return s;
    }

    private static Map<String, Object> stream(
            InetSocketAddress local,
            InetSocketAddress endpoint,
            RelayStats st,
            String kind,
            String servedBy,
            long[] totals) {
        Map<String, Object> s = new LinkedHashMap<>();
        if (local != null) {
            s.put("local port", (long) local.getPort());
        }
        if (endpoint != null) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("family", endpoint.getAddress() instanceof Inet4Address ? "IPv4" : "IPv6");
            e.put("address", endpoint.getAddress().getHostAddress());
            e.put("port", (long) endpoint.getPort());
            s.put("endpoint", e);
            s.put("advertised endpoint", e);
        }
        RelayStats r = st == null ? RelayStats.ZERO : st;
        long[] c = {r.upstreamPackets(), r.upstreamBytes(), r.errors() + r.droppedOthers()};
        for (int i = 0; i < 3; i++) {
            totals[i] += c[i];
        }
        s.put("stats", counters(c));
        List<Object> fl = new ArrayList<>();
        fl.add(kind);
        if ("kernel".equals(servedBy)) {
            fl.add("kernelized");
        }
        s.put("flags", fl);
        return s;
    }

    private static Map<String, Object> counters(long[] c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("packets", c[0]);
        m.put("bytes", c[1]);
        m.put("errors", c[2]);
        return m;
    }

    private Map<String, Object> list(NgRequest r) {
        long limit = r.integer("limit", 32);
        if (limit <= 0) {
            limit = 32;
        }
        List<Object> ids = new ArrayList<>();
        for (String id : calls.keySet()) {
            if (ids.size() >= limit) {
                break;
            }
            ids.add(id);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("result", "ok");
        m.put("calls", ids);
        return m;
    }

    private Map<String, Object> statistics() {
        Map<String, Object> cur = new LinkedHashMap<>();
        cur.put("sessionsown", (long) calls.size());
        cur.put("sessionsforeign", 0L);
        cur.put("sessionstotal", (long) calls.size());
        cur.put("transcodedmedia", 0L);
        long pk = 0;
        long by = 0;
        long kernel = 0;
        for (Call c : calls.values()) {
            MediaSession m = c.media();
            if (m == null) {
                continue;
            }
            for (MediaSession.StreamRelays s : m.streams().values()) {
                for (MediaSession.Flow f :
                        new MediaSession.Flow[] {s.callerToCallee(), s.calleeToCaller()}) {
                    pk += f.rtpStats().upstreamPackets() + f.rtcpStats().upstreamPackets();
                    by += f.rtpStats().upstreamBytes() + f.rtcpStats().upstreamBytes();
                    if ("kernel".equals(f.servedBy())) {
                        kernel++;
                    }
                }
            }
        }
        cur.put("packets", pk);
        cur.put("bytes", by);
        cur.put("kernelized flows", kernel);
        Map<String, Object> tot = new LinkedHashMap<>();
        tot.put("managedsessions", managed);
        tot.put("rejectedsessions", rejected);
        tot.put("timeoutsessions", timedOut);
        tot.put("finalsessions", deleted);
        Map<String, Object> st = new LinkedHashMap<>();
        st.put("currentstatistics", cur);
        st.put("totalstatistics", tot);
        st.put("media plane", plane.mode());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("result", "ok");
        m.put("statistics", st);
        return m;
    }

    // ------------------------------------------------------------------ SDP helpers

    private Sdp parse(NgRequest r) throws NgError {
        byte[] body = r.bytes("sdp");
        if (body == null || body.length == 0) {
            throw new NgError("No SDP body in message");
        }
        try {
            return Sdp.parse(body);
        } catch (SdpException e) {
            throw new NgError("Failed to parse SDP: " + e.getMessage());
        }
    }

    /**
     * transport-protocol: msm relays packets as they are, so only a protocol the SDP already has
     * (or RTP/AVP for RTP/AVPF and back, which differ only in feedback) is accepted.
     */
    private static void checkProtocol(NgRequest r, Sdp sdp) throws NgError {
        String p = r.string("transport-protocol");
        if (p == null || p.equalsIgnoreCase("accept")) {
            return;
        }
        for (Sdp.Media m : sdp.media()) {
            if (m.disabled() || m.proto().equalsIgnoreCase(p)) {
                continue;
            }
            boolean plain =
                    (m.proto().equalsIgnoreCase("RTP/AVP")
                                    || m.proto().equalsIgnoreCase("RTP/AVPF"))
                            && (p.equalsIgnoreCase("RTP/AVP") || p.equalsIgnoreCase("RTP/AVPF"));
            if (!plain) {
                throw new NgError(
                        "transport-protocol "
                                + p
                                + " for "
                                + m.proto()
                                + " media needs translation, which msm does not do");
            }
        }
    }

    /** "media address", or the SIP source with the "SIP source address" flag. */
    private static InetAddress mediaAddressOverride(NgRequest r) throws NgError {
        String ma = r.string("media-address");
        if (ma == null && (r.flag("sip-source-address") || r.flag("sip-source"))) {
            List<String> rf = r.list("received-from");
            if (rf.size() == 2) {
                ma = rf.get(1);
            }
        }
        if (ma == null) {
            return null;
        }
        if (!ma.matches("[0-9.]{7,15}|[0-9A-Fa-f:.]{2,45}")) {
            throw new NgError("media address '" + ma + "' is not an IP address");
        }
        try {
            return InetAddress.getByName(ma);
        } catch (UnknownHostException e) {
            throw new NgError("media address '" + ma + "' is not an IP address");
        }
    }

    private InetAddress iface(String name) throws NgError {
        if (name == null || name.isEmpty()) {
            return null;
        }
        InetAddress a = settings.interfaces().get(name);
        if (a == null && !settings.interfaces().isEmpty()) {
            throw new NgError(
                    "Unknown interface '"
                            + name
                            + "' (ng.interfaces has "
                            + String.join(", ", new TreeMap<>(settings.interfaces()).keySet())
                            + ")");
        }
        return a; // without ng.interfaces, rtpengine's legacy internal/external: ignored
    }

    private static String label(NgRequest r, String key) {
        String v = r.string(key);
        if (v == null && key.equals("from-label")) {
            v = r.string("label");
        }
        if (v == null || v.isEmpty()) {
            return null;
        }
        return v.length() > 64 ? v.substring(0, 64) : v;
    }

    private static String labelOr(NgRequest r, String key, String dflt) {
        String v = label(r, key);
        return v == null ? dflt : v;
    }

    /** The node ports that party {@code receiver} is told to send to, per media section. */
    private static List<Sdp.Anchor> anchors(Call call, Side receiver, Sdp sdp) {
        List<Sdp.Anchor> out = new ArrayList<>();
        List<Call.Stream> streams = call.streams();
        for (int i = 0; i < sdp.media().size(); i++) {
            StreamPorts p = i < streams.size() ? streams.get(i).ports() : null;
            if (p == null || sdp.media().get(i).disabled()) {
                out.add(null);
            } else {
                InetSocketAddress a = receiver == Side.CALLEE ? p.calleeSide() : p.callerSide();
                out.add(new Sdp.Anchor(a.getPort(), a.getPort() + 1));
            }
        }
        return out;
    }

    /**
     * What the anchored SDP still needs: the o= address with replace-origin, the m= protocol with
     * transport-protocol. (ICE is always removed, and every c= names the node: the same as
     * ICE=remove and replace-session-connection.)
     */
    private static byte[] finish(byte[] sdp, NgRequest r, Inet4Address node) {
        boolean origin = r.replaces("origin") || r.replaces("origin-full");
        String proto = r.string("transport-protocol");
        if (proto != null && (proto.equalsIgnoreCase("accept") || !proto.startsWith("RTP/"))) {
            proto = null;
        }
        if (!origin && proto == null) {
            return sdp;
        }
        String[] lines = new String(sdp, StandardCharsets.UTF_8).split("\r\n", -1);
        StringBuilder sb = new StringBuilder(sdp.length + 16);
        for (int i = 0; i < lines.length; i++) {
            String l = lines[i];
            if (origin && l.startsWith("o=")) {
                String[] f = l.split(" ");
                if (f.length == 6) {
                    f[4] = "IP4";
                    f[5] = node.getHostAddress();
                    l = String.join(" ", f);
                }
            } else if (proto != null && l.startsWith("m=")) {
                String[] f = l.split(" ");
                if (f.length >= 3 && !f[1].equals("0")) {
                    f[2] = proto;
                    l = String.join(" ", f);
                }
            }
            sb.append(l);
            if (i < lines.length - 1) {
                sb.append("\r\n");
            }
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------ end, timeouts, state

    private void end(Call c, String reason) {
        if (calls.remove(c.callId(), c)) {
            c.end();
            extras.remove(c);
            active = calls.size();
            MediaSession m = c.media();
            if (m != null) {
                m.close();
            }
            c.release();
            metrics.ended(reason);
            if (reason.equals("delete")) {
                deleted++;
            } else {
                timedOut++;
            }
            persist();
        }
    }

    /**
     * Ends the calls NG forgot: offers never answered within ng.setup-timeout, answered calls
     * without media for ng.rtp-timeout (the NG thread, every few seconds).
     */
    public void sweep() {
        long now = System.nanoTime();
        for (Call c : new ArrayList<>(calls.values())) {
            Extra x = extras.get(c);
            MediaSession m = c.media();
            long act = m == null ? 0 : m.activity();
            if (act != x.lastActivity) {
                x.lastActivity = act;
                x.activityAtNanos = now;
                continue;
            }
            long idle = now - x.activityAtNanos;
            if (!c.answered() && idle > settings.setupTimeout().toNanos()) {
                log.info("NG call {}: never answered; deleted", c.callId());
                end(c, "setup_timeout");
            } else if (c.answered() && idle > settings.rtpTimeout().toNanos()) {
                log.info("NG call {}: no media for {}; deleted", c.callId(), settings.rtpTimeout());
                end(c, "rtp_timeout");
            }
        }
    }

    /**
     * Keep the calls in the state file: at once without a scheduler (tests), else one snapshot of
     * all calls per {@link #PERSIST_DELAY_MS} at most on the NG thread, so setting up N calls does
     * not serialise all of them N times.
     */
    private void persist() {
        if (store == null) {
            return;
        }
        if (scheduler == null) {
            persistNow();
        } else if (!persistScheduled) {
            persistScheduled = true;
            scheduler.schedule(
                    () -> {
                        persistScheduled = false;
                        persistNow();
                    },
                    PERSIST_DELAY_MS,
                    TimeUnit.MILLISECONDS);
        }
    }

    /** The NG thread, for coalesced state-file snapshots (null: write at once). */
    void scheduler(ScheduledExecutorService s) {
        this.scheduler = s;
    }

    private void persistNow() {
        List<ObjectNode> out = new ArrayList<>();
        for (Call c : calls.values()) {
            out.add(CallCodec.toJson(c));
        }
        if (out.isEmpty() && !stored) {
            return;
        }
        store.save(out);
        stored = !out.isEmpty();
    }

    /**
     * The calls of the state file, relays re-opened on their ports (the kernel plane reclaims the
     * groups left forwarding) and brought to their plans; each takes its share again.
     */
    public int restore() {
        if (store == null) {
            return 0;
        }
        List<Call> loaded = store.load();
        stored = !loaded.isEmpty();
        int restored = 0;
        for (Call c : loaded) {
            MediaSession m = new MediaSession(plane, "ng");
            Map<Integer, StreamPorts> ports = new TreeMap<>();
            for (int i = 0; i < c.streams().size(); i++) {
                if (c.streams().get(i).ports() != null) {
                    ports.put(i, c.streams().get(i).ports());
                }
            }
            try {
                m.reopen(ports);
                for (int i : ports.keySet()) {
                    LegPlan[] p = c.streams().get(i).plans();
                    m.apply(i, p[0], p[1]);
                }
            } catch (IOException | RuntimeException e) {
                m.close();
                log.warn(
                        "NG call {} from the state file not restored: {} (its kernel entries are removed"
                                + " after datapath.orphan-grace)",
                        c.callId(),
                        e.getMessage());
                metrics.ended("restart_lost");
                continue;
            }
            c.media(m);
            c.admitted(
                    share.force(PORTS_PER_STREAM * ports.size(), groupsPerStream() * ports.size()),
                    null);
            calls.put(c.callId(), c);
            extras.put(c, new Extra(CallCodec.toJson(c).path("started_ms").asLong() / 1000));
            restored++;
        }
        active = calls.size();
        if (!loaded.isEmpty()) {
            log.info(
                    "restored {} of {} NG call(s) from {}: their media relays are open again",
                    restored,
                    loaded.size(),
                    store.file());
        }
        persist();
        return restored;
    }

    /** The calls for /calls, shaped as the SIP proxy's (with "via": "ng"). */
    public List<ObjectNode> json(long now) {
        List<ObjectNode> out = new ArrayList<>();
        for (Call c : calls.values()) {
            Extra x = extras.get(c);
            ObjectNode o = SipService.withRelays(CallCodec.toJson(c), c.media(), now);
            // the parties as NG knows them: their labels, else their tags
            o.put("caller", x.fromLabel != null ? x.fromLabel : "tag " + c.callerTag());
            o.put(
                    "callee",
                    x.toLabel != null
                            ? x.toLabel
                            : c.calleeTag() != null ? "tag " + c.calleeTag() : "(no answer yet)");
            o.put("via", "ng");
            out.add(o);
        }
        return out;
    }

    /** Stop; the relays stay (the kernel keeps forwarding), the state file is written. */
    @Override
    public void close() {
        if (store != null) {
            if (persistScheduled) {
                persistNow();
            }
            store.close();
        }
    }
}
