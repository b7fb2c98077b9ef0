package io.msm.agent.sip.proxy;

import static io.msm.agent.sip.proxy.Replies.reply;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.MeterRegistry;
import io.msm.agent.config.SipSettings;
import io.msm.agent.limits.Refusals;
import io.msm.agent.limits.SourceKey;
import io.msm.agent.limits.SourceLimiter;
import io.msm.agent.limits.SourceRate;
import io.msm.agent.media.MediaAdmission;
import io.msm.agent.media.MediaPlane;
import io.msm.agent.sip.call.Call;
import io.msm.agent.sip.call.CallCodec;
import io.msm.agent.sip.call.CallMetrics;
import io.msm.agent.sip.call.CallTable;
import io.msm.agent.sip.call.MediaSession;
import io.msm.agent.sip.call.Side;
import io.msm.agent.sip.media.AnchoredSessions;
import io.msm.agent.sip.media.MediaAnchor;
import io.msm.agent.sip.message.HeaderNames;
import io.msm.agent.sip.message.SipMessage;
import io.msm.agent.sip.message.SipParseException;
import io.msm.agent.sip.message.SipParser;
import io.msm.agent.sip.message.SipRequest;
import io.msm.agent.sip.message.SipResponse;
import io.msm.agent.sip.message.SipSyntaxException;
import io.msm.agent.sip.message.SipUri;
import io.msm.agent.sip.message.Via;
import io.msm.agent.sip.policy.SipAuth;
import io.msm.agent.sip.registrar.Location;
import io.msm.agent.sip.registrar.Registrar;
import io.msm.agent.sip.route.Node;
import io.msm.agent.sip.route.Router;
import io.msm.agent.sip.route.StaticRoutes;
import io.msm.agent.sip.sdp.Sdp;
import io.msm.agent.sip.sdp.SdpException;
import io.msm.agent.sip.state.CallPersistence;
import io.msm.agent.sip.transaction.Network;
import io.msm.agent.sip.transaction.ServerTransaction;
import io.msm.agent.sip.transaction.Transactions;
import io.msm.agent.sip.transport.Hop;
import io.msm.agent.sip.transport.SipTransports;
import io.msm.agent.sip.watchdog.RtpWatchdog;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * msm's SIP proxy: a transaction-stateful proxy (RFC 3261 section 16) that record-routes the
 * dialogs it sets up and anchors their media on the node.
 *
 * <p>Everything SIP happens on one event loop thread (parsing, transactions, routing, call state);
 * relays are opened, changed and closed on a second thread (the media thread) so a slow port search
 * never stalls signalling.
 *
 * <ul>
 *   <li>requests: Via received/rport (RFC 3581), Max-Forwards, loop detection by a hash in msm's
 *       branch (section 16.3), Proxy-Require refused (420), loose routing (msm's own Route entries
 *       removed), then REGISTER/OPTIONS for msm itself, in-dialog requests along their Route,
 *       initial requests to the location service, a static route, or an IP-literal Request-URI;
 *       INVITEs get 100 Trying at once;
 *   <li>INVITE admission: sip.max-calls and sip.invites-per-second, and free media ports —
 *       otherwise 503 with Retry-After;
 *   <li>media: SDP offers and answers are rewritten so each stream flows through a node port pair
 *       per side; the relays only accept the negotiated sources and send to the other party, from
 *       the port that party was given;
 *   <li>calls end on BYE, CANCEL, a failure, or no RTP/RTCP for sip.rtp-timeout (msm then sends BYE
 *       both ways), which frees their ports and kernel entries; answered calls are kept in the
 *       state file and restored after a restart.
 * </ul>
 *
 * <p>This class is the proxy core: inbound messages, transactions, forwarding ({@link Forward}),
 * CANCEL and ACK. The rest has a room of its own: {@link Router} (target, loops, Via/Record-Route,
 * next hop), {@link Registrar} (REGISTER, the location service), {@link CallTable} (the calls;
 * ending one), {@link MediaAnchor} (offers and answers, the media thread), {@link RtpWatchdog} (RTP
 * timeout, BYE) and {@link CallPersistence} (the state file).
 */
