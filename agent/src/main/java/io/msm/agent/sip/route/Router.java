package io.msm.agent.sip.route;

import io.msm.agent.config.SipSettings;
import io.msm.agent.sip.message.HeaderNames;
import io.msm.agent.sip.message.NameAddr;
import io.msm.agent.sip.message.SipRequest;
import io.msm.agent.sip.message.SipSyntaxException;
import io.msm.agent.sip.message.SipUri;
import io.msm.agent.sip.message.Via;
import io.msm.agent.sip.transport.Hop;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Where requests go and how msm stays on their path: the choice of target (location service,
 * sip.routes, an IP-literal Request-URI), the next hop, loop detection (a hash in msm's branch, RFC
 * 3261 section 16.3), msm's own Route entries (loose routing), Via and Record-Route, and the route
 * set of the requests msm sends in a dialog itself. Proxy thread only.
 */
public final class Router {
    public static final String BRANCH_PREFIX = Via.MAGIC + "-msm-";

    /** The location service, as routing asks it. */
    @FunctionalInterface
    public interface Registrations {
        /** The contact registered for a Request-URI (the most recent), or null. */
        String contactOf(SipUri ruri);
    }

    private final Node node;
    private final InetSocketAddress listen;
    private final StaticRoutes routes;
    private final Registrations registrations;
    private final String instance =
            Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
    private long branches;

    public Router(
            Node node, InetSocketAddress listen, StaticRoutes routes, Registrations registrations) {
        this.node = node;
        this.listen = listen;
        this.routes = routes;
        this.registrations = registrations;
    }

    /** Who msm is: its addresses and port. */
    public Node node() {
        return node;
    }

    // ------------------------------------------------------------------ Via

    /**
     * RFC 3261 section 18.2.1 received, RFC 3581 rport. received is written whenever the sender put
     * one in (or the sent-by differs): responses go where the request really came from, never to an
     * address a sender claims.
     */
    public static Via fixVia(Via v, Hop from) {
        InetAddress src = from.remote().getAddress();
        if (v.wantsRport()) {
            return v.with("rport", Integer.toString(from.remote().getPort()))
                    .with("received", src.getHostAddress());
        }
        if (v.received() != null || !src.equals(v.hostAddress())) {
            return v.with("received", src.getHostAddress());
        }
        return v;
    }

