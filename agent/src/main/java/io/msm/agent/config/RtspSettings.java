package io.msm.agent.config;

import io.msm.agent.auth.CidrSet;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The RTSP proxy's settings (section {@code rtsp:}).
 *
 * <pre>
 * rtsp:
 *   publish-by-default: true     # paths the config does not name may be created by a publisher
 *                                # (who still needs the publish permission, below)
 *   users-file: /etc/msm/rtsp-users   # user:realm:HA1 lines (msm-agent passwd); none: no users
 *   realm: msm
 *   basic-auth: tls              # Basic (password in clear) accepted: tls (RTSPS only), always, never
 *   defaults:                    # permissions of paths the config does not name (and of configured
 *     publish: none              #   paths that name none): "any", "none", or {from: [CIDR..],
 *     read: any                  #   users: [name.. | "*"]}; from absent = anywhere, users absent =
 *     publisher-grace: 5s        #   no login. Viewers wait this long for a publisher that left
 *                                #   (0: they end with it; at most 60s); per path too
 *   routed: {read: any}          #   no login. routed: paths StreamRoutes route (read only)
 *   upstream-credentials-file: /etc/msm/rtsp-upstreams  # "URL-prefix user:password" lines
 *   upstream-tls: {ca: /etc/msm/upstream-ca.pem, verify-host: true}  # rtsps:// upstreams: trusted
 *                                # CAs (default: the JVM's), certificate must name the URL's host
 *   max-connections: 1024        # RTSP connections at once (both listeners); more are closed
 *   max-connections-per-source: 64   # per client address (IPv6: per /64)
 *   request-timeout: 10s         # a request's header (and body) must arrive whole within this
 *   idle-timeout: 30s            # a connection with no session sending nothing this long is closed
 *   max-sessions-per-connection: 8   # more SETUPs: 453
 *   max-sessions-per-source: 100     # more SETUPs: 453
 *   announce-timeout: 10s        # ANNOUNCE to RECORD; after it the path is free again
 *   max-paths-per-source: 8      # paths one source's publishers may create at once; more: 453
 *   tls: {listen: 0.0.0.0:8322, cert: /etc/msm/tls.crt, key: /etc/msm/tls.key}  # RTSPS, off unless set
 *   paths:
 *     cam: {source: publish, publish: {from: [10.77.1.0/24]}, read: {users: ["*"]}}
 *     lobby: {publisher-grace: 30s, hot-standby: 300ms}  # two publishers; the second takes over
 * </pre>
 *
 * @param publishByDefault a path with no configured source may be created by ANNOUNCE (the
 *     publisher still needs the publish permission)
 * @param sessionTimeout RFC 2326 session timeout announced in Session: ...;timeout=
 * @param maxSessions concurrent sessions; more get 453 Not Enough Bandwidth
 * @param upstreamLinger a pulled upstream stays open this long after its last viewer left
 * @param maxHeaderBytes request line + headers bound; more gets 400 (and the connection closes)
 * @param maxBodyBytes body bound (SDP of ANNOUNCE, SET_PARAMETER)
 * @param maxPaths paths publishers may create (publish-by-default) at once; more get 453
 * @param upstreamTimeout a pulled path's upstream must be playing within this (else viewers get
 *     504/502)
 * @param paths configured paths by name
 */
