package io.msm.agent.sip.policy;

import io.msm.agent.config.SipSettings;
import io.msm.agent.identity.Identities;
import io.msm.agent.identity.IdentityLookup;
import io.msm.agent.limits.SourceKey;
import io.msm.agent.limits.SourceLimiter;
import io.msm.agent.limits.SourceRate;
import io.msm.agent.media.MediaAdmission;
import io.msm.agent.media.MediaPlane;
import io.msm.agent.sip.call.Call;
import io.msm.agent.sip.call.CallTable;
import io.msm.agent.sip.media.MediaAnchor;
import io.msm.agent.sip.message.HeaderNames;
import io.msm.agent.sip.message.SipRequest;
import io.msm.agent.sip.message.SipResponse;
import io.msm.agent.sip.message.SipUri;
import io.msm.agent.sip.route.Node;
import io.msm.agent.sip.route.Router;
import io.msm.agent.sip.sdp.Sdp;
import io.msm.agent.sip.sdp.SdpException;
import java.net.InetAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may do what, and how much (no open relay): the routing policy, authentication, dialog binding
 * and the admission of new calls, for a request before any state exists — a refused request costs
 * no transaction, port or kernel entry. The proxy asks {@link #admit} and gets either what was
 * {@link Admitted} or a {@link Refused} answer to send statelessly.
 *
 * <p>Limits: sip.max-calls and sip.invites-per-second ({@link InviteRate}); per source (trusted
 * sources exempt) sip.per-source.calls and the INVITE rate; sip.max-media-lines; the call's media
 * reserved in SIP's share of the media plane. Proxy thread only (the shares and per-source slots
 * are given back on the media thread, through the call).
 */
public final class Admission {
    private static final Logger log = LoggerFactory.getLogger(Admission.class);

    private final SipSettings cfg;
    private final SipSettings.Security sec;
    private final CallTable calls;
    private final MediaAnchor media;
    private final InviteRate rate;
    private final SourceLimiter callsPerSource;
    private final SourceRate invitesPerSource;
    private final MediaAdmission.Share mediaShare;
    private volatile IdentityLookup identities = IdentityLookup.NONE;

    // known once listening (the node's port, the users file)
    private Router router;
    private Node node;
    private SipAuth auth;

    public Admission(SipSettings cfg, MediaPlane plane, CallTable calls, MediaAnchor media) {
        this.cfg = cfg;
        this.sec = cfg.security();
        this.calls = calls;
        this.media = media;
        this.rate = new InviteRate(cfg.invitesPerSecond(), System::nanoTime);
        this.callsPerSource = new SourceLimiter(sec.callsPerSource(), cfg.maxCalls());
        this.invitesPerSource =
                new SourceRate(
                        sec.invitesPerSourcePerSecond(),
                        sec.inviteBurst(),
                        100_000,
                        System::nanoTime);
        this.mediaShare = plane.admission("sip");
        warnInconsistentLimits(plane);
    }

    /** How a source's workload identity is known (in a cluster), for sip.trusted-identities. */
    public void identities(IdentityLookup lookup) {
        this.identities = lookup;
    }

    /**
     * A trusted source: in sip.trusted, or a pod whose workload identity is in
     * sip.trusted-identities.
     */
    boolean trusted(InetAddress src) {
        if (sec.trusted().contains(src)) {
            return true;
        }
        if (sec.trustedIdentities().isEmpty()) {
            return false;
        }
        IdentityLookup l = identities;
        int id = l.identityOf(src);
        return id != Identities.WORLD
                && l.nameOf(id).map(sec.trustedIdentities()::contains).orElse(false);
    }

    /** Once listening: the router (and the node it knows) and the users file. */
    public void start(Router router, SipAuth auth) {
        this.router = router;
        this.node = router.node();
        this.auth = auth;
    }