    /**
     * Where responses to a request with this (fixed) top Via go: RFC 3261 section 18.2.2, RFC 3581
     * section 4.
     */
    public static Hop responseHop(Via v, Hop arrived) {
        InetAddress a = arrived.remote().getAddress();
        String received = v.received();
        InetAddress r = null;
        if (received != null) {
            try {
                r =
                        SipUri.parse(
                                        "sip:"
                                                + (received.indexOf(':') >= 0
                                                        ? "[" + received + "]"
                                                        : received))
                                .address();
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
        if (arrived.reliable()) {
            // TCP, TLS: back over the connection the request came on (RFC 3261 section 18.2.2)
            return new Hop(arrived.kind(), arrived.remote(), arrived.connection());
        }
        return Hop.udp(new InetSocketAddress(a, port));
    }

    /**
     * Where a response forwarded statelessly goes: the Via below msm's; null when it names no
     * address.
     */
    public static Hop statelessResponseHop(Via next) {
        InetAddress a = next.hostAddress();
        String received = next.received();
        if (received != null) {
            try {
                a =
                        SipUri.parse(
                                        "sip:"
                                                + (received.indexOf(':') >= 0
                                                        ? "[" + received + "]"
                                                        : received))
                                .address();
            } catch (SipSyntaxException e) {
                return null;
            }
        }
        if (a == null) {
            return null;
        }
        int port = next.rport() > 0 ? next.rport() : next.portOrDefault();
        return new Hop(Hop.Kind.of(next.transport()), new InetSocketAddress(a, port), null);
    }

    /** A Via msm put on a request it forwarded (its branch and one of its addresses). */
    public boolean isOurs(Via v) {
        return v != null
                && v.branch() != null
                && v.branch().startsWith(BRANCH_PREFIX)
                && node.isUs(v);
    }

    public void addVia(SipRequest fwd, Hop next, String loopHash) {
        viaWithBranch(fwd, next, newBranch(loopHash));
    }

    /**
     * The Via of a forwarded ACK: the same branch for its retransmissions (RFC 3261 section 16.11).
     */
    public void addAckVia(SipRequest fwd, Hop next, String loopHash, Via arrived) {
        String b =
                BRANCH_PREFIX
                        + loopHash
                        + "-a"
                        + Long.toHexString(arrived.toString().hashCode() & 0xffffffffL);
        viaWithBranch(fwd, next, b);
    }

    private void viaWithBranch(SipRequest fwd, Hop next, String branch) {
        InetAddress local = node.facing(next.remote().getAddress());
        String host = SipUri.hostOf(local == null ? listen.getAddress() : local);
        fwd.addFirst(
                HeaderNames.VIA,
                Via.of(next.kind().via(), host, node.port(next.kind()), branch).toString());
    }

    private String newBranch(String loopHash) {
        return BRANCH_PREFIX + loopHash + "-" + instance + "." + Long.toString(++branches, 36);
    }

    // ------------------------------------------------------------------ loops

    /**
     * RFC 3261 section 16.6 step 8 / 16.3 step 4: what a looping request keeps unchanged
     * (everything but the top Via), as 16 hex digits in msm's branch.
     */
    public static String loopHash(SipRequest r) {
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

    /** The request passed msm before with everything a loop keeps unchanged (482). */
    public boolean looped(SipRequest req, String loopHash) {
        for (String v : req.all(HeaderNames.VIA)) {
            Via via = Via.parse(v);
            String b = via.branch();
            if (b != null
                    && b.startsWith(BRANCH_PREFIX)
                    && node.isUs(via)
                    && b.startsWith(loopHash, BRANCH_PREFIX.length())) {
                return true;
            }
        }
        return false;
    }

    // ------------------------------------------------------------------ Route, Record-Route, next
    // hop

    /** Loose routing: remove msm's own entries from the top of the Route. */
    public void popOwnRoutes(SipRequest req) {
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
     * Where a request goes next: its top Route, else its Request-URI; null if that is not an IP
     * literal or is msm.
     */
    public Hop nextHop(SipRequest r) {
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
        if (a == null || node.isUs(u)) {
            return null;
        }
        // sips: is TLS on every hop (RFC 3261 section 26.2.2); transport=tls too, on port 5061
        // unless given
        Hop.Kind kind = u.scheme().equals("sips") ? Hop.Kind.TLS : Hop.Kind.of(u.transport());
        int port = kind == Hop.Kind.TLS && u.port() <= 0 ? 5061 : u.portOrDefault();
        return new Hop(kind, new InetSocketAddress(a, port), null);
    }

    /** What kind of target an initial request has: who may reach it is decided by the policy. */
    public enum Kind {
        /** a user registered here */
        REGISTERED,
        /** a static route (sip.routes) */
        ROUTE,
        /** the Request-URI as it is (an IP literal) */
        ANY
    }

    /**
     * The target of an initial request: the Request-URI to use (its hop follows from it), its kind,
     * and the static route when it is one.
     */
    public record Target(SipUri uri, Kind kind, SipSettings.Route route) {}

    /**
     * Where an initial request is retargeted: the Request-URI to use (its hop follows from it), or
     * null.
     */
    public SipUri target(SipUri ruri) {
        Target t = resolve(ruri);
        return t == null ? null : t.uri();
    }

    /** As {@link #target}, with the kind of target; null when there is none. No state changes. */
    public Target resolve(SipUri ruri) {
        String contact = registrations.contactOf(ruri);
        if (contact != null) {
            return new Target(SipUri.parse(contact), Kind.REGISTERED, null);
        }
        SipSettings.Route r = routes.match(ruri);
        if (r != null) {
            SipUri t = ruri.withHostPort(SipUri.hostOf(r.target().address()), r.target().port());
            return new Target(
                    "tcp".equals(r.transport())
                            ? t.withParam("transport", "tcp")
                            : t.withoutParam("transport"),
                    Kind.ROUTE,
                    r);
        }
        if (ruri.address() != null && !node.isUs(ruri)) {
            return new Target(ruri, Kind.ANY, null);
        }
        return null;
    }

    /**
     * Record-Route msm on both sides; two entries when the two sides face different node addresses
     * or transports (RFC 5658). A TLS side gets msm's TLS port: {@code sips:} when the request is
     * for a sips: URI, else {@code transport=tls} (RFC 5630 section 4.1), so in-dialog requests
     * come back over TLS.
     */
    public void addRecordRoute(SipRequest fwd, Hop in, Hop out) {
        boolean sips = fwd.uri().regionMatches(true, 0, "sips:", 0, 5);
        String inUri = rrUri(node.facing(in.remote().getAddress()), in.kind(), sips);
        String outUri = rrUri(node.facing(out.remote().getAddress()), out.kind(), sips);
        fwd.addFirst(HeaderNames.RECORD_ROUTE, "<" + inUri + ">");
        if (!inUri.equals(outUri)) {
            fwd.addFirst(HeaderNames.RECORD_ROUTE, "<" + outUri + ">");
        }
    }

    private String rrUri(InetAddress a, Hop.Kind kind, boolean sips) {
        boolean tls = kind == Hop.Kind.TLS;
        return (tls && sips ? "sips:" : "sip:")
                + SipUri.hostOf(a == null ? listen.getAddress() : a)
                + ":"
                + node.port(kind)
                + (kind == Hop.Kind.TCP ? ";transport=tcp" : tls && !sips ? ";transport=tls" : "")
                + ";lr";
    }

    /**
     * The Route of a request msm sends in a dialog itself: the Record-Route entries (of the 2xx,
     * top first) beyond msm, in the order the request meets them — towards the callee those above
     * msm's, reversed; towards the caller those below.
     */
    public List<String> routeSet(List<String> recordRoute, boolean towardsCallee) {
        List<String> rr = recordRoute;
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
        if (towardsCallee) {
            for (int i = (first < 0 ? rr.size() : first) - 1; i >= 0; i--) {
                route.add(rr.get(i));
            }
        } else if (last >= 0) {
            route.addAll(rr.subList(last + 1, rr.size()));
        }
        return route;
    }
}
