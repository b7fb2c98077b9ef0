package io.msm.agent.config;

import io.msm.agent.auth.CidrSet;
import io.msm.agent.auth.DigestAlgorithm;
import io.msm.agent.identity.SpiffeIdSet;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The SIP proxy's settings (section {@code sip:}).
 *
 * <pre>
 * sip:
 *   max-message-bytes: 16384       # larger messages get 513 (or are dropped)
 *   max-calls: 1000                # concurrent calls with anchored media; more get 503 + Retry-After
 *   invites-per-second: 100        # new INVITEs accepted per second; more get 503 + Retry-After
 *   retry-after: 5s                # Retry-After of 503s for max-calls and full port ranges
 *   rtp-timeout: 60s               # an answered call without RTP/RTCP this long is ended, its ports freed
 *   max-register-expires: 1h       # cap on REGISTER expiry
 *   max-registrations: 10000       # bindings in the location service
 *   state-file: /var/lib/msm/sip-state.json   # calls survive a restart ("" disables)
 *   tcp: true                      # also listen on TCP
 *   domains: [example.com]         # domains the registrar serves besides the node's addresses
 *   timers: {t1: 500ms, t2: 4s, t4: 5s, c: 3m}   # RFC 3261 timers (scale them down for tests)
 *   routes:                        # static routes: user@domain, user or @domain -> target
 *     - {match: "@example.com", target: "10.0.0.7:5060", transport: udp, from: authenticated}
 *   tls:                           # SIP over TLS (sips:, transport=tls); off unless listen is set
 *     listen: 0.0.0.0:5061
 *     cert: /etc/msm/tls.crt       # PEM chain, leaf first; reloaded when it changes
 *     key: /etc/msm/tls.key        # PEM key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC), unencrypted
 *     ca: /etc/msm/peers-ca.crt    # trust these CAs for outgoing TLS (default: the JDK's)
 *     verify-host: true            # outgoing: the peer's certificate must name its IP address
 *     handshake-timeout: 5s        # a connection without a finished handshake is closed
 *     first-message-timeout: 10s   # ... without a whole first SIP message
 *     connections-per-source: 32   # inbound TLS connections per IPv4 address / IPv6 /64
 *     max-connections: 1024        # inbound TLS connections in total
 *     reload: 10s                  # how often cert/key/ca are checked for changes
 *   # who may do what (no open relay; see {@link Security})
 *   trusted: []                    # CIDRs whose requests may go anywhere without authentication
 *   trusted-identities: []         # in a cluster: pods' SPIFFE IDs trusted the same way, e.g.
 *                                  # spiffe://cluster.local/ns/pbx/sa/asterisk, spiffe://cluster.local/ns/pbx/sa/*
 *   users-file: ""                 # HA1 users file (msm-agent passwd); "" = no users
 *   realm: msm                     # Digest realm (the users file's realm)
 *   max-media-lines: 4             # m= lines per SDP; more get 488
 *   auth: {nonce-lifetime: 5m, max-failures: 10, failure-window: 1m, lockout: 5m,
 *          algorithms: [SHA-256, MD5]}   # one challenge per algorithm, in this order
 *   per-source: {calls: 50, invites-per-second: 10, invite-burst: 20, tcp-connections: 32}
 *   connections: {max-inbound: 1024, max-outbound: 1024, first-message-timeout: 5s, message-timeout: 10s}
 * </pre>
 *
 * @param maxMessageBytes larger messages are refused (513 / dropped)
 * @param maxCalls concurrent calls with anchored media
 * @param invitesPerSecond new INVITEs accepted per second; more get 503 with Retry-After
 * @param retryAfter Retry-After of the 503 sent when max-calls is reached or no ports are free
 * @param rtpTimeout a call without RTP for this long is torn down and its ports freed
 * @param maxRegisterExpires cap on REGISTER expiry
 * @param maxRegistrations bindings the location service holds at most
 * @param stateFile where calls are persisted for a restart; null: not persisted
 * @param tcp listen on TCP as well as UDP
 * @param domains domains served by the registrar (besides the node's own addresses)
 * @param timers RFC 3261 timer values
 * @param routes static routes: user or domain -> target
 * @param tls the TLS listener and outgoing TLS, or null when off
 * @param security who may use the proxy, and how much one source may take
 */
public record SipSettings(
        int maxMessageBytes,
        int maxCalls,
        int invitesPerSecond,
        Duration retryAfter,
        Duration rtpTimeout,
        Duration maxRegisterExpires,
        int maxRegistrations,
        Path stateFile,
        boolean tcp,
        List<String> domains,
        Timers timers,
        List<Route> routes,
        Tls tls,
        Security security) {

    public static final String DEFAULT_STATE_FILE = "/var/lib/msm/sip-state.json";

    /**
     * @param match "user@domain", "@domain" or "user"
     * @param target "host:port" to forward to
     * @param transport "udp" or "tcp"
     * @param from who may call through the route
     */
    public record Route(String match, HostPort target, String transport, From from) {
        public Route(String match, HostPort target) {
            this(match, target, "udp", From.AUTHENTICATED);
        }

        public Route(String match, HostPort target, String transport) {
            this(match, target, transport, From.AUTHENTICATED);
        }
    }

    /**
     * Who may send a dialog-creating request through a static route ({@code from:} of a route).
     * Trusted sources ({@code sip.trusted}) may always.
     */
    public enum From {
        /** anyone (e.g. a route to an internal service every caller may reach) */
        ANY,
        /**
         * a Digest-authenticated user or a trusted source (the default: a PSTN trunk costs money)
         */
        AUTHENTICATED,
        /** only trusted sources */
        TRUSTED
    }

    /**
     * Who may do what, and how much one source may take. A dialog-creating request (INVITE,
     * SUBSCRIBE, REFER) is forwarded to a user registered here (anyone may call a registered user),
     * through a static route (per its {@code from}), or — from a trusted source or an authenticated
     * user — to any other target; else refused (403/404) before any state exists. REGISTER needs
     * the user's own Digest credentials (or a trusted source).
     *
     * @param trusted sources that may route anywhere and change any binding without authentication
     * @param trustedIdentities pods (by workload identity, in a cluster) trusted like {@code
     *     trusted} sources
     * @param usersFile Digest users (HA1 hashes); null: nobody can authenticate
     * @param realm the Digest realm
     * @param nonceLifetime how long a nonce is good for (then stale=true)
     * @param maxFailures failed authentications from one source within failureWindow before it is
     *     locked out
     * @param failureWindow the window maxFailures counts in
     * @param lockout how long a locked-out source is refused (403)
     * @param maxMediaLines m= lines an SDP may carry; more get 488
     * @param callsPerSource concurrent calls set up by one source (IPv4 address, IPv6 /64)
     * @param invitesPerSourcePerSecond INVITEs (initial or in-dialog) per source and second
     * @param inviteBurst INVITEs a source may send at once
     * @param tcpConnectionsPerSource inbound TCP connections per source
     * @param maxInboundConnections inbound TCP connections in total
     * @param maxOutboundConnections TCP connections msm opens, in their own table
     * @param firstMessageTimeout an inbound TCP connection must send a whole message within this
     * @param messageTimeout each later message must arrive whole within this from its first byte
     * @param algorithms Digest algorithms offered, one challenge each, in this order
     */
    public record Security(
            CidrSet trusted,
            SpiffeIdSet trustedIdentities,
            Path usersFile,
            String realm,
            Duration nonceLifetime,
            int maxFailures,
            Duration failureWindow,
            Duration lockout,
            int maxMediaLines,
            int callsPerSource,
            int invitesPerSourcePerSecond,
            int inviteBurst,
            int tcpConnectionsPerSource,
            int maxInboundConnections,
            int maxOutboundConnections,
            Duration firstMessageTimeout,
            Duration messageTimeout,
            List<DigestAlgorithm> algorithms) {

        public static Security read(ConfigNode n) {
            CidrSet trusted = n.cidrs("trusted", List.of());
            List<String> ids =
                    n.list(
                            "trusted-identities",
                            List.of(),
                            e -> {
                                String why = SpiffeIdSet.problem(e.text());
                                if (why != null) {
                                    throw new ConfigException(e.field(), why);
                                }
                                return e.text();
                            });
            String uf = n.string("users-file", "");
            Path users = null;
            if (uf != null && !uf.isBlank()) {
                if (!uf.startsWith("/")) {
                    throw new ConfigException(
                            n.field("users-file"), "must be an absolute path (got '" + uf + "')");
                }
                users = Path.of(uf);
            }
            String realm = n.string("realm", "msm");
            if (realm.isEmpty()
                    || realm.length() > 128
                    || realm.contains("\"")
                    || realm.contains("\\")
                    || realm.contains(":")) {
                throw new ConfigException(
                        n.field("realm"),
                        "must be 1-128 characters without quotes, backslashes or colons");
            }
            int lines = n.integer("max-media-lines", 4, 1, 64);
            ConfigNode a = n.section("auth");
            Duration nonce =
                    a.duration("nonce-lifetime", Duration.ofMinutes(5), Duration.ofSeconds(10));
            int fails = a.integer("max-failures", 10, 1, 1_000_000);
            Duration window =
                    a.duration("failure-window", Duration.ofMinutes(1), Duration.ofSeconds(1));
            Duration lockout = a.duration("lockout", Duration.ofMinutes(5), Duration.ofSeconds(1));
            List<DigestAlgorithm> algs =
                    a.list(
                            "algorithms",
                            List.of(DigestAlgorithm.SHA_256, DigestAlgorithm.MD5),
                            e -> {
                                try {
                                    return DigestAlgorithm.byToken(e.text());
                                } catch (IllegalArgumentException ex) {
                                    throw new ConfigException(e.field(), ex.getMessage());
                                }
                            });
            if (algs.isEmpty()) {
                throw new ConfigException(a.field("algorithms"), "must name MD5 or SHA-256");
            }
            a.done();
            ConfigNode p = n.section("per-source");
            int calls = p.integer("calls", 50, 1, 100_000);
            int ips = p.integer("invites-per-second", 10, 1, 100_000);
            int burst = p.integer("invite-burst", Math.max(20, ips), 1, 1_000_000);
            int tcpPer = p.integer("tcp-connections", 32, 1, 100_000);
            p.done();
            ConfigNode c = n.section("connections");
            int in = c.integer("max-inbound", 1024, 1, 1_000_000);
            if (tcpPer > in) {
                throw new ConfigException(
                        p.field("tcp-connections"),
                        "must not be over connections.max-inbound (" + in + ")");
            }
            int out = c.integer("max-outbound", 1024, 1, 1_000_000);
            Duration first =
                    c.duration(
                            "first-message-timeout", Duration.ofSeconds(5), Duration.ofMillis(100));
            Duration msg =
                    c.duration("message-timeout", Duration.ofSeconds(10), Duration.ofMillis(100));
            c.done();
            return new Security(
                    trusted,
                    SpiffeIdSet.of(ids),
                    users,
                    realm,
                    nonce,
                    fails,
                    window,
                    lockout,
                    lines,
                    calls,
                    ips,
                    burst,
                    tcpPer,
                    in,
                    out,
                    first,
                    msg,
                    List.copyOf(algs));
        }
    }

    /**
     * RFC 3261 section 17 timers: T1 (RTT estimate), T2 (longest retransmit interval of non-INVITE
     * requests and INVITE responses), T4 (how long a message stays in the network) and the proxy's
     * timer C (an INVITE with provisional answers only is cancelled after it). Timers B, D, F, H, J
     * and M are 64*T1 (32 s with the RFC's T1, which is what D must be at least on UDP); G and E
     * start at T1 and double up to T2; I and K are T4.
     */
    public record Timers(Duration t1, Duration t2, Duration t4, Duration c) {
        public static final Timers RFC =
                new Timers(
                        Duration.ofMillis(500),
                        Duration.ofSeconds(4),
                        Duration.ofSeconds(5),
                        Duration.ofMinutes(3));

        /** 64*T1: timers B, F, H, J and M. */
        public Duration sixtyFourT1() {
            return t1.multipliedBy(64);
        }
    }

    /**
     * SIP over TLS (RFC 3261 section 26, RFC 5630): its own listener with a PEM certificate and
     * key, and the trust for outgoing TLS connections (to sips: targets and transport=tls).
     * Inbound, clients are not asked for certificates (SIP UAs authenticate by digest); outbound,
     * the peer's chain is verified against {@code ca} (or the JDK's trust store) and, with {@code
     * verifyHost}, its certificate must name the IP address msm connects to.
     *
     * @param listen where the TLS listener binds
     * @param cert PEM certificate chain, leaf first
     * @param key PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC; not encrypted)
     * @param ca PEM CA certificates trusted for outgoing TLS, or null for the JDK's trust store
     * @param verifyHost outgoing: check the peer certificate's subjectAltName against its IP
     * @param handshakeTimeout inbound and outbound handshakes must finish within it
     * @param firstMessageTimeout an inbound connection must bring a whole message within it
     * @param connectionsPerSource inbound connections per source (IPv4 address, IPv6 /64)
     * @param maxConnections inbound connections in total
     * @param reload how often the files are checked for a change (cert-manager rotations)
     */
    public record Tls(
            HostPort listen,
            Path cert,
            Path key,
            Path ca,
            boolean verifyHost,
            Duration handshakeTimeout,
            Duration firstMessageTimeout,
            int connectionsPerSource,
            int maxConnections,
            Duration reload) {

        /** sip.tls, or null when the section is absent or empty (TLS off). */
        public static Tls read(ConfigNode t) {
            if (t.keys().isEmpty()) {
                return null;
            }
            HostPort listen = HostPort.parse(t.field("listen"), t.string("listen", null));
            Path cert = file(t, "cert", true);
            Path key = file(t, "key", true);
            Path ca = file(t, "ca", false);
            boolean verifyHost = t.bool("verify-host", true);
            Duration hs =
                    t.duration("handshake-timeout", Duration.ofSeconds(5), Duration.ofMillis(10));
            Duration first =
                    t.duration(
                            "first-message-timeout", Duration.ofSeconds(10), Duration.ofMillis(10));
            int perSource = t.integer("connections-per-source", 32, 1, 100_000);
            int max = t.integer("max-connections", 1024, 1, 1_000_000);
            if (perSource > max) {
                throw new ConfigException(
                        t.field("connections-per-source"),
                        "must not exceed max-connections (" + max + ")");
            }
            Duration reload = t.duration("reload", Duration.ofSeconds(10), Duration.ofMillis(10));
            t.done();
            return new Tls(listen, cert, key, ca, verifyHost, hs, first, perSource, max, reload);
        }

        private static Path file(ConfigNode t, String key, boolean required) {
            String v = t.string(key, null);
            if (v == null || v.isBlank()) {
                if (required) {
                    throw new ConfigException(
                            t.field(key), "required with sip.tls.listen: a PEM file path");
                }
                return null;
            }
            if (!v.startsWith("/")) {
                throw new ConfigException(
                        t.field(key), "must be an absolute path (got '" + v + "')");
            }
            return Path.of(v);
        }
    }

    public static SipSettings defaults() {
        return read(new ConfigNode("sip", null));
    }

    public static SipSettings read(ConfigNode n) {
        int maxMsg = n.integer("max-message-bytes", 16384, 1024, 65535);
        int maxCalls = n.integer("max-calls", 1000, 1, 100_000);
        int ips = n.integer("invites-per-second", 100, 1, 100_000);
        Duration retry = n.duration("retry-after", Duration.ofSeconds(5), Duration.ofSeconds(1));
        Duration rtp = n.duration("rtp-timeout", Duration.ofSeconds(60), Duration.ofSeconds(1));
        Duration reg =
                n.duration("max-register-expires", Duration.ofHours(1), Duration.ofSeconds(60));
        int maxRegs = n.integer("max-registrations", 10_000, 1, 1_000_000);
        String sf = n.string("state-file", DEFAULT_STATE_FILE);
        Path stateFile = null;
        if (sf != null && !sf.isBlank()) {
            if (!sf.startsWith("/")) {
                throw new ConfigException(
                        n.field("state-file"),
                        "must be an absolute path, or \"\" to keep calls "
                                + "in memory only (got '"
                                + sf
                                + "')");
            }
            stateFile = Path.of(sf);
        }
        boolean tcp = n.bool("tcp", true);
        List<String> domains =
                n.list(
                        "domains",
                        List.of(),
                        e -> {
                            String d = e.text().trim().toLowerCase(Locale.ROOT);
                            if (!d.matches(
                                    "[a-z0-9]([a-z0-9\\-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9\\-]*[a-z0-9])?)*")) {
                                throw new ConfigException(
                                        e.field(),
                                        "must be a domain name like example.com (got '"
                                                + e.text()
                                                + "')");
                            }
                            return d;
                        });
        ConfigNode t = n.section("timers");
        Duration t1 = t.duration("t1", Timers.RFC.t1(), Duration.ofMillis(10));
        Duration t2 = t.duration("t2", Timers.RFC.t2(), Duration.ofMillis(10));
        if (t2.compareTo(t1) < 0) {
            throw new ConfigException(
                    t.field("t2"), "must be at least t1 (" + Durations.format(t1) + ")");
        }
        Duration t4 = t.duration("t4", Timers.RFC.t4(), Duration.ofMillis(10));
        Duration c = t.duration("c", Timers.RFC.c(), Duration.ofSeconds(1));
        if (c.compareTo(t1.multipliedBy(64)) <= 0 && t.has("c")) {
            throw new ConfigException(
                    t.field("c"),
                    "must be longer than 64*t1 ("
                            + Durations.format(t1.multipliedBy(64))
                            + "), as RFC 3261 section 16.6 requires");
        }
        t.done();
        List<Route> routes =
                n.list(
                        "routes",
                        new ArrayList<>(),
                        e -> {
                            ConfigNode r = e.node();
                            String match = r.string("match", null);
                            if (match == null || match.isBlank()) {
                                throw new ConfigException(
                                        r.field("match"), "required: user@domain, @domain or user");
                            }
                            if (match.chars()
                                            .anyMatch(
                                                    ch ->
                                                            ch <= ' ' || ch == '<' || ch == '>'
                                                                    || ch == ';' || ch == ':')
                                    || match.indexOf('@') != match.lastIndexOf('@')
                                    || match.equals("@")) {
                                throw new ConfigException(
                                        r.field("match"),
                                        "must be user@domain, @domain or user (got '"
                                                + match
                                                + "')");
                            }
                            HostPort target =
                                    HostPort.parse(r.field("target"), r.string("target", null));
                            if (target.port() == 0) {
                                throw new ConfigException(
                                        r.field("target"), "needs a port, e.g. 10.0.0.7:5060");
                            }
                            String transport =
                                    r.string("transport", "udp").toLowerCase(Locale.ROOT);
                            if (!transport.equals("udp") && !transport.equals("tcp")) {
                                throw new ConfigException(
                                        r.field("transport"),
                                        "must be udp or tcp (got '" + transport + "')");
                            }
                            From from = r.enumeration("from", From.AUTHENTICATED, From.class);
                            r.done();
                            return new Route(match, target, transport, from);
                        });
        Tls tls = Tls.read(n.section("tls"));
        Security security = Security.read(n);
        n.done();
        return new SipSettings(
                maxMsg,
                maxCalls,
                ips,
                retry,
                rtp,
                reg,
                maxRegs,
                stateFile,
                tcp,
                List.copyOf(domains),
                new Timers(t1, t2, t4, c),
                List.copyOf(routes),
                tls,
                security);
    }

    /** The same settings with another state file (tests). */
    public SipSettings withStateFile(Path p) {
        return new SipSettings(
                maxMessageBytes,
                maxCalls,
                invitesPerSecond,
                retryAfter,
                rtpTimeout,
                maxRegisterExpires,
                maxRegistrations,
                p,
                tcp,
                domains,
                timers,
                routes,
                tls,
                security);
    }

    /** The same settings with other timers (tests). */
    public SipSettings withTimers(Timers t) {
        return new SipSettings(
                maxMessageBytes,
                maxCalls,
                invitesPerSecond,
                retryAfter,
                rtpTimeout,
                maxRegisterExpires,
                maxRegistrations,
                stateFile,
                tcp,
                domains,
                t,
                routes,
                tls,
                security);
    }

    /** The same settings with another TLS section (tests). */
    public SipSettings withTls(Tls t) {
        return new SipSettings(
                maxMessageBytes,
                maxCalls,
                invitesPerSecond,
                retryAfter,
                rtpTimeout,
                maxRegisterExpires,
                maxRegistrations,
                stateFile,
                tcp,
                domains,
                timers,
                routes,
                t,
                security);
    }

    /** The same settings with another security section (tests). */
    public SipSettings withSecurity(Security s) {
        return new SipSettings(
                maxMessageBytes,
                maxCalls,
                invitesPerSecond,
                retryAfter,
                rtpTimeout,
                maxRegisterExpires,
                maxRegistrations,
                stateFile,
                tcp,
                domains,
                timers,
                routes,
                tls,
                s);
    }
}
