package io.msm.agent.k8s.route;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A StreamRoute as the table uses it: matching rule, backends, failure timeouts, and (when the
 * resource cannot be used) the reason.
 *
 * @param key "namespace/name"
 * @param generation metadata.generation, reported as observedGeneration
 * @param created metadata.creationTimestamp (RFC 3339), the tie-breaker between conflicting routes
 * @param host lower-case host, "*.domain", or null for any host
 * @param invalid why the route cannot be used (Accepted=False, reason Invalid), if so
 * @param hotStandby spec.hotStandby: each session pulls a second target at the same time and the
 *     kernel forwards it when the first has been silent this long; null: none
 */
public record Route(
        String key,
        long generation,
        String created,
        String host,
        PathType pathType,
        String path,
        List<BackendSpec> backends,
        Duration describeTimeout,
        Duration rtpTimeout,
        Optional<String> invalid,
        Duration hotStandby) {

    /** A route without hot standby. */
    public Route(
            String key,
            long generation,
            String created,
            String host,
            PathType pathType,
            String path,
            List<BackendSpec> backends,
            Duration describeTimeout,
            Duration rtpTimeout,
            Optional<String> invalid) {
        this(
                key,
                generation,
                created,
                host,
                pathType,
                path,
                backends,
                describeTimeout,
                rtpTimeout,
                invalid,
                null);
    }

    public enum PathType {
        EXACT,
        PATH_PREFIX
    }

    /** One entry of spec.backends. */
    public record BackendSpec(String name, int weight, ServiceRef service, URI url) {
        public boolean isService() {
            return service != null;
        }
    }

    /** A Service port, namespace resolved. */
    public record ServiceRef(String namespace, String name, int port) {
        @Override
        public String toString() {
            return namespace + "/" + name + ":" + port;
        }
    }

    /** 2 exact host, 1 wildcard, 0 any host. */
    public int hostRank() {
        return host == null ? 0 : host.startsWith("*.") ? 1 : 2;
    }

    /** Whether rtsp://requestHost/requestPath is this route's (requestHost lower-case, no port). */
    public boolean matches(String requestHost, String requestPath) {
        if (host != null) {
            if (requestHost == null || requestHost.isEmpty()) {
                return false;
            }
            if (host.startsWith("*.")) {
                String suffix = host.substring(1); // ".example.com"
                if (!requestHost.endsWith(suffix)) {
                    return false;
                }
                String label = requestHost.substring(0, requestHost.length() - suffix.length());
                if (label.isEmpty() || label.contains(".")) {
                    return false; // "*." stands for exactly one label
                }
            } else if (!host.equals(requestHost)) {
                return false;
            }
        }
        return pathMatches(requestPath);
    }

    boolean pathMatches(String requestPath) {
        if (pathType == PathType.EXACT) {
            return path.equals(requestPath);
        }
        String p = prefix();
        return p.equals("/") || requestPath.equals(p) || requestPath.startsWith(p + "/");
    }

    /** The PathPrefix value without a trailing '/' (except the root). */
    String prefix() {
        return path.length() > 1 && path.endsWith("/")
                ? path.substring(0, path.length() - 1)
                : path;
    }

    /** Same host and path rule: the two cannot both be accepted. */
    public boolean sameMatch(Route o) {
        return Objects.equals(host, o.host)
                && pathType == o.pathType
                && (pathType == PathType.EXACT ? path.equals(o.path) : prefix().equals(o.prefix()));
    }
}
