package io.msm.agent.config;

import java.net.URI;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The RTSP proxy's settings (section {@code rtsp:}).
 *
 * @param publishByDefault a path with no configured source accepts ANNOUNCE/RECORD
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
        Map<String, PathSource> paths) {

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
                if (!"rtsp".equalsIgnoreCase(u.getScheme()) || u.getHost() == null) {
                    throw new ConfigException(
                            p.field("source"),
                            "must be 'publish' or an rtsp://host[:port]/path URL (got '"
                                    + src
                                    + "')");
                }
                source = new PathSource(name, PathSource.Kind.PULL, u);
            }
            p.done();
            paths.put(name, source);
        }
        n.done();
        return new RtspSettings(
                publish, timeout, max, linger, hdr, body, maxPaths, upTimeout, paths);
    }
}