    /**
     * max-calls single-stream calls must fit the kernel groups SIP may take; when they cannot, the
     * media plane refuses calls earlier (503) than max-calls suggests: say so at start-up.
     */
    private void warnInconsistentLimits(MediaPlane plane) {
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

    /** A call restored from the state file holds ports and groups: counted in SIP's share. */
    public void restored(Call c) {
        int n = 0;
        for (Call.Stream st : c.streams()) {
            if (st.ports() != null) {
                n++;
            }
        }
        c.admitted(
                mediaShare.force(MediaAnchor.PORTS_PER_STREAM * n, media.groupsPerStream() * n),
                null);
    }

    /** Calls holding a per-source slot (tests). */
    public int sourceLeases() {
        return callsPerSource.total();
    }

    // ------------------------------------------------------------------ decisions

    /** What {@link #admit} decided: {@link Admitted} or {@link Refused}. */
    public sealed interface Decision permits Admitted, Refused {}

    /**
     * A refusal to send without a transaction: the response, the reason it is counted under in
     * msm_refused_total (or null: not counted), and whether it refused a new call (counted as the
     * call's outcome too).
     */
    public record Refused(SipResponse response, String reason, boolean call) implements Decision {}

    /**
     * What admission gave a request: the authenticated user (or null) and, for a new call, its
     * reservations — handed to the call, or given back when no call came of it.
     */
    public static final class Admitted implements Decision {
        static final Admitted NOTHING = new Admitted(null, null, null);
        private final String user;
        private MediaAdmission.Lease media;
        private SourceLimiter.Lease source;

        Admitted(String user, MediaAdmission.Lease media, SourceLimiter.Lease source) {
            this.user = user;
            this.media = media;
            this.source = source;
        }

        /** The authenticated user, or null. */
        public String user() {
            return user;
        }

        /** The call took the reservations. */
        public void handTo(Call c) {
            c.admitted(media, source);
            media = null;
            source = null;
        }

        /** Give back what no call took (nothing after {@link #handTo}). */
        public void release() {
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

    private static Refused refused(SipResponse r, String reason) {
        return new Refused(r, reason, false);
    }

    private static Refused refusedCall(SipRequest req, long retryAfter, String why, String reason) {
        return new Refused(Replies.busy(req, retryAfter, why), reason, true);
    }

    // ------------------------------------------------------------------ the gate

    /**
     * The per-source INVITE rate, the routing policy, authentication, dialog binding and the
     * admission of new calls, for a request from {@code src} that is neither ACK nor CANCEL nor a
     * retransmission.
     */
    public Decision admit(SipRequest req, InetAddress src) {
        boolean trusted = trusted(src);
        // every INVITE counts, initial or in a dialog (a flood of tagged INVITEs too)
        if (req.is("INVITE") && !trusted && !invitesPerSource.tryAcquire(SourceKey.of(src))) {
            return refused(
                    Replies.busy(
                            req,
                            1,
                            "more than sip.per-source.invites-per-second ("
                                    + sec.invitesPerSourcePerSecond()
                                    + ") INVITEs from "
                                    + SourceKey.of(src)),
                    "invite_rate_source");
        }
        if (req.to().tag() != null && !req.is("REGISTER")) {
            // in a dialog: only one msm holds, only from its parties' hops
            Call call = calls.find(req);
            if (call == null) {
                if (trusted) {
                    return Admitted.NOTHING; // a trusted peer's own dialogs (e.g. NOTIFY)
                }
                return refused(
                        Replies.refusal(req, 481, "no dialog with these tags at msm"), "no_dialog");
            }
            DialogBinding.Mismatch m = DialogBinding.check(call, req, src);
            if (m != null) {
                return refused(
                        Replies.refusal(
                                req,
                                m.wrongHop() ? 403 : 481,
                                m.wrongHop() ? "not a party of this dialog" : m.why()),
                        m.reason());
            }
            return Admitted.NOTHING;
        }
        if (!SipUri.isSip(req.uri())) {
            return Admitted.NOTHING; // 416 from the proxy
        }
        SipUri ruri;
        try {
            ruri = SipUri.parse(req.uri());
        } catch (RuntimeException e) {
            return Admitted.NOTHING; // answered by the proxy
        }
        router.popOwnRoutes(req);
        boolean hasRoute = req.has(HeaderNames.ROUTE);
        if (!hasRoute && req.is("REGISTER") && node.isRegistrar(ruri)) {
            return register(req, src, trusted);
        }
        if (!hasRoute && req.is("OPTIONS") && ruri.user() == null && node.isUs(ruri)) {
            return Admitted.NOTHING; // answered by msm
        }
        String user = null;
        if (!hasRoute) {
            Router.Target t = router.resolve(ruri);
            if (t == null && "0".equals(req.first(HeaderNames.MAX_FORWARDS))) {
                return Admitted.NOTHING; // 483 first, from the proxy
            }
            if (t == null) {
                return refused(
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
                    return refused(
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
                }
                Decision d = authenticate(req, src, true);
                if (d instanceof Refused) {
                    return d;
                }
                user = ((Admitted) d).user();
            }
        } else if (!trusted) {
            // a Route to somewhere else (not an in-dialog request): loose routing through msm is a
            // relay like any other
            if (!auth.hasUsers()) {
                return refused(
                        Replies.refusal(
                                req,
                                403,
                                "msm relays along a Route for sip.trusted sources and authenticated"
                                        + " users only (no sip.users-file)"),
                        "relay_denied");
            }
            Decision d = authenticate(req, src, true);
            if (d instanceof Refused) {
                return d;
            }
            user = ((Admitted) d).user();
        }
        if (!req.is("INVITE") || calls.has(req.callId(), req.from().tag())) {
            return new Admitted(user, null, null);
        }
        return admitCall(req, src, trusted, user);
    }

    /**
     * Null when the ACK of a 2xx for {@code call} (null: none at msm) may be forwarded, else why it
     * is dropped.
     */
    public DialogBinding.Mismatch ack(Call call, SipRequest req, InetAddress src) {
        if (call == null) {
            return trusted(src)
                    ? null
                    : new DialogBinding.Mismatch("no dialog with these tags at msm", false);
        }
        return DialogBinding.check(call, req, src);
    }

    /** A REGISTER for msm: its user's own credentials, or a trusted source. */
    private Decision register(SipRequest req, InetAddress src, boolean trusted) {
        if (trusted) {
            return Admitted.NOTHING;
        }
        if (!auth.hasUsers()) {
            return refused(
                    Replies.refusal(
                            req,
                            403,
                            "registration needs sip.users-file credentials or a sip.trusted source"),
                    "auth_required");
        }
        Decision d = authenticate(req, src, false);
        if (d instanceof Refused) {
            return d;
        }
        String user = ((Admitted) d).user();
        String aorUser;
        try {
            aorUser = req.to().sipUri().userName();
        } catch (RuntimeException e) {
            aorUser = null;
        }
        if (!user.equals(aorUser)) {
            return refused(
                    Replies.refusal(req, 403, user + " may change only " + user + "'s bindings"),
                    "binding_not_own");
        }
        return new Admitted(user, null, null);
    }

    /** The user the request is authenticated as, or the refusal (401/407/403). */
    private Decision authenticate(SipRequest req, InetAddress src, boolean proxy) {
        SipAuth.Result r = auth.check(req, src, proxy);
        if (r instanceof SipAuth.Result.Ok ok) {
            return new Admitted(ok.user(), null, null);
        }
        if (r instanceof SipAuth.Result.Challenge c) {
            return refused(c.response(), c.failed() ? "auth_failed" : "auth_required");
        }
        return refused(
                Replies.refusal(
                        req,
                        403,
                        "too many failed authentications from "
                                + src.getHostAddress()
                                + "; try again later"),
                "auth_locked");
    }

    /**
     * A new call: max-calls, the INVITE rate, m= lines, the caller's concurrent calls, then its
     * media reserved in SIP's share of the plane — before any transaction, port or kernel entry.
     */
    private Decision admitCall(SipRequest req, InetAddress src, boolean trusted, String user) {
        if (calls.size() >= cfg.maxCalls()) {
            return refusedCall(
                    req,
                    cfg.retryAfter().toSeconds(),
                    "sip.max-calls (" + cfg.maxCalls() + ") calls in progress",
                    "max_calls");
        }
        if (!rate.tryAcquire()) {
            return refusedCall(
                    req,
                    1,
                    "more than sip.invites-per-second (" + cfg.invitesPerSecond() + ") new calls",
                    "rate");
        }
        int streams = 1;
        if (req.hasSdp()) {
            try {
                Sdp sdp = Sdp.parse(req.body());
                if (sdp.media().size() > sec.maxMediaLines()) {
                    return new Refused(
                            Replies.refusal(
                                    req,
                                    488,
                                    "more than sip.max-media-lines ("
                                            + sec.maxMediaLines()
                                            + ") media sections"),
                            "media_lines",
                            true);
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
                return refusedCall(
                        req,
                        cfg.retryAfter().toSeconds(),
                        SourceKey.of(src)
                                + " has sip.per-source.calls ("
                                + sec.callsPerSource()
                                + ") calls in progress",
                        "calls_per_source");
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
            return refusedCall(
                    req,
                    cfg.retryAfter().toSeconds(),
                    "no media ports or kernel groups left for SIP ("
                            + streams
                            + " stream(s) asked for)",
                    "media_share");
        }
        return new Admitted(user, lease, source);
    }
}
