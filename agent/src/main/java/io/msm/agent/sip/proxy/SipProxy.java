package io.msm.agent.sip.proxy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.msm.agent.config.SipSettings;
import io.msm.agent.media.MediaPlane;
import io.msm.agent.sip.call.Call;
import io.msm.agent.sip.call.CallCodec;
import io.msm.agent.sip.call.CallMetrics;
import io.msm.agent.sip.call.CallStore;
import io.msm.agent.sip.call.LegPlan;
import io.msm.agent.sip.call.MediaSession;
import io.msm.agent.sip.call.Party;
import io.msm.agent.sip.call.Side;
import io.msm.agent.sip.call.StreamPorts;
import io.msm.agent.sip.message.Header;
import io.msm.agent.sip.message.HeaderNames;
import io.msm.agent.sip.message.NameAddr;
import io.msm.agent.sip.message.SipMessage;
import io.msm.agent.sip.message.SipParseException;
import io.msm.agent.sip.message.SipParser;
import io.msm.agent.sip.message.SipRequest;
import io.msm.agent.sip.message.SipResponse;
import io.msm.agent.sip.message.SipSyntaxException;
import io.msm.agent.sip.message.SipUri;
import io.msm.agent.sip.message.Via;
import io.msm.agent.sip.sdp.Direction;
import io.msm.agent.sip.sdp.Sdp;
import io.msm.agent.sip.sdp.SdpException;
import io.msm.agent.sip.transaction.ClientTransaction;
import io.msm.agent.sip.transaction.Network;
import io.msm.agent.sip.transaction.ServerTransaction;
import io.msm.agent.sip.transaction.Transactions;
import io.msm.agent.sip.transport.Hop;
import io.msm.agent.sip.transport.SipTransports;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * msm's SIP proxy: a transaction-stateful proxy (RFC 3261 section 16) that
 * record-routes the dialogs it sets up and anchors their media on the node.
 *
 * <p>Everything SIP happens on one event loop thread (parsing, transactions,
 * routing, call state); relays are opened, changed and closed on a second
 * thread (the media thread) so a slow port search never stalls signalling.
 *
 * <ul>
 *   <li>requests: Via received/rport (RFC 3581), Max-Forwards, loop
 *       detection by a hash in msm's branch (section 16.3), Proxy-Require
 *       refused (420), loose routing (msm's own Route entries removed), then
 *       REGISTER/OPTIONS for msm itself, in-dialog requests along their
 *       Route, initial requests to the location service, a static route,
 *       or an IP-literal Request-URI; INVITEs get 100 Trying at once;</li>
 *   <li>INVITE admission: sip.max-calls and sip.invites-per-second, and
 *       free media ports — otherwise 503 with Retry-After;</li>
 *   <li>media: SDP offers and answers are rewritten so each stream flows
 *       through a node port pair per side; the relays only accept the
 *       negotiated sources and send to the other party, from the port that
 *       party was given;</li>
 *   <li>calls end on BYE, CANCEL, a failure, or no RTP/RTCP for
 *       sip.rtp-timeout (msm then sends BYE both ways), which frees their
 *       ports and kernel entries; answered calls are kept in the state file
 *       and restored after a restart.</li>
 * </ul>
 */
public final class SipProxy implements SipTransports.Receiver, Network, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SipProxy.class);
    static final String BRANCH_PREFIX = Via.MAGIC + "-msm-";
    static final String ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE, PRACK, INFO, MESSAGE, "
            + "SUBSCRIBE, NOTIFY, REFER";
    private static final Set<String> DIALOG_CREATING = Set.of("INVITE", "SUBSCRIBE", "REFER");

    private final SipSettings cfg;
    private final InetSocketAddress listen;
    private final MediaPlane plane;
    private final CallMetrics metrics;
    private final CallStore store;
    private final EventLoopGroup group;
    private final EventLoop loop;
    /** How long a 2xx or ACK with an SDP answer waits, at most, for its relays before it is passed on. */
    static final long MEDIA_READY_MS = 2000;
    private static final CompletableFuture<Void> MEDIA_READY = CompletableFuture.completedFuture(null);
    private final ScheduledExecutorService media = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "msm-sip-media");
        t.setDaemon(true);
        return t;
    });
    private final SipTransports transports;
    private final Transactions txs;
    private Node node;
    private final Location location;
    private final StaticRoutes routes;
    private final InviteRate rate;
    private final Map<String, Call> calls = new HashMap<>();
    private final Set<MediaSession> sessions = ConcurrentHashMap.newKeySet();
    /** RTP watch of answered calls, media thread only */
    private final Map<String, Watch> watches = new HashMap<>();
    private volatile int active;
    /** server transactions at most; beyond, new requests get a stateless 503 */
    private final int maxTransactions;
    private final String instance = Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
    private long branches;
    private volatile boolean started;
    private int restored;
    /** the state file holds calls (or did when the agent started): an empty list must be written over it */
    private boolean stored;

    /** A call's RTP activity as last seen (media thread). */
    private static final class Watch {
        final MediaSession session;
        long count = -1;
        long changedAt = System.nanoTime();

        Watch(MediaSession session) {
            this.session = session;
        }
    }

    public SipProxy(SipSettings cfg, InetSocketAddress listen, MediaPlane plane, io.micrometer.core.instrument.MeterRegistry registry,
                    EventLoopGroup group) {
        this.cfg = cfg;
        this.listen = listen;
        this.plane = plane;
        this.group = group;
        this.loop = group.next();
        this.store = cfg.stateFile() == null ? null : new CallStore(cfg.stateFile());
        this.transports = new SipTransports(group, listen, cfg.tcp(), cfg.maxMessageBytes(), this);
        this.txs = new Transactions(this, cfg.timers());
        this.location = new Location(cfg.maxRegistrations(), System::currentTimeMillis);
        this.routes = new StaticRoutes(cfg.routes());
        this.rate = new InviteRate(cfg.invitesPerSecond(), System::nanoTime);
        this.maxTransactions = Math.max(1000, cfg.maxCalls() * 20);
        this.metrics = new CallMetrics(registry, () -> active, location::size, new CallMetrics.Live() {
            @Override
            public long copiesToCallee() {
                long n = 0;
                for (MediaSession m : sessions) {
                    for (MediaSession.StreamRelays s : m.streams().values()) {
                        n += s.callerToCallee().rtpStats().copies() + s.callerToCallee().rtcpStats().copies();
                    }
                }
                return n;
            }

            @Override
            public long copiesToCaller() {
                long n = 0;
                for (MediaSession m : sessions) {
                    for (MediaSession.StreamRelays s : m.streams().values()) {
                        n += s.calleeToCaller().rtpStats().copies() + s.calleeToCaller().rtcpStats().copies();
                    }
                }
                return n;
            }

            @Override
            public long strictDrops() {
                long n = 0;
                for (MediaSession m : sessions) {
                    for (MediaSession.StreamRelays s : m.streams().values()) {
                        n += s.callerToCallee().rtpStats().droppedOthers() + s.callerToCallee().rtcpStats().droppedOthers()
                                + s.calleeToCaller().rtpStats().droppedOthers()
                                + s.calleeToCaller().rtcpStats().droppedOthers();
                    }
                }
                return n;
            }
        });
    }

    /** Restore the state file's calls, then listen. */
    public void start() throws IOException {
        transports.start();
        node = new Node(transports.localAddress(), cfg.domains());
        try {
            loop.submit(this::restore).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.warn("restoring SIP calls failed: {}", e.toString());
        }
        long every = Math.max(200, Math.min(5000, cfg.rtpTimeout().toMillis() / 4));
        media.scheduleWithFixedDelay(this::checkRtp, every, every, TimeUnit.MILLISECONDS);
        loop.scheduleWithFixedDelay(location::purge, 30, 30, TimeUnit.SECONDS);
        started = true;
    }

    public boolean started() {
        return started;
    }

    public InetSocketAddress localAddress() {
        return transports.localAddress();
    }

    public int activeCalls() {
        return active;
    }

    public int restoredCalls() {
        return restored;
    }

    public String describe() {
        return "sip: " + (cfg.tcp() ? "udp+tcp " : "udp ") + io.msm.agent.sip.call.CallCodec.addr(transports.localAddress())
                + ", media anchored on the "
                + plane.mode() + " plane, " + restored + " call(s) restored"
                + (store == null ? ", state not persisted" : " (state file " + store.file() + ")");
    }

    // ------------------------------------------------------------------ Network (for transactions)

    @Override
    public void send(Hop to, byte[] data, Consumer<String> onFailure) {
        transports.send(to, data, onFailure);
    }

    @Override
    public Cancellable schedule(Duration delay, Runnable task) {
        ScheduledFuture<?> f = loop.schedule(task, Math.max(0, delay.toNanos()), TimeUnit.NANOSECONDS);
        return () -> f.cancel(false);
    }

    // ------------------------------------------------------------------ inbound

    @Override
    public void onMessage(byte[] data, Hop from, boolean oversized, int declared) {
        try {
            if (oversized) {
                metrics.bad("oversized");
                refuse(SipParser.oversized(data, declared, cfg.maxMessageBytes()), from);
                return;
            }
            SipMessage m;
            try {
                m = SipParser.parse(data, cfg.maxMessageBytes());
            } catch (SipParseException e) {
                metrics.bad(e.status() == 513 ? "oversized" : "malformed");
                log.debug("refused SIP message from {}: {}", from, e.getMessage());
                refuse(e, from);
                return;
            }
            if (m == null) {
                return; // keep-alive
            }
            if (m instanceof SipRequest r) {
                metrics.message(true, r.method());
                onRequest(r, from);
            } else {
                SipResponse s = (SipResponse) m;
                metrics.message(false, s.status() / 100 + "xx");
                onResponse(s);
            }
        } catch (RuntimeException e) {
            log.warn("SIP message from {} could not be handled: {}", from, e.toString());
            log.debug("stack", e);
        }
    }

    private void refuse(SipParseException e, Hop from) {
        SipResponse r = e.response(tag());
        if (r == null) {
            return; // no answer possible: dropped
        }
        try {
            Via v = r.topVia();
            sendStateless(r, responseHop(fixVia(v, from), from));
        } catch (SipSyntaxException ex) {
            // the Via did not parse after all: drop
        }
    }

    private void onRequest(SipRequest req, Hop from) {
        Via fixed = fixVia(req.topVia(), from);
        req.removeFirst(HeaderNames.VIA);
        req.addFirst(HeaderNames.VIA, fixed.toString());
        if (req.is("ACK")) {
            if (!txs.absorb(req)) {
                forwardAck(req, from);
            }
            return;
        }
        if (txs.absorb(req)) {
            return;
        }
        if (req.is("CANCEL")) {
            onCancel(req, from);
            return;
        }
        // limits before any state: a refused INVITE costs no transaction, a flood no memory
        if (req.is("INVITE") && req.to().tag() == null && !calls.containsKey(key(req.callId(), req.from().tag()))) {
            if (calls.size() >= cfg.maxCalls()) {
                metrics.refused("max_calls");
                busyStateless(req, from, fixed, cfg.retryAfter().toSeconds(),
                        "sip.max-calls (" + cfg.maxCalls() + ") calls in progress");
                return;
            }
            if (!rate.tryAcquire()) {
                metrics.refused("rate");
                busyStateless(req, from, fixed, 1, "more than sip.invites-per-second (" + cfg.invitesPerSecond()
                        + ") new calls");
                return;
            }
        }
        if (txs.serverCount() >= maxTransactions) {
            busyStateless(req, from, fixed, 1, "more than " + maxTransactions + " transactions in progress");
            return;
        }
        ServerTransaction st = txs.newServer(req, from, responseHop(fixed, from));
        if (req.is("INVITE")) {
            st.respond(SipResponse.to(req, 100, "Trying", null));
        }
        route(st, req, from);
    }

    /**
     * RFC 3261 section 18.2.1 received, RFC 3581 rport. received is written
     * whenever the sender put one in (or the sent-by differs): responses go
     * where the request really came from, never to an address a sender claims.
     */
    private static Via fixVia(Via v, Hop from) {
        InetAddress src = from.remote().getAddress();
        if (v.wantsRport()) {
            return v.with("rport", Integer.toString(from.remote().getPort())).with("received", src.getHostAddress());
        }
        if (v.received() != null || !src.equals(v.hostAddress())) {
            return v.with("received", src.getHostAddress());
        }
        return v;
    }

    /** Where responses to a request with this (fixed) top Via go: RFC 3261 section 18.2.2, RFC 3581 section 4. */
    private static Hop responseHop(Via v, Hop arrived) {
        InetAddress a = arrived.remote().getAddress();
        String received = v.received();
        InetAddress r = null;
        if (received != null) {
            try {
                r = SipUri.parse("sip:" + (received.indexOf(':') >= 0 ? "[" + received + "]" : received)).address();
            } catch (SipSyntaxException e) {
                r = null; // a bad received= from upstream: fall back to where the request came from
            }
        }
        if (r != null) {
            a = r;
        } else if (v.hostAddress() != null) {
            a = v.hostAddress();
        }
        int port = v.rport() > 0 ? v.rport() : v.portOrDefault();
        if (arrived.kind() == Hop.Kind.TCP) {
            return new Hop(Hop.Kind.TCP, arrived.remote(), arrived.connection());
        }
        return Hop.udp(new InetSocketAddress(a, port));
    }

    private void busyStateless(SipRequest req, Hop from, Via fixed, long retryAfter, String why) {
        SipResponse r = SipResponse.to(req, 503, null, tag());
        r.add(HeaderNames.RETRY_AFTER, Long.toString(retryAfter));
        r.add(HeaderNames.WARNING, "399 msm \"" + why + "\"");
        sendStateless(r, responseHop(fixed, from));
    }

    private void sendStateless(SipResponse r, Hop to) {
        transports.send(to, r.encode(), null);
    }

    private void reply(ServerTransaction st, int status, String warning) {
        SipResponse r = SipResponse.to(st.request(), status, null, tag());
        if (warning != null) {
            r.add(HeaderNames.WARNING, "399 msm \"" + warning.replace('"', '\'') + "\"");
        }
        st.respond(r);
    }

    // ------------------------------------------------------------------ routing

    private void route(ServerTransaction st, SipRequest req, Hop from) {
        if (!SipUri.isSip(req.uri())) {
            reply(st, 416, "msm routes sip: URIs only");
            return;
        }
        SipUri ruri = SipUri.parse(req.uri());
        if (ruri.scheme().equals("sips")) {
            reply(st, 416, "sips: needs TLS, which msm does not offer");
            return;
        }
        String mf = req.first(HeaderNames.MAX_FORWARDS);
        int maxFwd = mf == null ? 70 : Integer.parseInt(mf);
        String loopHash = loopHash(req);
        for (String v : req.all(HeaderNames.VIA)) {
            Via via = Via.parse(v);
            String b = via.branch();
            if (b != null && b.startsWith(BRANCH_PREFIX) && node.isUs(via)
                    && b.startsWith(loopHash, BRANCH_PREFIX.length())) {
                reply(st, 482, "the request came back to msm unchanged");
                return;
            }
        }
        List<String> proxyRequire = req.all(HeaderNames.PROXY_REQUIRE);
        if (!proxyRequire.isEmpty()) {
            SipResponse r = SipResponse.to(req, 420, null, tag());
            r.add(HeaderNames.UNSUPPORTED, String.join(", ", proxyRequire));
            st.respond(r);
            return;
        }
        popOwnRoutes(req);
        boolean hasRoute = req.has(HeaderNames.ROUTE);
        if (!hasRoute && req.is("REGISTER") && node.isOurHost(ruri.host())
                && (ruri.port() < 0 || ruri.port() == node.port())) {
            register(st, req);
            return;
        }
        if (!hasRoute && req.is("OPTIONS") && ruri.user() == null && node.isUs(ruri)) {
            SipResponse r = SipResponse.to(req, 200, null, tag());
            r.add(HeaderNames.ALLOW, ALLOW);
            r.add(HeaderNames.ACCEPT, "application/sdp");
            st.respond(r);
            return;
        }
        if (maxFwd == 0) {
            reply(st, 483, null);
            return;
        }
        if (req.to().tag() != null) {
            inDialog(st, req, from, maxFwd, loopHash);
        } else {
            initial(st, req, from, ruri, maxFwd, loopHash);
        }
    }

    private void popOwnRoutes(SipRequest req) {
        while (true) {
            String top = req.first(HeaderNames.ROUTE);
            if (top == null) {
                return;
            }
            NameAddr na = NameAddr.parse(top);
            if (!SipUri.isSip(na.uri()) || !node.isUs(na.sipUri())) {
                return;
            }
            req.removeFirst(HeaderNames.ROUTE);
        }
    }

    /**
     * RFC 3261 section 16.6 step 8 / 16.3 step 4: what a looping request
     * keeps unchanged (everything but the top Via), as 16 hex digits in
     * msm's branch.
     */
    static String loopHash(SipRequest r) {
        long h = 0xcbf29ce484222325L;
        h = fnv(h, r.uri());
        h = fnv(h, String.valueOf(r.from().tag()));
        h = fnv(h, String.valueOf(r.to().tag()));
        h = fnv(h, r.callId());
        h = fnv(h, Long.toString(r.cseq().number()));
        for (String p : r.all(HeaderNames.PROXY_REQUIRE)) {
            h = fnv(h, p);
        }
        for (String p : r.all(HeaderNames.ROUTE)) {
            h = fnv(h, p);
        }
        String s = Long.toHexString(h);
        return "0".repeat(16 - s.length()) + s;
    }

    private static long fnv(long h, String s) {
        for (int i = 0; i < s.length(); i++) {
            h ^= s.charAt(i);
            h *= 0x100000001b3L;
        }
        h ^= 0xff;
        return h * 0x100000001b3L;
    }

    private String newBranch(String loopHash) {
        return BRANCH_PREFIX + loopHash + "-" + instance + "." + Long.toString(++branches, 36);
    }

    private static String tag() {
        return Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);
    }

    /** Where a request goes next: its top Route, else its Request-URI; null if that is not an IP literal or is msm. */
    private Hop nextHop(SipRequest r) {
        String route = r.first(HeaderNames.ROUTE);
        SipUri u;
        try {
            if (route != null) {
                NameAddr na = NameAddr.parse(route);
                if (!SipUri.isSip(na.uri())) {
                    return null;
                }
                u = na.sipUri();
            } else {
                u = SipUri.parse(r.uri());
            }
        } catch (SipSyntaxException e) {
            return null;
        }
        InetAddress a = u.address();
        String maddr = u.param("maddr");
        if (maddr != null) {
            try {
                a = SipUri.parse("sip:" + maddr).address();
            } catch (SipSyntaxException e) {
                return null;
            }
        }
        if (a == null || node.isUs(u.host(), u.port())) {
            return null;
        }
        return new Hop(Hop.Kind.of(u.transport()), new InetSocketAddress(a, u.portOrDefault()), null);
    }

    /** Where an initial request is retargeted: the Request-URI to use (its hop follows from it). */
    private SipUri target(SipUri ruri) {
        List<Location.Binding> b = location.lookup(aorKey(ruri));
        if (!b.isEmpty()) {
            return SipUri.parse(b.get(0).contact());
        }
        SipSettings.Route r = routes.match(ruri);
        if (r != null) {
            SipUri t = ruri.withHostPort(SipUri.hostOf(r.target().address()), r.target().port());
            return "tcp".equals(r.transport()) ? t.withParam("transport", "tcp") : t.withoutParam("transport");
        }
        if (ruri.address() != null && !node.isUs(ruri)) {
            return ruri;
        }
        return null;
    }

    private void addVia(SipRequest fwd, Hop next, String loopHash) {
        InetAddress local = node.facing(next.remote().getAddress());
        String host = SipUri.hostOf(local == null ? listen.getAddress() : local);
        fwd.addFirst(HeaderNames.VIA, Via.of(next.kind().via(), host, node.port(), newBranch(loopHash)).toString());
    }

    /** Record-Route msm on both sides; two entries when the two sides face different node addresses (RFC 5658). */
    private void addRecordRoute(SipRequest fwd, Hop in, Hop out) {
        String inUri = rrUri(node.facing(in.remote().getAddress()), in.kind());
        String outUri = rrUri(node.facing(out.remote().getAddress()), out.kind());
        fwd.addFirst(HeaderNames.RECORD_ROUTE, "<" + inUri + ">");
        if (!inUri.equals(outUri)) {
            fwd.addFirst(HeaderNames.RECORD_ROUTE, "<" + outUri + ">");
        }
    }

    private String rrUri(InetAddress a, Hop.Kind kind) {
        return "sip:" + SipUri.hostOf(a == null ? listen.getAddress() : a) + ":" + node.port()
                + (kind == Hop.Kind.TCP ? ";transport=tcp" : "") + ";lr";
    }

    // ------------------------------------------------------------------ registrar and in-dialog

    private void register(ServerTransaction st, SipRequest req) {
        SipUri aorUri;
        try {
            aorUri = req.to().sipUri();
        } catch (SipSyntaxException e) {
            reply(st, 400, "the To of a REGISTER must be a sip: URI");
            return;
        }
        String aor = aorKey(aorUri);
        long maxExp = cfg.maxRegisterExpires().toSeconds();
        long dflt = 3600;
        String eh = req.first(HeaderNames.EXPIRES);
        if (eh != null) {
            if (!eh.trim().matches("\\d{1,10}")) {
                reply(st, 400, "bad Expires");
                return;
            }
            dflt = Long.parseLong(eh.trim());
        }
        List<String> contacts = req.all(HeaderNames.CONTACT);
        if (contacts.size() == 1 && contacts.get(0).trim().equals("*")) {
            if (dflt != 0) {
                reply(st, 400, "Contact: * needs Expires: 0");
                return;
            }
            location.removeAll(aor);
        } else {
            for (String c : contacts) {
                if (c.trim().equals("*")) {
                    reply(st, 400, "Contact: * must be alone");
                    return;
                }
                NameAddr na = NameAddr.parse(c);
                long exp = dflt;
                String e = na.param("expires");
                if (e != null) {
                    if (!e.matches("\\d{1,10}")) {
                        reply(st, 400, "bad expires parameter");
                        return;
                    }
                    exp = Long.parseLong(e);
                }
                if (!SipUri.isSip(na.uri())) {
                    reply(st, 400, "only sip: contacts can be registered");
                    return;
                }
                if (!location.update(aor, na.uri(), Math.min(exp, maxExp))) {
                    SipResponse r = SipResponse.to(req, 503, null, tag());
                    r.add(HeaderNames.RETRY_AFTER, Long.toString(cfg.retryAfter().toSeconds()));
                    r.add(HeaderNames.WARNING, "399 msm \"location service full (sip.max-registrations)\"");
                    st.respond(r);
                    return;
                }
            }
        }
        SipResponse ok = SipResponse.to(req, 200, null, tag());
        long now = System.currentTimeMillis();
        for (Location.Binding b : location.lookup(aor)) {
            ok.add(HeaderNames.CONTACT, "<" + b.contact() + ">;expires=" + b.remainingSeconds(now));
        }
        st.respond(ok);
    }

    /**
     * The location service's key for a URI: "user@host", where every one of
     * the node's own addresses counts as the same host — a UA registered at
     * one node address is reachable through the others (a node has one
     * address per network it joins).
     */
    private String aorKey(SipUri u) {
        String user = u.userName() == null ? "" : u.userName();
        if (u.address() != null && node.isOurHost(u.host())) {
            return user + "@(this node)";
        }
        return u.aor();
    }

    private static String key(String callId, String tag) {
        return callId + "|" + tag;
    }

    private static String key(Call c) {
        return key(c.callId, c.callerTag);
    }

    private Call findCall(SipMessage m) {
        String id = m.callId();
        Call c = calls.get(key(id, m.from().tag()));
        if (c == null && m.to().tag() != null) {
            c = calls.get(key(id, m.to().tag()));
        }
        return c;
    }

    private void inDialog(ServerTransaction st, SipRequest req, Hop from, int maxFwd, String loopHash) {
        SipRequest fwd = req.copy();
        fwd.set(HeaderNames.MAX_FORWARDS, Integer.toString(maxFwd - 1));
        Hop next = nextHop(fwd);
        if (next == null) {
            reply(st, 404, "no route for this in-dialog request (Route or Request-URI is not an IP address)");
            return;
        }
        Call call = findCall(req);
        Side side = null;
        if (call != null) {
            side = call.sideOf(req.from().tag());
            long n = req.cseq().number();
            if (side == Side.CALLER) {
                call.callerCseq = Math.max(call.callerCseq, n);
            } else {
                call.calleeCseq = Math.max(call.calleeCseq, n);
            }
        }
        addVia(fwd, next, loopHash);
        Forward ctx = new Forward(st, fwd, next, call, side, false);
        st.context(ctx);
        if (call != null && call.active() && (req.is("INVITE") || req.is("UPDATE")) && req.hasSdp()) {
            ctx.offerInRequest = true;
            offer(call, side, fwd, () -> forward(ctx), (status, why) -> fail(ctx, status, why));
        } else {
            ctx.offerInRequest = req.hasSdp();
            forward(ctx);
        }
    }

    private void initial(ServerTransaction st, SipRequest req, Hop from, SipUri ruri, int maxFwd, String loopHash) {
        SipUri t = target(ruri);
        if (t == null) {
            reply(st, 404, node.isOurHost(ruri.host()) ? "no registration for " + ruri.userName() + " at this node"
                    : "no route to " + ruri.host() + " (msm routes registered users, sip.routes and IP addresses)");
            return;
        }
        SipRequest fwd = req.copy();
        fwd.uri(t.toString());
        fwd.set(HeaderNames.MAX_FORWARDS, Integer.toString(maxFwd - 1));
        Hop next = nextHop(fwd);
        if (next == null) {
            reply(st, 404, "the target " + t + " is not an IP address msm can reach");
            return;
        }
        Call call = null;
        if (req.is("INVITE")) {
            String k = key(req.callId(), req.from().tag());
            Call existing = calls.get(k);
            if (existing == null) { // admitted (max-calls, invites-per-second) in onRequest
                call = newCall(req, from, next);
                calls.put(k, call);
                active = calls.size();
                metrics.attempt();
            } // else: the same INVITE spiralling back through msm: its media is anchored already
        }
        if (DIALOG_CREATING.contains(req.method())) {
            addRecordRoute(fwd, from, next);
        }
        addVia(fwd, next, loopHash);
        Forward ctx = new Forward(st, fwd, next, call, Side.CALLER, true);
        st.context(ctx);
        ctx.offerInRequest = req.hasSdp();
        if (call != null && req.hasSdp()) {
            Call c = call;
            offer(call, Side.CALLER, fwd, () -> forward(ctx), (status, why) -> {
                if (status != 503) {
                    metrics.outcome("failed"); // 503s for ports were counted as refused
                }
                fail(ctx, status, why);
                endCall(c, null);
            });
        } else {
            forward(ctx);
        }
    }

    private Call newCall(SipRequest req, Hop from, Hop next) {
        Call c = new Call(req.callId(), req.from().tag(), req.from().uri(), req.to().uri(), System.currentTimeMillis(),
                System.nanoTime());
        c.callerFrom = req.first(HeaderNames.FROM);
        c.callerContact = contactUri(req);
        c.callerCseq = req.cseq().number();
        c.callerHop = from;
        c.calleeHop = next;
        InetAddress callerMedia = from.remote().getAddress();
        if (req.hasSdp()) {
            try {
                Sdp sdp = Sdp.parse(req.body());
                for (int i = 0; i < sdp.media().size(); i++) {
                    InetSocketAddress a = sdp.rtp(i);
                    if (a != null) {
                        callerMedia = a.getAddress();
                        break;
                    }
                }
            } catch (SdpException e) {
                // refused when the offer is anchored
            }
        }
        c.facingCaller = node.facing(callerMedia);
        c.facingCallee = node.facing(next.remote().getAddress());
        c.media = new MediaSession(plane);
        sessions.add(c.media);
        return c;
    }

    private static String contactUri(SipMessage m) {
        String c = m.first(HeaderNames.CONTACT);
        if (c == null || c.trim().equals("*")) {
            return null;
        }
        try {
            return NameAddr.parse(c).uri();
        } catch (SipSyntaxException e) {
            return null;
        }
    }

    private void busy(ServerTransaction st, long retryAfter, String why) {
        SipResponse r = SipResponse.to(st.request(), 503, null, tag());
        r.add(HeaderNames.RETRY_AFTER, Long.toString(retryAfter));
        r.add(HeaderNames.WARNING, "399 msm \"" + why + "\"");
        st.respond(r);
    }

    // ------------------------------------------------------------------ forwarding and responses

    /** One request forwarded: its server and client transaction, the call it belongs to, CANCEL and timer C state. */
    private final class Forward implements ClientTransaction.Listener {
        final ServerTransaction st;
        final SipRequest fwd;
        final Hop next;
        final Call call;
        final Side side;
        final boolean initial;
        ClientTransaction ct;
        boolean cancelled;
        boolean cancelPending;
        boolean offerInRequest;
        Cancellable timerC;

        Forward(ServerTransaction st, SipRequest fwd, Hop next, Call call, Side side, boolean initial) {
            this.st = st;
            this.fwd = fwd;
            this.next = next;
            this.call = call;
            this.side = side;
            this.initial = initial;
        }

        boolean invite() {
            return fwd.is("INVITE");
        }

        void startTimerC() {
            if (timerC != null) {
                timerC.cancel();
            }
            timerC = schedule(cfg.timers().c(), this::onTimerC);
        }

        private void onTimerC() {
            if (st.finalSent() || ct == null) {
                return;
            }
            if (ct.provisionalSeen()) {
                sendCancel(this); // the 487 that follows goes upstream
            } else {
                txs.terminate(ct);
                reply(st, 408, "no final answer within timer C");
                if (call != null && initial) {
                    metrics.outcome("no_answer");
                    endCall(call, null);
                }
            }
        }

        @Override
        public void onResponse(ClientTransaction tx, SipResponse resp) {
            SipResponse up = resp.copy();
            up.removeFirst(HeaderNames.VIA);
            if (!up.has(HeaderNames.VIA)) {
                return;
            }
            int s = resp.status();
            if (s == 100) {
                return; // msm sent its own
            }
            if (invite()) {
                if (s < 200) {
                    startTimerC();
                    if (cancelPending) {
                        cancelPending = false;
                        sendCancel(this);
                    }
                } else if (timerC != null) {
                    timerC.cancel();
                }
            }
            if (call == null) {
                st.respond(up);
                return;
            }
            Side responder = side == null ? null : side.other();
            boolean sdpMethod = invite() || fwd.is("UPDATE") || fwd.is("PRACK");
            if (call.active() && responder != null && sdpMethod && resp.hasSdp() && s < 300) {
                if (offerInRequest) {
                    CompletableFuture<Void> ready = answer(call, responder, up);
                    if (!ready.isDone()) {
                        whenMediaReady(ready, () -> afterResponse(this, resp, up));
                        return;
                    }
                } else {
                    if (call.allocating) {
                        return; // a retransmission while the first copy's ports are being opened: the next one passes
                    }
                    // a late offer in the response (the ACK carries the answer)
                    offer(call, responder, up, () -> afterResponse(this, resp, up), (status, why) -> {
                        log.warn("call {}: cannot anchor the offer in a {}: {}", call.callId, s, why);
                        afterResponse(this, resp, up);
                    });
                    return;
                }
            }
            afterResponse(this, resp, up);
        }

        @Override
        public void onTimeout(ClientTransaction tx) {
            if (!st.finalSent()) {
                reply(st, 408, "no answer from " + next);
            }
            if (call != null) {
                if (initial && invite()) {
                    metrics.outcome("no_answer");
                    endCall(call, null);
                } else if (fwd.is("BYE")) {
                    endCall(call, "bye");
                }
            }
        }

        @Override
        public void onTransportError(ClientTransaction tx, String why) {
            if (!st.finalSent()) {
                reply(st, 503, "cannot send to " + next + ": " + why);
            }
            if (call != null) {
                if (initial && invite()) {
                    metrics.outcome("failed");
                    endCall(call, null);
                } else if (fwd.is("BYE")) {
                    endCall(call, "bye");
                }
            }
        }
    }

    /** Call state from a response, then the response upstream. */
    private void afterResponse(Forward ctx, SipResponse resp, SipResponse up) {
        Call call = ctx.call;
        int s = resp.status();
        if (call != null && ctx.initial && ctx.invite()) {
            String toTag = resp.to().tag();
            if (toTag != null && call.calleeTag == null && s > 100) {
                call.calleeTag = toTag;
            }
            if (s < 200) {
                if (call.state == Call.State.SETUP) {
                    call.state = Call.State.EARLY;
                }
            } else if (s < 300) {
                if (call.active() && call.state != Call.State.ANSWERED) {
                    call.state = Call.State.ANSWERED;
                    call.answeredAtMs = System.currentTimeMillis();
                    call.calleeTag = toTag;
                    call.calleeTo = resp.first(HeaderNames.TO);
                    call.calleeContact = contactUri(resp);
                    call.recordRoute = List.copyOf(resp.all(HeaderNames.RECORD_ROUTE));
                    metrics.setupTime(System.nanoTime() - call.startNanos);
                    metrics.outcome("answered");
                    watch(call);
                    persist();
                }
            } else if (call.active() && call.state != Call.State.ANSWERED) {
                metrics.outcome(CallMetrics.outcomeOf(s));
                endCall(call, null);
            }
        } else if (call != null && ctx.fwd.is("BYE") && s >= 200) {
            endCall(call, "bye");
        } else if (call != null && s >= 300 && ctx.invite() && call.offer != null && call.offer.from() == ctx.side) {
            call.offer = null; // a refused re-INVITE leaves the media as it was (nothing was committed)
        }
        ctx.st.respond(up);
    }

    private void forward(Forward ctx) {
        if (ctx.cancelled || ctx.st.finalSent()) {
            return;
        }
        ctx.ct = txs.newClient(ctx.fwd, ctx.next, ctx);
        if (ctx.invite()) {
            ctx.startTimerC();
        }
    }

    private void fail(Forward ctx, int status, String why) {
        if (!ctx.st.finalSent()) {
            if (status == 503) {
                busy(ctx.st, cfg.retryAfter().toSeconds(), why);
            } else {
                reply(ctx.st, status, why);
            }
        }
    }

    private void onResponse(SipResponse resp) {
        if (txs.onResponse(resp)) {
            return;
        }
        // a 2xx to an INVITE after msm's transaction ended: forward it statelessly (RFC 3261 section 16.7)
        Via top = resp.topVia();
        if (top == null || top.branch() == null || !top.branch().startsWith(BRANCH_PREFIX) || !node.isUs(top)
                || !resp.success() || !"INVITE".equals(resp.cseq().method())) {
            return;
        }
        SipResponse up = resp.copy();
        up.removeFirst(HeaderNames.VIA);
        Via next = up.topVia();
        if (next == null) {
            return;
        }
        Call call = findCall(resp);
        CompletableFuture<Void> ready = MEDIA_READY;
        if (call != null && call.active() && resp.hasSdp() && call.offer != null) {
            Side responder = call.offer.from().other();
            ready = answer(call, responder, up);
        }
        InetAddress a = next.hostAddress();
        String received = next.received();
        if (received != null) {
            try {
                a = SipUri.parse("sip:" + (received.indexOf(':') >= 0 ? "[" + received + "]" : received)).address();
            } catch (SipSyntaxException e) {
                return;
            }
        }
        if (a == null) {
            return;
        }
        int port = next.rport() > 0 ? next.rport() : next.portOrDefault();
        Hop hop = new Hop(Hop.Kind.of(next.transport()), new InetSocketAddress(a, port), null);
        whenMediaReady(ready, () -> sendStateless(up, hop));
    }

    /** The ACK of a 2xx: end to end, forwarded statelessly along its Route (it may carry a late answer). */
    private void forwardAck(SipRequest req, Hop from) {
        String mf = req.first(HeaderNames.MAX_FORWARDS);
        int maxFwd = mf == null ? 70 : Integer.parseInt(mf);
        if (maxFwd == 0) {
            return;
        }
        String loopHash = loopHash(req);
        popOwnRoutes(req);
        SipRequest fwd = req.copy();
        fwd.set(HeaderNames.MAX_FORWARDS, Integer.toString(maxFwd - 1));
        Hop next = nextHop(fwd);
        if (next == null) {
            return;
        }
        Call call = findCall(req);
        CompletableFuture<Void> ready = MEDIA_READY;
        if (call != null && call.active() && req.hasSdp() && call.offer != null) {
            Side side = call.sideOf(req.from().tag());
            if (call.offer.from() != side) {
                ready = answer(call, side, fwd);
            }
        }
        // the same branch for retransmissions of this ACK (section 16.11)
        String b = BRANCH_PREFIX + loopHash + "-a" + Long.toHexString(req.topVia().toString().hashCode() & 0xffffffffL);
        InetAddress local = node.facing(next.remote().getAddress());
        fwd.addFirst(HeaderNames.VIA, Via.of(next.kind().via(), SipUri.hostOf(local == null ? listen.getAddress() : local),
                node.port(), b).toString());
        whenMediaReady(ready, () -> transports.send(next, fwd.encode(), null));
    }

    private void onCancel(SipRequest req, Hop from) {
        ServerTransaction inv = txs.findInviteFor(req);
        if (inv == null) {
            sendStateless(SipResponse.to(req, 481, null, tag()), responseHop(req.topVia(), from));
            return;
        }
        ServerTransaction cst = txs.newServer(req, from, responseHop(req.topVia(), from));
        cst.respond(SipResponse.to(req, 200, null, tag()));
        if (inv.finalSent() || !(inv.context() instanceof Forward ctx)) {
            return;
        }
        ctx.cancelled = true;
        if (ctx.ct == null) {
            // not forwarded yet (media ports being opened): end it here
            SipResponse r = SipResponse.to(inv.request(), 487, null, tag());
            inv.respond(r);
            if (ctx.call != null && ctx.initial) {
                metrics.outcome("cancelled");
                endCall(ctx.call, null);
            }
        } else if (ctx.ct.provisionalSeen()) {
            sendCancel(ctx);
        } else {
            ctx.cancelPending = true; // RFC 3261 section 9.1: not before a provisional response
        }
    }

    private void sendCancel(Forward ctx) {
        SipRequest inv = ctx.fwd;
        List<Header> h = new ArrayList<>();
        h.add(new Header(HeaderNames.VIA, inv.first(HeaderNames.VIA)));
        for (String r : inv.all(HeaderNames.ROUTE)) {
            h.add(new Header(HeaderNames.ROUTE, r));
        }
        h.add(new Header(HeaderNames.MAX_FORWARDS, "70"));
        h.add(new Header(HeaderNames.FROM, inv.first(HeaderNames.FROM)));
        h.add(new Header(HeaderNames.TO, inv.first(HeaderNames.TO)));
        h.add(new Header(HeaderNames.CALL_ID, inv.callId()));
        h.add(new Header(HeaderNames.CSEQ, inv.cseq().number() + " CANCEL"));
        txs.newClient(new SipRequest("CANCEL", inv.uri(), h, null), ctx.next, IGNORE);
        // RFC 3261 section 9.1: no final answer 64*T1 after the CANCEL: give up on the branch
        schedule(cfg.timers().sixtyFourT1(), () -> {
            if (ctx.st.finalSent()) {
                return;
            }
            if (ctx.ct != null) {
                txs.terminate(ctx.ct);
            }
            reply(ctx.st, 408, "no final answer after CANCEL");
            if (ctx.call != null && ctx.initial) {
                metrics.outcome("no_answer");
                endCall(ctx.call, null);
            }
        });
    }

    private static final ClientTransaction.Listener IGNORE = new ClientTransaction.Listener() {
        @Override
        public void onResponse(ClientTransaction tx, SipResponse response) {
        }

        @Override
        public void onTimeout(ClientTransaction tx) {
        }

        @Override
        public void onTransportError(ClientTransaction tx, String why) {
        }
    };

    // ------------------------------------------------------------------ media: offers and answers

    /** What to do when an offer could not be anchored: answer status and why. */
    @FunctionalInterface
    private interface Failure {
        void fail(int status, String why);
    }

    /**
     * An SDP offer from {@code side}: open ports for new streams (on the
     * media thread), rewrite the SDP towards the other side, remember the
     * offer; then {@code then} on the proxy thread.
     */
    private void offer(Call call, Side side, SipMessage msg, Runnable then, Failure failure) {
        Sdp sdp;
        List<InetSocketAddress> rtp = new ArrayList<>();
        try {
            sdp = Sdp.parse(msg.body());
            for (int i = 0; i < sdp.media().size(); i++) {
                InetSocketAddress a = sdp.rtp(i);
                sdp.rtcp(i, false);
                if (a != null && !(a.getAddress() instanceof Inet4Address)) {
                    throw new SdpException("media section " + (i + 1) + " is IPv6; msm anchors IPv4 media");
                }
                rtp.add(a);
            }
        } catch (SdpException e) {
            failure.fail(488, e.getMessage());
            return;
        }
        if (!(call.facingCaller instanceof Inet4Address) || !(call.facingCallee instanceof Inet4Address)) {
            failure.fail(488, "the node has no IPv4 address towards both parties");
            return;
        }
        List<Integer> needPorts = new ArrayList<>();
        List<InetSocketAddress> expect = new ArrayList<>();
        for (int i = 0; i < sdp.media().size(); i++) {
            if (i >= call.streams.size()) {
                call.streams.add(new Call.Stream(sdp.media().get(i).type()));
            }
            if (!sdp.media().get(i).disabled() && call.streams.get(i).ports == null) {
                needPorts.add(i);
                expect.add(side == Side.CALLER ? rtp.get(i) : null);
            }
        }
        if (needPorts.isEmpty()) {
            rewriteOffer(call, side, msg, sdp);
            then.run();
            return;
        }
        MediaSession session = call.media;
        InetAddress fc = call.facingCaller;
        InetAddress fe = call.facingCallee;
        call.allocating = true;
        CompletableFuture.supplyAsync(() -> {
            try {
                return session.allocate(needPorts, fc, fe, expect);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, media).whenCompleteAsync((ports, err) -> {
            call.allocating = false;
            if (err != null) {
                Throwable c = err.getCause() != null ? err.getCause() : err;
                log.warn("call {}: no media ports: {}", call.callId, c.getMessage());
                metrics.refused("ports");
                failure.fail(503, "no free media ports: " + c.getMessage());
                return;
            }
            for (int k = 0; k < needPorts.size(); k++) {
                call.streams.get(needPorts.get(k)).ports = ports.get(k);
            }
            if (!call.active()) {
                return; // cancelled meanwhile: endCall closed the session after the allocation
            }
            rewriteOffer(call, side, msg, sdp);
            then.run();
        }, loop);
    }

    private void rewriteOffer(Call call, Side side, SipMessage msg, Sdp sdp) {
        Side receiver = side.other();
        msg.body(sdp.anchor((Inet4Address) call.facing(receiver), anchors(call, receiver, sdp)));
        call.offer = new Call.Offer(side, sdp);
    }

    /** The node ports that party {@code receiver} is told to send to, per media section. */
    private static List<Sdp.Anchor> anchors(Call call, Side receiver, Sdp sdp) {
        List<Sdp.Anchor> out = new ArrayList<>();
        for (int i = 0; i < sdp.media().size(); i++) {
            StreamPorts p = i < call.streams.size() ? call.streams.get(i).ports : null;
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
     * An SDP answer from {@code side}: rewrite it towards the offerer and bring the relays to the new state.
     * Completes when the relays are there (at most {@link #MEDIA_READY_MS} later): the caller forwards the
     * answer then, so a party that starts sending the moment it reads the answer loses no packet.
     */
    private CompletableFuture<Void> answer(Call call, Side side, SipMessage msg) {
        Call.Offer o = call.offer;
        if (o == null || o.from() == side) {
            return MEDIA_READY;
        }
        Sdp a;
        try {
            a = Sdp.parse(msg.body());
        } catch (SdpException e) {
            log.warn("call {}: the {}'s SDP answer cannot be read ({}); passed on as it is, media not anchored",
                    call.callId, side.label(), e.getMessage());
            return MEDIA_READY;
        }
        List<CompletableFuture<Void>> applied = new ArrayList<>();
        Side offerer = o.from();
        msg.body(a.anchor((Inet4Address) call.facing(offerer), anchors(call, offerer, a)));
        int n = Math.min(o.sdp().media().size(), a.media().size());
        for (int i = 0; i < n && i < call.streams.size(); i++) {
            Call.Stream s = call.streams.get(i);
            if (s.ports == null) {
                continue;
            }
            Sdp.Media om = o.sdp().media().get(i);
            Sdp.Media am = a.media().get(i);
            boolean mux = om.rtcpMux() && am.rtcpMux();
            try {
                if (am.disabled() || om.disabled()) {
                    s.party(offerer, s.party(offerer).next(null, null, Direction.INACTIVE, false));
                    s.party(side, s.party(side).next(null, null, Direction.INACTIVE, false));
                } else {
                    s.party(offerer, s.party(offerer).next(o.sdp().rtp(i), o.sdp().rtcp(i, mux), o.sdp().direction(i),
                            om.rtcpMux()));
                    s.party(side, s.party(side).next(a.rtp(i), a.rtcp(i, mux), a.direction(i), am.rtcpMux()));
                }
            } catch (SdpException e) {
                log.warn("call {}: stream {} not anchored: {}", call.callId, i + 1, e.getMessage());
                continue;
            }
            LegPlan[] plans = s.plans();
            int idx = i;
            MediaSession m = call.media;
            applied.add(CompletableFuture.supplyAsync(() -> m.apply(idx, plans[0], plans[1]), media).thenCompose(r -> r));
        }
        if (call.state == Call.State.ANSWERED) {
            persist();
        }
        if (applied.isEmpty()) {
            return MEDIA_READY;
        }
        return CompletableFuture.allOf(applied.toArray(new CompletableFuture<?>[0]))
                .orTimeout(MEDIA_READY_MS, TimeUnit.MILLISECONDS)
                .exceptionally(e -> {
                    Throwable c = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
                            ? e.getCause() : e;
                    log.warn("call {}: relays not ready before the answer is passed on: {}", call.callId,
                            c instanceof java.util.concurrent.TimeoutException ? "still busy after " + MEDIA_READY_MS
                                    + " ms" : String.valueOf(c.getMessage()));
                    return null;
                });
    }

    /** Run {@code then} on the proxy's loop once {@code ready} completes (at once, when it already has). */
    private void whenMediaReady(CompletableFuture<Void> ready, Runnable then) {
        if (ready.isDone()) {
            then.run();
        } else {
            ready.whenComplete((v, e) -> loop.execute(then));
        }
    }

    // ------------------------------------------------------------------ call end, RTP timeout, persistence

    private void endCall(Call call, String reason) {
        if (!call.active()) {
            return;
        }
        call.state = Call.State.ENDED;
        call.endedAtMs = System.currentTimeMillis();
        call.endReason = reason;
        calls.remove(key(call), call);
        active = calls.size();
        if (reason != null) {
            metrics.ended(reason);
        }
        MediaSession m = call.media;
        if (m != null) {
            String k = key(call);
            media.execute(() -> {
                watches.remove(k);
                m.close();
                // counted after the close: no copy is made once the groups are gone
                metrics.closed(m, () -> sessions.remove(m));
            });
        }
        persist();
    }

    private void watch(Call call) {
        String k = key(call);
        MediaSession m = call.media;
        media.execute(() -> {
            if (!m.closed()) {
                watches.put(k, new Watch(m));
            }
        });
    }

    /** Media thread: end answered calls whose relays saw nothing for sip.rtp-timeout. */
    private void checkRtp() {
        long now = System.nanoTime();
        long limit = cfg.rtpTimeout().toNanos();
        for (Map.Entry<String, Watch> e : new ArrayList<>(watches.entrySet())) {
            Watch w = e.getValue();
            long n;
            try {
                n = w.session.activity();
            } catch (RuntimeException ex) {
                continue;
            }
            if (n != w.count) {
                w.count = n;
                w.changedAt = now;
            } else if (now - w.changedAt > limit) {
                watches.remove(e.getKey());
                String k = e.getKey();
                loop.execute(() -> rtpTimeout(k));
            }
        }
    }

    private void rtpTimeout(String k) {
        Call c = calls.get(k);
        if (c == null || c.state != Call.State.ANSWERED) {
            return;
        }
        log.info("call {}: no RTP or RTCP for {}s: ending it (BYE to both parties)", c.callId,
                cfg.rtpTimeout().toSeconds());
        try {
            sendBye(c, Side.CALLEE);
            sendBye(c, Side.CALLER);
        } catch (RuntimeException e) {
            log.warn("call {}: BYE not sent: {}", c.callId, e.toString());
        }
        endCall(c, "rtp_timeout");
    }

    /** A BYE msm sends on a party's behalf to {@code to}, along the dialog's route set. */
    private void sendBye(Call c, Side to) {
        String target = to == Side.CALLEE ? c.calleeContact : c.callerContact;
        String fromHdr = to == Side.CALLEE ? c.callerFrom : c.calleeTo;
        String toHdr = to == Side.CALLEE ? c.calleeTo : c.callerFrom;
        if (target == null || fromHdr == null || toHdr == null || !SipUri.isSip(target)) {
            return;
        }
        long cseq = to == Side.CALLEE ? ++c.callerCseq : ++c.calleeCseq;
        // the Record-Route entries beyond msm, in the order this request meets them
        List<String> rr = c.recordRoute;
        int first = -1;
        int last = -1;
        for (int i = 0; i < rr.size(); i++) {
            try {
                NameAddr na = NameAddr.parse(rr.get(i));
                if (SipUri.isSip(na.uri()) && node.isUs(na.sipUri())) {
                    first = first < 0 ? i : first;
                    last = i;
                }
            } catch (SipSyntaxException e) {
                // skip
            }
        }
        List<String> route = new ArrayList<>();
        if (to == Side.CALLEE) {
            for (int i = (first < 0 ? rr.size() : first) - 1; i >= 0; i--) {
                route.add(rr.get(i));
            }
        } else if (last >= 0) {
            route.addAll(rr.subList(last + 1, rr.size()));
        }
        List<Header> h = new ArrayList<>();
        for (String r : route) {
            h.add(new Header(HeaderNames.ROUTE, r));
        }
        h.add(new Header(HeaderNames.MAX_FORWARDS, "70"));
        h.add(new Header(HeaderNames.FROM, fromHdr));
        h.add(new Header(HeaderNames.TO, toHdr));
        h.add(new Header(HeaderNames.CALL_ID, c.callId));
        h.add(new Header(HeaderNames.CSEQ, cseq + " BYE"));
        h.add(new Header(HeaderNames.REASON, "SIP;cause=408;text=\"media timeout (msm sip.rtp-timeout)\""));
        SipRequest bye = new SipRequest("BYE", target, h, null);
        Hop next = nextHop(bye);
        if (next == null) {
            return;
        }
        Hop known = to == Side.CALLEE ? c.calleeHop : c.callerHop;
        if (known != null && known.remote().equals(next.remote())) {
            next = new Hop(known.kind(), next.remote(), null);
        }
        addVia(bye, next, loopHash(bye));
        txs.newClient(bye, next, IGNORE);
    }

    private void persist() {
        if (store == null) {
            return;
        }
        List<ObjectNode> out = new ArrayList<>();
        for (Call c : calls.values()) {
            if (c.state == Call.State.ANSWERED) {
                out.add(CallCodec.toJson(c));
            }
        }
        if (out.isEmpty() && !stored) {
            return; // never had a call to keep: leave the file system alone
        }
        store.save(out);
        stored = !out.isEmpty();
    }

    /** Proxy thread, before listening: the answered calls of the state file, relays re-opened on their ports. */
    private void restore() {
        if (store == null) {
            return;
        }
        List<Call> loaded = store.load();
        stored = !loaded.isEmpty();
        for (Call c : loaded) {
            if (c.state != Call.State.ANSWERED) {
                continue;
            }
            MediaSession m = new MediaSession(plane);
            Map<Integer, StreamPorts> ports = new java.util.TreeMap<>();
            for (int i = 0; i < c.streams.size(); i++) {
                if (c.streams.get(i).ports != null) {
                    ports.put(i, c.streams.get(i).ports);
                }
            }
            try {
                media.submit(() -> {
                    m.reopen(ports);
                    for (int i : ports.keySet()) {
                        LegPlan[] p = c.streams.get(i).plans();
                        m.apply(i, p[0], p[1]);
                    }
                    return null;
                }).get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                log.warn("call {} from the state file not restored: {} (its kernel entries are removed after "
                        + "datapath.orphan-grace)", c.callId, cause.getMessage());
                m.close();
                metrics.ended("restart_lost");
                continue;
            }
            c.media = m;
            sessions.add(m);
            calls.put(key(c), c);
            watch(c);
            restored++;
        }
        active = calls.size();
        if (!loaded.isEmpty()) {
            log.info("restored {} of {} call(s) from {}: their media relays are open again", restored, loaded.size(),
                    store.file());
        }
        persist();
    }

    // ------------------------------------------------------------------ inspection

    /** A call as /calls shows it: the record plus live relay statistics. */
    public record CallView(ObjectNode json, MediaSession media) {
    }

    /** The calls now, read on the proxy thread (live statistics are read by the caller). */
    public CompletableFuture<List<CallView>> calls() {
        CompletableFuture<List<CallView>> f = new CompletableFuture<>();
        loop.execute(() -> {
            List<CallView> out = new ArrayList<>();
            for (Call c : calls.values()) {
                ObjectNode o = CallCodec.toJson(c);
                out.add(new CallView(o, c.media));
            }
            f.complete(out);
        });
        return f;
    }

    public String mediaMode() {
        return plane.mode();
    }

    /** Stop listening; keep the relays (the kernel keeps forwarding; a restart restores the calls). */
    @Override
    public void close() {
        started = false;
        try {
            loop.submit(this::persist).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.debug("final persist: {}", e.toString());
        }
        transports.close();
        media.shutdown();
        try {
            media.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (store != null) {
            store.close();
        }
    }

    /** For tests: end every call now (frees the relays), as BYEs would. */
    public void endAll(String reason) {
        try {
            loop.submit(() -> new ArrayList<>(calls.values()).forEach(c -> endCall(c, reason))).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    EventLoopGroup group() {
        return group;
    }
}
