package io.msm.agent.config;

import io.msm.agent.auth.CidrSet;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The rtpengine NG control listener's settings (section {@code ng:}): Kamailio's and OpenSIPS's
 * rtpengine modules drive msm's media relay over it. Off unless {@code listen} is set.
 *
 * <pre>
 * ng:
 *   listen: 127.0.0.1:2223         # UDP; off by default (also --ng-listen)
 *   allow-non-loopback: false      # a listen address other than loopback must be allowed here
 *   sources: [127.0.0.1/32, ::1]   # who may send requests (CIDRs); others are dropped and counted
 *   requests-per-second: 200       # per source (IPv4 address / IPv6 /64); more are dropped
 *   request-burst: 400
 *   max-request-bytes: 65535       # larger datagrams get an error result
 *   max-calls: 1000                # calls at once; more get an error result
 *   max-media-lines: 4             # m= lines per SDP
 *   reply-cache: {size: 4096, ttl: 30s}   # replies kept by cookie for retransmitted requests
 *   media-address: 10.0.0.5        # the address put in SDP (default: the one facing the party)
 *   interfaces: {pub: 203.0.113.5, priv: 10.0.0.5}   # names for the "direction" key
 *   state-file: /var/lib/msm/ng-state.json   # calls survive a restart ("" disables)
 *   setup-timeout: 5m              # an offer never answered is deleted after this
 *   rtp-timeout: 60s               # an answered call without media this long is deleted
 * </pre>
 */
public record NgSettings(
        HostPort listen,
        boolean allowNonLoopback,
        CidrSet sources,
        int requestsPerSecond,
        int requestBurst,
        int maxRequestBytes,
        int maxCalls,
        int maxMediaLines,
        int replyCacheSize,
        Duration replyCacheTtl,
        InetAddress mediaAddress,
        Map<String, InetAddress> interfaces,
        Path stateFile,
        Duration setupTimeout,
        Duration rtpTimeout) {
    public static final String DEFAULT_STATE_FILE = "/var/lib/msm/ng-state.json";
    public static final String DEFAULT_PORT = "2223";

    public boolean enabled() {
        return listen != null;
    }

    public static NgSettings defaults() {
        return read(new ConfigNode("ng", null), null);
    }

    /**
     * @param listenOverride --ng-listen (null: not given)
     */
    public static NgSettings read(ConfigNode n, String listenOverride) {
        String l = listenOverride != null ? listenOverride : n.string("listen", null);
        HostPort listen = l == null || l.isBlank() ? null : HostPort.parse("ng.listen", l);
        boolean allow = n.bool("allow-non-loopback", false);
        if (listen != null && listen.port() == 0) {
            throw new ConfigException("ng.listen", "needs a port (rtpengine's is 2223)");
        }
        if (listen != null && !listen.address().isLoopbackAddress() && !allow) {
            throw new ConfigException(
                    "ng.listen",
                    "the NG protocol has no authentication: listen on a loopback address, or set"
                            + " ng.allow-non-loopback: true and restrict ng.sources (got "
                            + listen
                            + ")");
        }
        CidrSet sources = n.cidrs("sources", List.of("127.0.0.0/8", "::1/128"));
        int rps = n.integer("requests-per-second", 200, 1, 1_000_000);
        int burst = n.integer("request-burst", 2 * rps, 1, 10_000_000);
        int maxBytes = n.integer("max-request-bytes", 65535, 512, 65535);
        int maxCalls = n.integer("max-calls", 1000, 1, 1_000_000);
        int maxLines = n.integer("max-media-lines", 4, 1, 16);
        ConfigNode rc = n.section("reply-cache");
        int cacheSize = rc.integer("size", 4096, 0, 1_000_000);
        Duration ttl = rc.duration("ttl", Duration.ofSeconds(30), Duration.ofSeconds(1));
        rc.done();
        String ma = n.string("media-address", null);
        InetAddress media =
                ma == null ? null : HostPort.parseOptionalPort("ng.media-address", ma).address();
        Map<String, InetAddress> ifaces = new LinkedHashMap<>();
        ConfigNode is = n.section("interfaces");
        for (String k : is.keys()) {
            ifaces.put(k, HostPort.parseOptionalPort(is.field(k), is.string(k, null)).address());
        }
        is.done();
        String sf = n.string("state-file", DEFAULT_STATE_FILE);
        Path stateFile = null;
        if (sf != null && !sf.isBlank()) {
            if (!sf.startsWith("/")) {
                throw new ConfigException(
                        n.field("state-file"),
                        "must be an absolute path, or \"\" to keep calls in memory only (got '"
                                + sf
                                + "')");
            }
            stateFile = Path.of(sf);
        }
        Duration setup = n.duration("setup-timeout", Duration.ofMinutes(5), Duration.ofSeconds(1));
        Duration rtp = n.duration("rtp-timeout", Duration.ofSeconds(60), Duration.ofSeconds(1));
        n.done();
        return new NgSettings(
                listen,
                allow,
                sources,
                rps,
                burst,
                maxBytes,
                maxCalls,
                maxLines,
                cacheSize,
                ttl,
                media,
                Map.copyOf(ifaces),
                stateFile,
                setup,
                rtp);
    }
}