public record RtspSettings(
        boolean publishByDefault,
        Duration sessionTimeout,
        int maxSessions,
        Duration upstreamLinger,
        int maxHeaderBytes,
        int maxBodyBytes,
        int maxPaths,
        Duration upstreamTimeout,
        Map<String, PathSource> paths,
        Auth auth,
        Limits limits,
        Tls tls,
        Grace grace) {

    /** Without a grace for viewers when their publisher leaves (tests, embedders). */
    public RtspSettings(
            boolean publishByDefault,
            Duration sessionTimeout,
            int maxSessions,
            Duration upstreamLinger,
            int maxHeaderBytes,
            int maxBodyBytes,
            int maxPaths,
            Duration upstreamTimeout,
            Map<String, PathSource> paths,
            Auth auth,
            Limits limits,
            Tls tls) {
        this(
                publishByDefault,
                sessionTimeout,
                maxSessions,
                upstreamLinger,
                maxHeaderBytes,
                maxBodyBytes,
                maxPaths,
                upstreamTimeout,
                paths,
                auth,
                limits,
                tls,
                Grace.NONE);
    }

    /**
     * How long a published path's viewers keep their sessions after its publisher left (TEARDOWN,
     * connection lost, session timeout), waiting for a publisher to ANNOUNCE and RECORD a
     * compatible description again: {@code rtsp.defaults.publisher-grace}, and per path {@code
     * rtsp.paths.NAME.publisher-grace}. Zero: the viewers end with their publisher.
     */
    public record Grace(
            Duration defaults,
            Map<String, Duration> paths,
            Duration standbyDefault,
            Map<String, Duration> standby,
            Duration silenceDefault,
            Map<String, Duration> silence) {
        /** the longest grace the configuration accepts */
        public static final Duration MAX = Duration.ofSeconds(60);

        public static final Duration DEFAULT = Duration.ofSeconds(5);
        public static final Grace NONE = new Grace(Duration.ZERO, Map.of());

        /** the longest hot-standby silence the configuration accepts */
        public static final Duration MAX_SILENCE = Duration.ofSeconds(10);

        public Grace {
            paths = Map.copyOf(paths);
            standby = Map.copyOf(standby);
            silence = Map.copyOf(silence);
        }

        /** Without RTP silence detection. */
        public Grace(
                Duration defaults,
                Map<String, Duration> paths,
                Duration standbyDefault,
                Map<String, Duration> standby) {
            this(defaults, paths, standbyDefault, standby, null, Map.of());
        }

        /**
         * {@code publisher-silence}: a publisher whose RTP has been silent this long while its RTSP
         * session lives is treated as gone for resumption — its session ends and the stream enters
         * the grace, so a publisher may ANNOUNCE it again; null: only a session that ends does.
         */
        public Duration silenceOf(String path) {
            Duration d = path == null ? null : silence.get(path);
            return d == null ? silenceDefault : d;
        }

        /** Without hot standby. */
        public Grace(Duration defaults, Map<String, Duration> paths) {
            this(defaults, paths, null, Map.of(), null, Map.of());
        }

        /**
         * Hot standby of a path ({@code rtsp.paths.NAME.hot-standby}, or {@code
         * rtsp.defaults.hot-standby}): a second publisher may publish it at once, and takes over
         * when the active one's RTP has been silent this long; null: one publisher at a time.
         */
        public Duration standbyOf(String path) {
            Duration d = path == null ? null : standby.get(path);
            return d == null ? standbyDefault : d;
        }

        /** The grace of a path (its configured name, or the defaults' for a created path). */
        public Duration of(String path) {
            Duration d = path == null ? null : paths.get(path);
            return d == null ? defaults : d;
        }
    }

    public RtspSettings with(Grace g) {
        return new RtspSettings(
                publishByDefault,
                sessionTimeout,
                maxSessions,
                upstreamLinger,
                maxHeaderBytes,
                maxBodyBytes,
                maxPaths,
                upstreamTimeout,
                paths,
                auth,
                limits,
                tls,
                g);
    }

    /** Who may publish or read, and how clients and upstreams authenticate. */
    public record Auth(
            Path usersFile,
            String realm,
            BasicAuth basic,
            Rules defaults,
            Permission routedRead,
            Map<String, Rules> paths,
            Path upstreamCredentialsFile,
            UpstreamTls upstreamTls) {
        public Auth {
            if (upstreamTls == null) {
                upstreamTls = UpstreamTls.DEFAULTS;
            }
        }

        /** rtsps:// upstreams verified against the JVM's trust store, host names checked. */
        public Auth(
                Path usersFile,
                String realm,
                BasicAuth basic,
                Rules defaults,
                Permission routedRead,
                Map<String, Rules> paths,
                Path upstreamCredentialsFile) {
            this(
                    usersFile,
                    realm,
                    basic,
                    defaults,
                    routedRead,
                    paths,
                    upstreamCredentialsFile,
                    UpstreamTls.DEFAULTS);
        }

        /** Nobody may publish, anyone may read, no users: the defaults. */
        public static final Auth OPEN_READ =
                new Auth(
                        null,
                        "msm",
                        BasicAuth.TLS,
                        new Rules(Permission.NONE, Permission.ANY),
                        Permission.ANY,
                        Map.of(),
                        null);

        /** The rules of a path: its own when configured with any, else the defaults. */
        public Rules rules(String configuredPath) {
            Rules r = configuredPath == null ? null : paths.get(configuredPath);
            return r == null ? defaults : r;
        }

        public Auth withDefaults(Rules d) {
            return new Auth(
                    usersFile,
                    realm,
                    basic,
                    d,
                    routedRead,
                    paths,
                    upstreamCredentialsFile,
                    upstreamTls);
        }

        public Auth withPath(String name, Rules r) {
            Map<String, Rules> m = new LinkedHashMap<>(paths);
            m.put(name, r);
            return new Auth(
                    usersFile,
                    realm,
                    basic,
                    defaults,
                    routedRead,
                    m,
                    upstreamCredentialsFile,
                    upstreamTls);
        }

        public Auth withUpstreamCredentials(Path file) {
            return new Auth(
                    usersFile, realm, basic, defaults, routedRead, paths, file, upstreamTls);
        }

        public Auth withUpstreamTls(UpstreamTls t) {
            return new Auth(
                    usersFile,
                    realm,
                    basic,
                    defaults,
                    routedRead,
                    paths,
                    upstreamCredentialsFile,
                    t);
        }

        public Auth withUsers(Path file, BasicAuth b) {
            return new Auth(
                    file,
                    realm,
                    b,
                    defaults,
                    routedRead,
                    paths,
                    upstreamCredentialsFile,
                    upstreamTls);
        }
    }

    /**
     * How msm checks the servers of {@code rtsps://} upstreams ({@code rtsp.upstream-tls}): their
     * certificate chain against the PEM CA bundle {@code ca} (null: the JVM's trust store), and,
     * with {@code verifyHost}, that the certificate names the URL's host (DNS or IP subject
     * alternative name). The RTSPS listener asks no client certificate, so none is offered: the
     * client authenticates with Digest (or Basic) over the TLS connection.
     */
    public record UpstreamTls(Path ca, boolean verifyHost) {
        public static final UpstreamTls DEFAULTS = new UpstreamTls(null, true);
    }

    /** When Basic credentials (the password itself) are accepted. */
    public enum BasicAuth {
        /** only over RTSPS */
        TLS,
        ALWAYS,
        NEVER
    }

    /** A path's publish and read permissions. */
    public record Rules(Permission publish, Permission read) {}

    /**
     * Who may do something: a source in {@code from}, and — when {@code users} is not null — a user
     * of the users file who logs in and is listed ({@code "*"}: any user).
     */
    public record Permission(CidrSet from, List<String> users) {
        public static final CidrSet ANYWHERE = CidrSet.parse(List.of("0.0.0.0/0", "::/0"));
        public static final Permission ANY = new Permission(ANYWHERE, null);
        public static final Permission NONE = new Permission(CidrSet.NONE, null);

        public boolean needsLogin() {
            return users != null;
        }

        public boolean admits(String user) {
            return users == null || users.contains("*") || users.contains(user);
        }

        /** Anyone from {@code cidrs} without a login (tests, demos). */
        public static Permission from(String... cidrs) {
            return new Permission(CidrSet.parse(List.of(cidrs)), null);
        }

        @Override
        public String toString() {
            if (from.isEmpty()) {
                return "none";
            }
            return (from == ANYWHERE ? "anywhere" : "from " + from)
                    + (users == null ? "" : ", users " + users);
        }
    }

    /** The listener's limits (see the class comment for their defaults). */
    public record Limits(
            int maxConnections,
            int maxConnectionsPerSource,
            Duration requestTimeout,
            Duration idleTimeout,
            int maxSessionsPerConnection,
            int maxSessionsPerSource,
            Duration announceTimeout,
            int maxPathsPerSource) {
        public static final Limits DEFAULTS =
                new Limits(
                        1024,
                        64,
                        Duration.ofSeconds(10),
                        Duration.ofSeconds(30),
                        8,
                        100,
                        Duration.ofSeconds(10),
                        8);
    }

    /** RTSPS: its own listener, a PEM certificate (chain) and its PEM (PKCS#8) key. */
    public record Tls(HostPort listen, Path cert, Path key) {}

    /** Where a path's stream comes from. */
    public record PathSource(String name, Kind kind, URI upstream) {
        public enum Kind {
            /** a client ANNOUNCEs and RECORDs to it */
            PUBLISH,
            /** pulled from an upstream RTSP URL, shared by all viewers */
            PULL
        }
    }

    public static RtspSettings defaults() {
        return read(new ConfigNode("rtsp", null));
    }

    /** These settings with other auth settings (tests, demos). */
    public RtspSettings with(Auth a) {
        return new RtspSettings(
                publishByDefault,
                sessionTimeout,
                maxSessions,
                upstreamLinger,
                maxHeaderBytes,
                maxBodyBytes,
                maxPaths,
                upstreamTimeout,
                paths,
                a,
                limits,
                tls,
                grace);
    }

    public RtspSettings with(Limits l) {
        return new RtspSettings(
                publishByDefault,
                sessionTimeout,
                maxSessions,
                upstreamLinger,
                maxHeaderBytes,
                maxBodyBytes,
                maxPaths,
                upstreamTimeout,
                paths,
                auth,
                l,
                tls,
                grace);
    }

    public RtspSettings with(Tls t) {
        return new RtspSettings(
                publishByDefault,
                sessionTimeout,
                maxSessions,
                upstreamLinger,
                maxHeaderBytes,
                maxBodyBytes,
                maxPaths,
                upstreamTimeout,
                paths,
                auth,
                limits,
                t,
                grace);
    }

    public static RtspSettings read(ConfigNode n) {
        boolean publish = n.bool("publish-by-default", true);
        Duration timeout =
                n.duration("session-timeout", Duration.ofSeconds(60), Duration.ofSeconds(5));
        int max = n.integer("max-sessions", 1000, 1, 1_000_000);
        Duration linger = n.duration("upstream-linger", Duration.ofSeconds(10), Duration.ZERO);
        int hdr = n.integer("max-header-bytes", 8192, 512, 1 << 20);
        int body = n.integer("max-body-bytes", 65536, 0, 16 << 20);
        int maxPaths = n.integer("max-paths", 256, 1, 100_000);
        Duration upTimeout =
                n.duration("upstream-timeout", Duration.ofSeconds(10), Duration.ofMillis(100));
        ConfigNode ps = n.section("paths");
        Map<String, PathSource> paths = new LinkedHashMap<>();
        Map<String, Rules> pathRules = new LinkedHashMap<>();
        Map<String, Duration> pathGrace = new LinkedHashMap<>();
        Map<String, Duration> pathStandby = new LinkedHashMap<>();
        Map<String, Duration> pathSilence = new LinkedHashMap<>();
        for (String name : ps.keys()) {
            String field = ps.field(name);
            if (!name.matches("[A-Za-z0-9._~\\-/]+")
                    || name.startsWith("/")
                    || name.contains("..")) {
                throw new ConfigException(
                        field,
                        "a path name is letters, digits, . _ ~ - and / (not leading), got '"
                                + name
                                + "'");
            }
            ConfigNode p = ps.section(name);
            String src = p.string("source", "publish");
            if (p.has("publisher-grace")) {
                pathGrace.put(name, grace(p));
            }
            if (p.has("hot-standby")) {
                pathStandby.put(name, standby(p));
            }
            if (p.has("publisher-silence")) {
                pathSilence.put(name, silence(p));
            }
            if (p.has("publish") || p.has("read")) {
                pathRules.put(
                        name,
                        new Rules(permission(p, "publish", null), permission(p, "read", null)));
            }
            PathSource source;
            if ("publish".equals(src)) {
                source = new PathSource(name, PathSource.Kind.PUBLISH, null);
            } else {
                URI u;
                try {
                    u = new URI(src);
                } catch (Exception e) {
                    throw new ConfigException(
                            p.field("source"),
                            "must be 'publish' or an rtsp:// URL (got '" + src + "')");
                }
                if (u.getUserInfo() != null && u.getUserInfo().contains(":")) {
                    throw new ConfigException(
                            p.field("source"),
                            "holds a password; passwords are never taken from the YAML: put"
                                    + " 'URL user:password' in rtsp.upstream-credentials-file (a file"
                                    + " or a mounted Secret) and name only rtsp://host/path here");
                }
                if (!("rtsp".equalsIgnoreCase(u.getScheme())
                                || "rtsps".equalsIgnoreCase(u.getScheme()))
                        || u.getHost() == null) {
                    throw new ConfigException(
                            p.field("source"),
                            "must be 'publish' or an rtsp:// or rtsps://host[:port]/path URL (got '"
                                    + src
                                    + "')");
                }
                source = new PathSource(name, PathSource.Kind.PULL, u);
            }
            Rules r = pathRules.get(name);
            if (r != null && source.kind() == PathSource.Kind.PULL && r.publish() != null) {
                throw new ConfigException(
                        p.field("publish"), "a pulled path cannot be published to");
            }
            p.done();
            paths.put(name, source);
        }
        String users = n.string("users-file", "");
        String realm = n.string("realm", "msm");
        BasicAuth basic = n.enumeration("basic-auth", BasicAuth.TLS, BasicAuth.class);
        ConfigNode d = n.section("defaults");
        Rules defaults =
                new Rules(
                        permission(d, "publish", Permission.NONE),
                        permission(d, "read", Permission.ANY));
        Duration graceDefault = d.has("publisher-grace") ? grace(d) : Grace.DEFAULT;
        Duration standbyDefault = d.has("hot-standby") ? standby(d) : null;
        Duration silenceDefault = d.has("publisher-silence") ? silence(d) : null;
        d.done();
        ConfigNode rt = n.section("routed");
        Permission routedRead = permission(rt, "read", defaults.read());
        rt.done();
        Map<String, Rules> rules = new LinkedHashMap<>();
        pathRules.forEach(
                (k, v) ->
                        rules.put(
                                k,
                                new Rules(
                                        v.publish() == null ? defaults.publish() : v.publish(),
                                        v.read() == null ? defaults.read() : v.read())));
        String upCreds = n.string("upstream-credentials-file", "");
        UpstreamTls upTls = upstreamTls(n);
        Limits dl = Limits.DEFAULTS;
        int maxConn = n.integer("max-connections", dl.maxConnections(), 1, 100_000);
        int perSource =
                n.integer("max-connections-per-source", dl.maxConnectionsPerSource(), 1, 100_000);
        if (perSource > maxConn) {
            throw new ConfigException(
                    n.field("max-connections-per-source"),
                    "must not be over max-connections (" + maxConn + ")");
        }
        Limits limits =
                new Limits(
                        maxConn,
                        perSource,
                        n.duration("request-timeout", dl.requestTimeout(), Duration.ofMillis(100)),
                        n.duration("idle-timeout", dl.idleTimeout(), Duration.ofMillis(100)),
                        n.integer(
                                "max-sessions-per-connection",
                                dl.maxSessionsPerConnection(),
                                1,
                                1_000_000),
                        n.integer(
                                "max-sessions-per-source", dl.maxSessionsPerSource(), 1, 1_000_000),
                        n.duration(
                                "announce-timeout", dl.announceTimeout(), Duration.ofMillis(100)),
                        n.integer("max-paths-per-source", dl.maxPathsPerSource(), 1, 100_000));
        Tls tls = null;
        if (n.has("tls")) {
            ConfigNode t = n.section("tls");
            String listen = t.string("listen", "0.0.0.0:8322");
            String cert = t.string("cert", "");
            String key = t.string("key", "");
            if (cert.isEmpty() || key.isEmpty()) {
                throw new ConfigException(
                        t.field(cert.isEmpty() ? "cert" : "key"),
                        "RTSPS needs a PEM certificate and a PEM key (both files)");
            }
            HostPort hp = HostPort.parse(t.field("listen"), listen);
            t.done();
            tls = new Tls(hp, Path.of(cert), Path.of(key));
        } else {
            n.section("tls");
        }
        n.done();
        return new RtspSettings(
                publish,
                timeout,
                max,
                linger,
                hdr,
                body,
                maxPaths,
                upTimeout,
                paths,
                new Auth(
                        users.isEmpty() ? null : Path.of(users),
                        realm,
                        basic,
                        defaults,
                        routedRead,
                        rules,
                        upCreds.isEmpty() ? null : Path.of(upCreds),
                        upTls),
                limits,
                tls,
                new Grace(
                        graceDefault,
                        pathGrace,
                        standbyDefault,
                        pathStandby,
                        silenceDefault,
                        pathSilence));
    }

    /** publisher-silence: 200ms to 60s of RTP silence that counts as the publisher gone. */
    private static Duration silence(ConfigNode n) {
        Duration g = n.duration("publisher-silence", Duration.ofSeconds(2), Duration.ofMillis(200));
        if (g.compareTo(Grace.MAX) > 0) {
            throw new ConfigException(
                    n.field("publisher-silence"),
                    "must be at most "
                            + Durations.format(Grace.MAX)
                            + " (the publisher's RTP silence that starts the grace)");
        }
        return g;
    }

    /**
     * upstream-tls: {ca: PEM bundle, verify-host: true}. The CA file must exist and hold at least
     * one certificate now (it is read again at each upstream session start, so a rotated Secret
     * applies to the next one).
     */
    private static UpstreamTls upstreamTls(ConfigNode n) {
        ConfigNode t = n.section("upstream-tls");
        String ca = t.string("ca", "");
        boolean verify = t.bool("verify-host", true);
        Path caFile = null;
        if (!ca.isEmpty()) {
            caFile = Path.of(ca);
            try (InputStream in = Files.newInputStream(caFile)) {
                if (CertificateFactory.getInstance("X.509").generateCertificates(in).isEmpty()) {
                    throw new ConfigException(
                            t.field("ca"), "no PEM certificate in " + ca + " (a CA bundle)");
                }
            } catch (IOException e) {
                throw new ConfigException(
                        t.field("ca"), "cannot read the CA bundle " + ca + " (" + e + ")");
            } catch (CertificateException e) {
                throw new ConfigException(
                        t.field("ca"),
                        "not a PEM certificate bundle: " + ca + " (" + e.getMessage() + ")");
            }
        }
        t.done();
        return new UpstreamTls(caFile, verify);
    }

    /** hot-standby: the active publisher's silence before the standby takes over. */
    private static Duration standby(ConfigNode n) {
        Duration g = n.duration("hot-standby", Duration.ofMillis(300), Duration.ofMillis(20));
        if (g.compareTo(Grace.MAX_SILENCE) > 0) {
            throw new ConfigException(
                    n.field("hot-standby"),
                    "must be at most "
                            + Durations.format(Grace.MAX_SILENCE)
                            + " (the active publisher's silence before the standby takes over)");
        }
        return g;
    }

    /** publisher-grace: 0 (viewers end with their publisher) up to {@link Grace#MAX}. */
    private static Duration grace(ConfigNode n) {
        Duration g = n.duration("publisher-grace", Grace.DEFAULT, Duration.ZERO);
        if (g.compareTo(Grace.MAX) > 0) {
            throw new ConfigException(
                    n.field("publisher-grace"),
                    "must be at most "
                            + Durations.format(Grace.MAX)
                            + " (viewers wait this long for a publisher that left)");
        }
        return g;
    }

    /** "any", "none" or {from: [..], users: [..]}; absent: {@code dflt}. */
    private static Permission permission(ConfigNode n, String key, Permission dflt) {
        if (!n.has(key)) {
            n.string(key, null); // marks it read
            return dflt;
        }
        if (!n.isMapping(key)) {
            String v = n.string(key, "").strip().toLowerCase(Locale.ROOT);
            return switch (v) {
                case "any" -> Permission.ANY;
                case "none" -> Permission.NONE;
                default ->
                        throw new ConfigException(
                                n.field(key),
                                "must be any, none or {from: [CIDR..], users: [name.. or \"*\"]}"
                                        + " (got '"
                                        + v
                                        + "')");
            };
        }
        ConfigNode p = n.section(key);
        CidrSet from = p.has("from") ? p.cidrs("from", List.of()) : Permission.ANYWHERE;
        List<String> users = p.list("users", null, e -> e.text());
        if (users != null && users.isEmpty()) {
            throw new ConfigException(
                    p.field("users"),
                    "lists nobody; name users, \"*\" for any user of rtsp.users-file, or leave it"
                            + " out for no login");
        }
        p.done();
        return new Permission(from, users == null ? null : List.copyOf(users));
    }
}
