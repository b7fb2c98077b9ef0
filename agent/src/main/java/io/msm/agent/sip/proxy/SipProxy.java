package io.msm.agent.sip.proxy;

import static io.msm.agent.sip.policy.Replies.reply;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.MeterRegistry;
import io.msm.agent.config.SipSettings;
import io.msm.agent.limits.Refusals;
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
import io.msm.agent.sip.policy.Admission;
import io.msm.agent.sip.policy.Replies;
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
 * <p>This class is the proxy core, a pipeline: inbound messages parsed, retransmissions absorbed,
 * the request admitted ({@link Admission}: routing policy, authentication, dialog binding, limits)
 * or refused statelessly, a server transaction, then REGISTER/OPTIONS for msm or the request
 * forwarded ({@link Forward}) — initial requests here, requests within a dialog, the ACK of a 2xx,
 * CANCEL and late 2xx responses in {@link Dialogs}. The rest has a room of its own: {@link Router}
 * (target, loops, Via/Record-Route, next hop), {@link Registrar} (REGISTER, the location service),
 * {@link CallTable} (the calls; ending one), {@link MediaAnchor} (offers and answers, the media
 * thread), {@link RtpWatchdog} (RTP timeout, BYE) and {@link CallPersistence} (the state file).
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
    private final CallTable calls = new CallTable();
    private final MediaAnchor media;
    private final CallPersistence persistence;
    private final Forward.Services forwarding;

    private final SipSettings.Security sec;
    private final Admission admission;
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
    private Dialogs dialogs;
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
        this.maxTransactions = Math.max(1000, cfg.maxCalls() * 20);
        AnchoredSessions sessions = new AnchoredSessions();
        this.metrics = new CallMetrics(registry, calls::active, location::size, sessions);
        this.media = new MediaAnchor(plane, metrics, sessions, calls, loop, sec.maxMediaLines());
        this.admission = new Admission(cfg, plane, calls, media);
        transports.limit(sec, metrics.refusals());
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
        admission.start(router, auth);
        dialogs = new Dialogs(txs, transports, router, admission, forwarding);
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
                                calls.all().forEach(admission::restored);
                            })
                    .get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.warn("restoring SIP calls failed: {}", e.toString());
        }
        watchdog.start();
        loop.scheduleWithFixedDelay(location::purge, 30, 30, TimeUnit.SECONDS);
        started = true;
    }

    /** The event loop every SIP message is handled on. */
    public Executor signallingThread() {
        return loop;
    }

    /** The thread that opens and closes calls' relays. */
    public Executor mediaThread() {
        return media.mediaThread();
    }

    /** Who may do what (the routing policy, authentication, admission of calls). */
    public Admission admission() {
        return admission;
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
                if (!txs.onResponse(s)) {
                    dialogs.response(s);
                }
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
                dialogs.ack(req, from);
            }
            return;
        }
        if (txs.absorb(req)) {
            return;
        }
        if (req.is("CANCEL")) {
            dialogs.cancel(req, from);
            return;
        }
        // the policy and limits before any state: a refused request costs no transaction, port or
        // kernel entry
        Admission.Decision decision = admission.admit(req, from.remote().getAddress());
        if (decision instanceof Admission.Refused r) {
            if (r.call()) {
                metrics.outcome("refused");
            }
            refuseStateless(req, from, fixed, r.response(), r.reason());
            return;
        }
        Admission.Admitted admitted = (Admission.Admitted) decision;
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

    private void route(
            ServerTransaction st, SipRequest req, Hop from, Admission.Admitted admitted) {
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
        if (!hasRoute && req.is("REGISTER") && node.isRegistrar(ruri)) {
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
            dialogs.request(st, req, maxFwd, loopHash);
        } else {
            initial(st, req, from, ruri, maxFwd, loopHash, admitted);
        }
    }

    private void initial(
            ServerTransaction st,
            SipRequest req,
            Hop from,
            SipUri ruri,
            int maxFwd,
            String loopHash,
            Admission.Admitted admitted) {
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
        return admission.sourceLeases();
    }
}