public final class SipProxy implements SipTransports.Receiver, Network, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SipProxy.class);
    static final String ALLOW =
            "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, UPDATE, PRACK, INFO, MESSAGE, "
                    + "SUBSCRIBE, NOTIFY, REFER";
    private static final Set<String> DIALOG_CREATING = Set.of("INVITE", "SUBSCRIBE", "REFER");

    private final SipSettings cfg;
    private final InetSocketAddress listen;
    private final MediaPlane plane;
    private final CallMetrics metrics;
    private final EventLoopGroup group;
    private final EventLoop loop;
    private final SipTransports transports;
    private final Transactions txs;
    private final Location location;
    private final StaticRoutes routes;
    private final InviteRate rate;
    private final CallTable calls = new CallTable();
    private final MediaAnchor media;
    private final CallPersistence persistence;
    private final Forward.Services forwarding;

    private final SipSettings.Security sec;
    private final SourceLimiter callsPerSource;
    private final SourceRate invitesPerSource;
    private final MediaAdmission.Share mediaShare;
    private SipAuth auth;

    /** messages whose handling threw (a bug: the fuzz test wants none) */
    private final AtomicLong handlerErrors = new AtomicLong();

    /** server transactions at most; beyond, new requests get a stateless 503 */
    private final int maxTransactions;

    // known once listening (the node's port)
    private Node node;
    private Router router;
    private Registrar registrar;
    private RtpWatchdog watchdog;
    private volatile boolean started;

    public SipProxy(
            SipSettings cfg,
            InetSocketAddress listen,
            MediaPlane plane,
            MeterRegistry registry,
            EventLoopGroup group) {
        this.cfg = cfg;
        this.listen = listen;
        this.plane = plane;
        this.group = group;
        this.loop = group.next();
        this.sec = cfg.security();
        this.transports =
                new SipTransports(
                        group,
                        listen,
                        cfg.tcp(),
                        cfg.maxMessageBytes(),
                        this,
                        cfg.tls(),
                        new Refusals(registry, "sip", SipTransports.REFUSAL_REASONS));
        this.txs = new Transactions(this, cfg.timers());
        this.location = new Location(cfg.maxRegistrations(), System::currentTimeMillis);
        this.routes = new StaticRoutes(cfg.routes());
        this.rate = new InviteRate(cfg.invitesPerSecond(), System::nanoTime);
        this.maxTransactions = Math.max(1000, cfg.maxCalls() * 20);
        AnchoredSessions sessions = new AnchoredSessions();
        this.metrics = new CallMetrics(registry, calls::active, location::size, sessions);
        this.media = new MediaAnchor(plane, metrics, sessions, calls, loop, sec.maxMediaLines());
        this.callsPerSource = new SourceLimiter(sec.callsPerSource(), cfg.maxCalls());
        this.invitesPerSource =
                new SourceRate(
                        sec.invitesPerSourcePerSecond(),
                        sec.inviteBurst(),
                        100_000,
                        System::nanoTime);
        this.mediaShare = plane.admission("sip");
        transports.limit(sec, metrics.refusals());
        warnInconsistentLimits();
        this.persistence = new CallPersistence(cfg.stateFile(), calls, media, metrics);
        this.forwarding = new Forward.Services(cfg, txs, this, calls, media, metrics);
    }

    /** Restore the state file's calls, then listen. */
    public void start() throws IOException {
        auth = new SipAuth(sec);
        transports.start();
        node =
                new Node(
                        transports.localAddress(),
                        transports.tlsAddress() == null ? -1 : transports.tlsAddress().getPort(),
                        cfg.domains());
        registrar = new Registrar(cfg, location, node);
        router = new Router(node, listen, routes, registrar);
        watchdog = new RtpWatchdog(cfg.rtpTimeout(), calls, router, txs, media.mediaThread(), loop);
        // in this order when a call ends: counted, unwatched, its relays closed, the state file
        // written
        calls.listen(metrics);
        calls.listen(watchdog);
        calls.listen(media);
        calls.listen(persistence);
        // last: what admission gave a call goes back once its relays are closed (media thread)
        calls.listen(
                new CallTable.Listener() {
                    @Override
                    public void ended(Call c, String reason) {
                        media.mediaThread().execute(c::release);
                    }
                });
        try {
            loop.submit(
                            () -> {
                                persistence.restore();
                                // restored calls hold ports and groups: counted in SIP's share
                                for (Call c : calls.all()) {
                                    int n = 0;
                                    for (Call.Stream st : c.streams()) {
                                        if (st.ports() != null) {
                                            n++;
                                        }
                                    }
                                    c.admitted(
                                            mediaShare.force(
                                                    MediaAnchor.PORTS_PER_STREAM * n,
                                                    media.groupsPerStream() * n),
                                            null);
                                }
                            })
                    .get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.warn("restoring SIP calls failed: {}", e.toString());
        }
        watchdog.start();
        loop.scheduleWithFixedDelay(location::purge, 30, 30, TimeUnit.SECONDS);
        started = true;
    }

    /**
     * max-calls single-stream calls must fit the kernel groups SIP may take; when they cannot, the
     * media plane refuses calls earlier (503) than max-calls suggests: say so at start-up.
     */
    private void warnInconsistentLimits() {
        int perCall = media.groupsPerStream();
        long need = (long) cfg.maxCalls() * perCall;
        int groups = mediaShare.groupsAtMost();
        if (perCall > 0 && need > groups) {
            log.warn(
                    "sip.max-calls ({}) x {} kernel groups per single-stream call = {} is more than"
                            + " the {} groups SIP may take of datapath.max-groups ({}, less RTSP's"
                            + " reserved share): beyond {} calls new calls get 503; raise"
                            + " datapath.max-groups or lower sip.max-calls",
                    cfg.maxCalls(),
                    perCall,
                    need,
                    groups,
                    plane.admission().groupCapacity(),
                    groups / perCall);
        }
        int ports = plane.admission().portCapacity() - plane.admission("rtsp").reservedPorts();
        if ((long) cfg.maxCalls() * MediaAnchor.PORTS_PER_STREAM > ports) {
            log.warn(
                    "sip.max-calls ({}) x {} ports per single-stream call is more than the {} ports"
                            + " SIP may take of media.port-range: beyond {} calls new calls get 503",
                    cfg.maxCalls(),
                    MediaAnchor.PORTS_PER_STREAM,
                    ports,
                    ports / MediaAnchor.PORTS_PER_STREAM);
        }
    }

    /** The event loop every SIP message is handled on. */
    public Executor signallingThread() {
        return loop;
    }

    /** The thread that opens and closes calls' relays. */
    public Executor mediaThread() {
        return media.mediaThread();
    }

    public boolean started() {
        return started;
    }

    public InetSocketAddress localAddress() {
        return transports.localAddress();
    }

    /** The TLS listener's address, or null when sip.tls is off. */
    public InetSocketAddress tlsAddress() {
        return transports.tlsAddress();
    }

    /** The transports (tests: connection counts, certificate reloads). */
    public SipTransports transports() {
        return transports;
    }

    public int activeCalls() {
        return calls.active();
    }

    public int restoredCalls() {
        return persistence.restored();
    }

    public String describe() {
        return "sip: "
                + (cfg.tcp() ? "udp+tcp " : "udp ")
                + CallCodec.addr(transports.localAddress())
                + (transports.tlsAddress() == null
                        ? ""
                        : ", tls " + CallCodec.addr(transports.tlsAddress()))
                + ", media anchored on the "
                + plane.mode()
                + " plane, "
                + persistence.restored()
                + " call(s) restored"
                + (persistence.file() == null
                        ? ", state not persisted"
                        : " (state file " + persistence.file() + ")");
    }

    // ------------------------------------------------------------------ Network (for transactions)

    @Override
    public void send(Hop to, byte[] data, Consumer<String> onFailure) {
        transports.send(to, data, onFailure);
    }

    @Override
    public Cancellable schedule(Duration delay, Runnable task) {
        ScheduledFuture<?> f =
                loop.schedule(task, Math.max(0, delay.toNanos()), TimeUnit.NANOSECONDS);
        return () -> f.cancel(false);
    }

    // ------------------------------------------------------------------ inbound

    @Override
    public void onMessage(byte[] data, Hop from, boolean oversized, int declared) {
        if (!started) {
            // between bind and the end of start(): the router and registrar need the bound address,
            // and restored calls must be known before their in-dialog requests; UDP senders
            // retransmit
            log.debug("SIP message from {} before the proxy finished starting: dropped", from);
            return;
        }
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
            handlerErrors.incrementAndGet();
            log.warn("SIP message from {} could not be handled: {}", from, e.toString());
            log.debug("stack", e);
        }
    }

    private void refuse(SipParseException e, Hop from) {
        SipResponse r = e.response(SipResponse.newTag());
        if (r == null) {
            return; // no answer possible: dropped
        }
        try {
            Via v = r.topVia();
            sendStateless(r, Router.responseHop(Router.fixVia(v, from), from));
        } catch (SipSyntaxException ex) {
            // the Via did not parse after all: drop
        }
    }

    private void onRequest(SipRequest req, Hop from) {
        Via fixed = Router.fixVia(req.topVia(), from);
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
        InetAddress src = from.remote().getAddress();
        boolean trusted = sec.trusted().contains(src);
        // every INVITE counts, initial or in a dialog (a flood of tagged INVITEs too)
        if (req.is("INVITE") && !trusted && !invitesPerSource.tryAcquire(SourceKey.of(src))) {
            refuseStateless(
                    req,
                    from,
                    fixed,
                    Replies.busy(
                            req,
                            1,
                            "more than sip.per-source.invites-per-second ("
                                    + sec.invitesPerSourcePerSecond()
                                    + ") INVITEs from "
                                    + SourceKey.of(src)),
                    "invite_rate_source");
            return;
        }
        // the policy and limits before any state: a refused request costs no transaction, port or
        // kernel entry
        Admitted admitted = admit(req, from, fixed, src, trusted);
        if (admitted == null) {
            return;
        }
        if (txs.serverCount() >= maxTransactions) {
            admitted.release();
            refuseStateless(
                    req,
                    from,
                    fixed,
                    Replies.busy(
                            req, 1, "more than " + maxTransactions + " transactions in progress"),
                    "transactions");
            return;
        }
        ServerTransaction st = txs.newServer(req, from, Router.responseHop(fixed, from));
        if (req.is("INVITE")) {
            st.respond(SipResponse.to(req, 100, "Trying", null));
        }
        try {
            route(st, req, from, admitted);
        } finally {
            admitted.release();
        }
    }

    /**
     * What admission gave a request: the authenticated user (or null) and, for a new call, its
     * reservations — handed to the call, or given back when no call came of it.
     */
    static final class Admitted {
        static final Admitted NOTHING = new Admitted(null, null, null);
        final String user;
        MediaAdmission.Lease media;
        SourceLimiter.Lease source;

        Admitted(String user, MediaAdmission.Lease media, SourceLimiter.Lease source) {
            this.user = user;
            this.media = media;
            this.source = source;
        }

        /** The call took the reservations. */
        void handTo(Call c) {
            c.admitted(media, source);
            media = null;
            source = null;
        }

        void release() {
            if (media != null) {
                media.close();
                media = null;
            }
            if (source != null) {
                source.close();
                source = null;
            }
        }
    }

    /**
     * The routing policy, authentication, dialog binding and the admission of new calls, for a
     * request that is neither ACK nor CANCEL nor a retransmission. Answers (statelessly) and
     * returns null when the request is refused.
     */
    private Admitted admit(SipRequest req, Hop from, Via fixed, InetAddress src, boolean trusted) {
        String why;
        if (req.to().tag() != null && !req.is("REGISTER")) {
            // in a dialog: only one msm holds, only from its parties' hops
            Call call = calls.find(req);
            if (call == null) {
                if (trusted) {
                    return Admitted.NOTHING; // a trusted peer's own dialogs (e.g. NOTIFY)
                }
                refuseStateless(
                        req,
                        from,
                        fixed,
                        Replies.refusal(req, 481, "no dialog with these tags at msm"),
                        "no_dialog");
                return null;
            }
            why = dialogMismatch(call, req, src);
            if (why != null) {
                boolean wrongHop = why.startsWith("from ");
                refuseStateless(
                        req,
                        from,
                        fixed,
                        Replies.refusal(
                                req,
                                wrongHop ? 403 : 481,
                                wrongHop ? "not a party of this dialog" : why),
                        wrongHop ? "wrong_hop" : "no_dialog");
                return null;
            }
            return Admitted.NOTHING;
        }
        if (!SipUri.isSip(req.uri())) {
            return Admitted.NOTHING; // 416 from route()
        }
        SipUri ruri;
        try {
            ruri = SipUri.parse(req.uri());
        } catch (RuntimeException e) {
            return Admitted.NOTHING; // answered by route()
        }
        router.popOwnRoutes(req);
        boolean hasRoute = req.has(HeaderNames.ROUTE);
        if (!hasRoute && registersWithUs(req, ruri)) {
            return register(req, from, fixed, src, trusted);
        }
        if (!hasRoute && req.is("OPTIONS") && ruri.user() == null && node.isUs(ruri)) {
            return Admitted.NOTHING; // answered by msm
        }
        String user = null;
        if (!hasRoute) {
            Router.Target t = router.resolve(ruri);
            if (t == null && "0".equals(req.first(HeaderNames.MAX_FORWARDS))) {
                return Admitted.NOTHING; // 483 first, from route()
            }
            if (t == null) {
                refuseStateless(
                        req,
                        from,
                        fixed,
                        Replies.refusal(
                                req,
                                404,
                                node.isOurHost(ruri.host())
                                        ? "no registration for " + ruri.userName() + " at this node"
                                        : "no route to "
                                                + ruri.host()
                                                + " (msm routes registered users, sip.routes and, for"
                                                + " trusted or authenticated callers, IP addresses)"),
                        null);
                return null;
            }
            SipSettings.From who =
                    switch (t.kind()) {
                        case REGISTERED -> SipSettings.From.ANY;
                        case ROUTE -> t.route().from();
                        case ANY -> SipSettings.From.AUTHENTICATED;
                    };
            if (!trusted && who != SipSettings.From.ANY) {
                String target =
                        t.kind() == Router.Kind.ROUTE
                                ? "the route for " + t.route().match()
                                : "the target " + ruri.host();
                if (who == SipSettings.From.TRUSTED || !auth.hasUsers()) {
                    refuseStateless(
                            req,
                            from,
                            fixed,
                            Replies.refusal(
                                    req,
                                    403,
                                    target
                                            + " is open to "
                                            + (who == SipSettings.From.TRUSTED
                                                    ? "sip.trusted sources only"
                                                    : "sip.trusted sources and authenticated users"
                                                            + " only (no sip.users-file)")),
                            t.kind() == Router.Kind.ROUTE ? "route_denied" : "relay_denied");
                    return null;
                }
                user = authenticate(req, from, fixed, src, true);
                if (user == null) {
                    return null;
                }
            }
        } else if (!trusted) {
            // a Route to somewhere else (not an in-dialog request): loose routing through msm is a
            // relay like any other
            if (!auth.hasUsers()) {
                refuseStateless(
                        req,
                        from,
                        fixed,
                        Replies.refusal(
                                req,
                                403,
                                "msm relays along a Route for sip.trusted sources and authenticated"
                                        + " users only (no sip.users-file)"),
                        "relay_denied");
                return null;
            }
            user = authenticate(req, from, fixed, src, true);
            if (user == null) {
                return null;
            }
        }
        if (!req.is("INVITE") || calls.has(req.callId(), req.from().tag())) {
            return new Admitted(user, null, null);
        }
        return admitCall(req, from, fixed, src, trusted, user);
    }

    /**
     * Null when the in-dialog request fits the call's dialog and comes from its party, else why.
     */
    private static String dialogMismatch(Call call, SipRequest req, InetAddress src) {
        String fromTag = req.from().tag();
        String toTag = req.to().tag();
        Side side;
        if (call.callerTag().equals(fromTag)) {
            if (call.calleeTag() != null && !call.calleeTag().equals(toTag)) {
                return "the To tag is not the callee's";
            }
            side = Side.CALLER;
        } else if (call.callerTag().equals(toTag)
                && call.calleeTag() != null
                && call.calleeTag().equals(fromTag)) {
            side = Side.CALLEE;
        } else {
            return "the tags are not this dialog's";
        }
        Hop hop = call.hop(side);
        if (hop != null && !hop.remote().getAddress().equals(src)) {
            return "from " + src.getHostAddress() + ", not the " + side.label() + "'s hop";
        }
        return null;
    }

    /** A REGISTER addressed to msm's registrar (its host, on its UDP/TCP or TLS port). */
    private boolean registersWithUs(SipRequest req, SipUri ruri) {
        return req.is("REGISTER")
                && node.isOurHost(ruri.host())
                && (ruri.port() < 0
                        || ruri.port() == node.port()
                        || ruri.port() == node.port(Hop.Kind.TLS));
    }

    /** A REGISTER for msm: its user's own credentials, or a trusted source. */
    private Admitted register(
            SipRequest req, Hop from, Via fixed, InetAddress src, boolean trusted) {
        if (trusted) {
            return Admitted.NOTHING;
        }
        if (!auth.hasUsers()) {
            refuseStateless(
                    req,
                    from,
                    fixed,
                    Replies.refusal(
                            req,
                            403,
                            "registration needs sip.users-file credentials or a sip.trusted source"),
                    "auth_required");
            return null;
        }
        String user = authenticate(req, from, fixed, src, false);
        if (user == null) {
            return null;
        }
        String aorUser;
        try {
            aorUser = req.to().sipUri().userName();
        } catch (RuntimeException e) {
            aorUser = null;
        }
        if (!user.equals(aorUser)) {
            refuseStateless(
                    req,
                    from,
                    fixed,
                    Replies.refusal(req, 403, user + " may change only " + user + "'s bindings"),
                    "binding_not_own");
            return null;
        }
        return new Admitted(user, null, null);
    }

    /** The user the request is authenticated as, or null when it was answered (401/407/403). */
    private String authenticate(
            SipRequest req, Hop from, Via fixed, InetAddress src, boolean proxy) {
        SipAuth.Result r = auth.check(req, src, proxy);
        if (r instanceof SipAuth.Result.Ok ok) {
            return ok.user();
        }
        if (r instanceof SipAuth.Result.Challenge c) {
            refuseStateless(
                    req, from, fixed, c.response(), c.failed() ? "auth_failed" : "auth_required");
            return null;
        }
        refuseStateless(
                req,
                from,
                fixed,
                Replies.refusal(
                        req,
                        403,
                        "too many failed authentications from "
                                + src.getHostAddress()
                                + "; try again later"),
                "auth_locked");
        return null;
    }

    /**
     * A new call: max-calls, the INVITE rate, m= lines, the caller's concurrent calls, then its
     * media reserved in SIP's share of the plane — before any transaction, port or kernel entry.
     */
    private Admitted admitCall(
            SipRequest req, Hop from, Via fixed, InetAddress src, boolean trusted, String user) {
        if (calls.size() >= cfg.maxCalls()) {
            refuseCall(
                    req,
                    from,
                    fixed,
                    cfg.retryAfter().toSeconds(),
                    "sip.max-calls (" + cfg.maxCalls() + ") calls in progress",
                    "max_calls");
            return null;
        }
        if (!rate.tryAcquire()) {
            refuseCall(
                    req,
                    from,
                    fixed,
                    1,
                    "more than sip.invites-per-second (" + cfg.invitesPerSecond() + ") new calls",
                    "rate");
            return null;
        }
        int streams = 1;
        if (req.hasSdp()) {
            try {
                Sdp sdp = Sdp.parse(req.body());
                if (sdp.media().size() > sec.maxMediaLines()) {
                    metrics.outcome("refused");
                    refuseStateless(
                            req,
                            from,
                            fixed,
                            Replies.refusal(
                                    req,
                                    488,
                                    "more than sip.max-media-lines ("
                                            + sec.maxMediaLines()
                                            + ") media sections"),
                            "media_lines");
                    return null;
                }
                int active = 0;
                for (Sdp.Media m : sdp.media()) {
                    if (!m.disabled()) {
                        active++;
                    }
                }
                streams = Math.max(1, active);
            } catch (SdpException e) {
                // refused (488) when the offer is anchored
            }
        }
        SourceLimiter.Lease source = null;
        if (!trusted) {
            SourceLimiter.Admission a = callsPerSource.acquire(SourceKey.of(src));
            if (!a.admitted()) {
                refuseCall(
                        req,
                        from,
                        fixed,
                        cfg.retryAfter().toSeconds(),
                        SourceKey.of(src)
                                + " has sip.per-source.calls ("
                                + sec.callsPerSource()
                                + ") calls in progress",
                        "calls_per_source");
                return null;
            }
            source = a.lease();
        }
        MediaAdmission.Lease lease =
                mediaShare.reserve(
                        MediaAnchor.PORTS_PER_STREAM * streams, media.groupsPerStream() * streams);
        if (lease == null) {
            if (source != null) {
                source.close();
            }
            refuseCall(
                    req,
                    from,
                    fixed,
                    cfg.retryAfter().toSeconds(),
                    "no media ports or kernel groups left for SIP ("
                            + streams
                            + " stream(s) asked for)",
                    "media_share");
            return null;
        }
        return new Admitted(user, lease, source);
    }

    private void refuseCall(
            SipRequest req, Hop from, Via fixed, long retryAfter, String why, String reason) {
        metrics.outcome("refused");
        refuseStateless(req, from, fixed, Replies.busy(req, retryAfter, why), reason);
    }

    /** Answers a refused request without a transaction, counted under {@code reason} (if any). */
    private void refuseStateless(
            SipRequest req, Hop from, Via fixed, SipResponse r, String reason) {
        if (reason != null) {
            metrics.refusals()
                    .refuse(
                            reason,
                            req.method()
                                    + " from "
                                    + from.remote().getAddress().getHostAddress()
                                    + " answered "
                                    + r.status()
                                    + warningOf(r));
        }
        sendStateless(r, Router.responseHop(fixed, from));
    }

    private static String warningOf(SipResponse r) {
        String w = r.first(HeaderNames.WARNING);
        return w == null ? "" : ": " + w;
    }

    private void sendStateless(SipResponse r, Hop to) {
        transports.send(to, r.encode(), null);
    }

    // ------------------------------------------------------------------ requests: checks, then
    // where they go

    private void route(ServerTransaction st, SipRequest req, Hop from, Admitted admitted) {
        if (!SipUri.isSip(req.uri())) {
            reply(st, 416, "msm routes sip: URIs only");
            return;
        }
        SipUri ruri = SipUri.parse(req.uri());
        if (ruri.scheme().equals("sips") && cfg.tls() == null) {
            reply(st, 416, "sips: needs TLS, which is not configured here (sip.tls)");
            return;
        }
        String mf = req.first(HeaderNames.MAX_FORWARDS);
        int maxFwd = mf == null ? 70 : Integer.parseInt(mf);
        String loopHash = Router.loopHash(req);
        if (router.looped(req, loopHash)) {
            reply(st, 482, "the request came back to msm unchanged");
            return;
        }
        List<String> proxyRequire = req.all(HeaderNames.PROXY_REQUIRE);
        if (!proxyRequire.isEmpty()) {
            SipResponse r = SipResponse.to(req, 420, null, SipResponse.newTag());
            r.add(HeaderNames.UNSUPPORTED, String.join(", ", proxyRequire));
            st.respond(r);
            return;
        }
        router.popOwnRoutes(req);
        boolean hasRoute = req.has(HeaderNames.ROUTE);
        if (!hasRoute && registersWithUs(req, ruri)) {
            st.respond(registrar.register(req));
            return;
        }
        if (!hasRoute && req.is("OPTIONS") && ruri.user() == null && node.isUs(ruri)) {
            SipResponse r = SipResponse.to(req, 200, null, SipResponse.newTag());
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
            inDialog(st, req, maxFwd, loopHash);
        } else {
            initial(st, req, from, ruri, maxFwd, loopHash, admitted);
        }
    }

    private void inDialog(ServerTransaction st, SipRequest req, int maxFwd, String loopHash) {
        SipRequest fwd = req.copy();
        fwd.set(HeaderNames.MAX_FORWARDS, Integer.toString(maxFwd - 1));
        Hop next = router.nextHop(fwd);
        if (next == null) {
            reply(
                    st,
                    404,
                    "no route for this in-dialog request (Route or Request-URI is not an IP address)");
            return;
        }
        Call call = calls.find(req);
        Side side = null;
        if (call != null) {
            side = call.sideOf(req.from().tag());
            call.cseqSeen(side, req.cseq().number());
        }
        router.addVia(fwd, next, loopHash);
        Forward ctx = new Forward(forwarding, st, fwd, next, call, side, false, req.hasSdp());
        st.context(ctx);
        if (call != null
                && call.active()
                && (req.is("INVITE") || req.is("UPDATE"))
                && req.hasSdp()) {
            media.offer(call, side, fwd, ctx::send, ctx::fail);
        } else {
            ctx.send();
        }
    }

    private void initial(
            ServerTransaction st,
            SipRequest req,
            Hop from,
            SipUri ruri,
            int maxFwd,
            String loopHash,
            Admitted admitted) {
        SipUri t = router.target(ruri);
        if (t == null) {
            reply(
                    st,
                    404,
                    node.isOurHost(ruri.host())
                            ? "no registration for " + ruri.userName() + " at this node"
                            : "no route to "
                                    + ruri.host()
                                    + " (msm routes registered users, sip.routes and IP addresses)");
            return;
        }
        SipRequest fwd = req.copy();
        auth.consume(fwd);
        fwd.uri(t.toString());
        fwd.set(HeaderNames.MAX_FORWARDS, Integer.toString(maxFwd - 1));
        Hop next = router.nextHop(fwd);
        if (next == null) {
            reply(st, 404, "the target " + t + " is not an IP address msm can reach");
            return;
        }
        Call call = null;
        if (req.is("INVITE") && !calls.has(req.callId(), req.from().tag())) {
            // admitted (max-calls, invites-per-second) in onRequest
            call = newCall(req, from, next);
            admitted.handTo(call);
            calls.add(call);
            metrics.attempt();
        } // else: the same INVITE spiralling back through msm: its media is anchored already
        if (DIALOG_CREATING.contains(req.method())) {
            router.addRecordRoute(fwd, from, next);
        }
        router.addVia(fwd, next, loopHash);
        Forward ctx = new Forward(forwarding, st, fwd, next, call, Side.CALLER, true, req.hasSdp());
        st.context(ctx);
        if (call != null && req.hasSdp()) {
            Call c = call;
            media.offer(
                    call,
                    Side.CALLER,
                    fwd,
                    ctx::send,
                    (status, why) -> {
                        if (status != 503) {
                            metrics.outcome("failed"); // 503s for ports were counted as refused
                        }
                        ctx.fail(status, why);
                        calls.end(c, null);
                    });
        } else {
            ctx.send();
        }
    }

    private Call newCall(SipRequest req, Hop from, Hop next) {
        Call c =
                new Call(
                        req.callId(),
                        req.from().tag(),
                        req.from().uri(),
                        req.to().uri(),
                        System.currentTimeMillis(),
                        System.nanoTime());
        c.dialedBy(req.first(HeaderNames.FROM), req.contactUri(), req.cseq().number(), from);
        c.sentTo(next);
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
        c.facing(node.facing(callerMedia), node.facing(next.remote().getAddress()));
        c.media(media.newSession());
        return c;
    }

    // ------------------------------------------------------------------ responses, ACK, CANCEL

    private void onResponse(SipResponse resp) {
        if (txs.onResponse(resp)) {
            return;
        }
        // a 2xx to an INVITE after msm's transaction ended: forward it statelessly (RFC 3261
        // section 16.7)
        Via top = resp.topVia();
        if (!router.isOurs(top) || !resp.success() || !"INVITE".equals(resp.cseq().method())) {
            return;
        }
        SipResponse up = resp.copy();
        up.removeFirst(HeaderNames.VIA);
        Via next = up.topVia();
        if (next == null) {
            return;
        }
        Call call = calls.find(resp);
        CompletableFuture<Void> ready = MediaAnchor.READY;
        if (call != null && call.active() && resp.hasSdp() && call.offer() != null) {
            Side responder = call.offer().from().other();
            ready = media.answer(call, responder, up);
        }
        Hop hop = Router.statelessResponseHop(next);
        if (hop == null) {
            return;
        }
        media.whenReady(ready, () -> sendStateless(up, hop));
    }

    /**
     * The ACK of a 2xx: end to end, forwarded statelessly along its Route (it may carry a late
     * answer).
     */
    private void forwardAck(SipRequest req, Hop from) {
        String mf = req.first(HeaderNames.MAX_FORWARDS);
        int maxFwd = mf == null ? 70 : Integer.parseInt(mf);
        if (maxFwd == 0) {
            return;
        }
        String loopHash = Router.loopHash(req);
        router.popOwnRoutes(req);
        SipRequest fwd = req.copy();
        fwd.set(HeaderNames.MAX_FORWARDS, Integer.toString(maxFwd - 1));
        Hop next = router.nextHop(fwd);
        if (next == null) {
            return;
        }
        Call call = calls.find(req);
        InetAddress src = from.remote().getAddress();
        String mismatch =
                call == null
                        ? (sec.trusted().contains(src) ? null : "no dialog with these tags at msm")
                        : dialogMismatch(call, req, src);
        if (mismatch != null) {
            metrics.refusals()
                    .refuse(
                            mismatch.startsWith("from ") ? "wrong_hop" : "no_dialog",
                            "ACK from " + src.getHostAddress() + " dropped: " + mismatch);
            return;
        }
        CompletableFuture<Void> ready = MediaAnchor.READY;
        if (call != null && call.active() && req.hasSdp() && call.offer() != null) {
            Side side = call.sideOf(req.from().tag());
            if (call.offer().from() != side) {
                ready = media.answer(call, side, fwd);
            }
        }
        router.addAckVia(fwd, next, loopHash, req.topVia());
        media.whenReady(ready, () -> transports.send(next, fwd.encode(), null));
    }

    private void onCancel(SipRequest req, Hop from) {
        ServerTransaction inv = txs.findInviteFor(req);
        if (inv == null) {
            metrics.refusals()
                    .refuse(
                            "no_dialog",
                            "CANCEL from "
                                    + from.remote().getAddress().getHostAddress()
                                    + " matches no INVITE");
            sendStateless(
                    SipResponse.to(req, 481, null, SipResponse.newTag()),
                    Router.responseHop(req.topVia(), from));
            return;
        }
        if (!inv.from().remote().getAddress().equals(from.remote().getAddress())) {
            // only the INVITE's sender may cancel it (the branch is no secret on the path)
            metrics.refusals()
                    .refuse(
                            "cancel_not_own",
                            "CANCEL from "
                                    + from.remote().getAddress().getHostAddress()
                                    + " for an INVITE from "
                                    + inv.from().remote().getAddress().getHostAddress());
            sendStateless(
                    Replies.refusal(req, 481, "no INVITE from this source matches"),
                    Router.responseHop(req.topVia(), from));
            return;
        }
        ServerTransaction cst = txs.newServer(req, from, Router.responseHop(req.topVia(), from));
        cst.respond(SipResponse.to(req, 200, null, SipResponse.newTag()));
        if (inv.finalSent() || !(inv.context() instanceof Forward ctx)) {
            return;
        }
        ctx.cancelled();
    }

    // ------------------------------------------------------------------ inspection

    /** A call as /calls shows it: the record plus live relay statistics. */
    public record CallView(ObjectNode json, MediaSession media) {}

    /** The calls now, read on the proxy thread (live statistics are read by the caller). */
    public CompletableFuture<List<CallView>> calls() {
        CompletableFuture<List<CallView>> f = new CompletableFuture<>();
        loop.execute(
                () -> {
                    List<CallView> out = new ArrayList<>();
                    for (Call c : calls.all()) {
                        out.add(new CallView(CallCodec.toJson(c), c.media()));
                    }
                    f.complete(out);
                });
        return f;
    }

    public String mediaMode() {
        return plane.mode();
    }

    /**
     * Stop listening; keep the relays (the kernel keeps forwarding; a restart restores the calls).
     */
    @Override
    public void close() {
        started = false;
        try {
            loop.submit(persistence::persist).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.debug("final persist: {}", e.toString());
        }
        transports.close();
        media.close();
        persistence.close();
    }

    /** For tests: end every call now (frees the relays), as BYEs would. */
    public void endAll(String reason) {
        try {
            loop.submit(() -> calls.endAll(reason)).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    EventLoopGroup group() {
        return group;
    }

    /** Messages whose handling threw (tests). */
    long handlerErrors() {
        return handlerErrors.get();
    }

    /** Calls holding a per-source slot (tests). */
    int sourceLeases() {
        return callsPerSource.total();
    }
}
