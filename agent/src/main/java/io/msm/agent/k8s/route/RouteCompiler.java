package io.msm.agent.k8s.route;

import io.msm.agent.k8s.crd.StreamRoute;
import io.msm.agent.k8s.crd.StreamRouteSpec;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a StreamRoute resource into a {@link Route}. The API server has validated the schema
 * (helm/msm/templates/crd-streamroute.yaml), but an agent may meet an object written before a
 * schema fix or without the CRD's defaults applied: whatever it cannot use makes the route invalid,
 * with the field named, instead of failing the watcher.
 */
public final class RouteCompiler {
    private final Duration defaultDescribeTimeout;
    private final Duration defaultRtpTimeout;

    public RouteCompiler(Duration defaultDescribeTimeout, Duration defaultRtpTimeout) {
        this.defaultDescribeTimeout = defaultDescribeTimeout;
        this.defaultRtpTimeout = defaultRtpTimeout;
    }

    public Route compile(StreamRoute sr) {
        String ns = sr.getMetadata().getNamespace();
        String key = sr.key();
        long gen = sr.getMetadata().getGeneration() == null ? 0 : sr.getMetadata().getGeneration();
        String created =
                sr.getMetadata().getCreationTimestamp() == null
                        ? ""
                        : sr.getMetadata().getCreationTimestamp();
        StreamRouteSpec s = sr.getSpec();
        List<String> problems = new ArrayList<>();
        String host = null;
        Route.PathType type = Route.PathType.PATH_PREFIX;
        String path = "/";
        if (s == null || s.match == null || s.match.path == null || s.match.path.value == null) {
            problems.add("spec.match.path.value is required");
        } else {
            if (s.match.host != null && !s.match.host.isEmpty()) {
                host = s.match.host.toLowerCase(Locale.ROOT);
            }
            path = s.match.path.value;
            if (!path.startsWith("/") || path.chars().anyMatch(Character::isWhitespace)) {
                problems.add(
                        "spec.match.path.value must start with '/' and have no spaces (got '"
                                + path
                                + "')");
            }
            String t = s.match.path.type == null ? "PathPrefix" : s.match.path.type;
            if (t.equals("Exact")) {
                type = Route.PathType.EXACT;
            } else if (!t.equals("PathPrefix")) {
                problems.add("spec.match.path.type must be Exact or PathPrefix (got '" + t + "')");
            }
        }
        List<Route.BackendSpec> backends = new ArrayList<>();
        List<StreamRouteSpec.BackendRef> refs =
                s == null || s.backends == null ? List.of() : s.backends;
        if (refs.isEmpty()) {
            problems.add("spec.backends needs at least one backend");
        }
        for (int i = 0; i < refs.size(); i++) {
            StreamRouteSpec.BackendRef b = refs.get(i);
            String field = "spec.backends[" + i + "]";
            int weight = b.weight == null ? 1 : b.weight;
            if (weight < 0 || weight > 1000) {
                problems.add(field + ".weight must be 0..1000 (got " + weight + ")");
                continue;
            }
            if ((b.service == null) == (b.url == null)) {
                problems.add(field + " must name exactly one of service or url");
                continue;
            }
            if (b.service != null) {
                if (b.service.name == null
                        || b.service.port == null
                        || b.service.port < 1
                        || b.service.port > 65535) {
                    problems.add(field + ".service needs a name and a port 1..65535");
                    continue;
                }
                String sns =
                        b.service.namespace == null || b.service.namespace.isEmpty()
                                ? ns
                                : b.service.namespace;
                Route.ServiceRef ref = new Route.ServiceRef(sns, b.service.name, b.service.port);
                backends.add(new Route.BackendSpec(ref.toString(), weight, ref, null));
            } else {
                try {
                    URI u = new URI(b.url);
                    if (!("rtsp".equalsIgnoreCase(u.getScheme())
                                    || "rtsps".equalsIgnoreCase(u.getScheme()))
                            || u.getHost() == null) {
                        throw new URISyntaxException(b.url, "not rtsp[s]://host[:port][/path]");
                    }
                    backends.add(new Route.BackendSpec(b.url, weight, null, u));
                } catch (URISyntaxException e) {
                    problems.add(
                            field
                                    + ".url must be rtsp:// or rtsps://host[:port][/path] (got '"
                                    + b.url
                                    + "')");
                }
            }
        }
        if (!backends.isEmpty() && backends.stream().allMatch(b -> b.weight() == 0)) {
            problems.add("spec.backends: at least one backend needs a weight above 0");
        }
        Duration describe = defaultDescribeTimeout;
        Duration rtp = defaultRtpTimeout;
        if (s != null && s.failureDetection != null) {
            if (s.failureDetection.describeTimeoutSeconds != null
                    && s.failureDetection.describeTimeoutSeconds > 0) {
                describe = Duration.ofSeconds(s.failureDetection.describeTimeoutSeconds);
            }
            if (s.failureDetection.rtpTimeoutSeconds != null
                    && s.failureDetection.rtpTimeoutSeconds > 0) {
                rtp = Duration.ofSeconds(s.failureDetection.rtpTimeoutSeconds);
            }
        }
        Duration standby = null;
        if (s != null && s.hotStandby != null && !s.hotStandby.isEmpty()) {
            standby = hotStandby(s.hotStandby);
            if (standby == null) {
                problems.add(
                        "spec.hotStandby must be a duration from 20ms to 10s, e.g. 300ms (got '"
                                + s.hotStandby
                                + "')");
            } else if (backends.stream().filter(b -> b.weight() > 0).count() == 1
                    && !backends.stream()
                            .filter(b -> b.weight() > 0)
                            .findFirst()
                            .get()
                            .isService()) {
                problems.add(
                        "spec.hotStandby needs a second target: a Service backend (its endpoints)"
                                + " or two backends with a weight above 0 (one url has no standby)");
            }
        }
        return new Route(
                key,
                gen,
                created,
                host,
                type,
                path,
                List.copyOf(backends),
                describe,
                rtp,
                problems.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", problems)),
                standby);
    }

    static final Duration MIN_STANDBY = Duration.ofMillis(20);
    static final Duration MAX_STANDBY = Duration.ofSeconds(10);

    /** "300ms", "1s", "1.5s" within 20ms..10s, else null. */
    static Duration hotStandby(String v) {
        Matcher m = DURATION.matcher(v.trim());
        if (!m.matches()) {
            return null;
        }
        double n;
        try {
            n = Double.parseDouble(m.group(1));
        } catch (NumberFormatException e) {
            return null;
        }
        Duration d = Duration.ofNanos((long) (n * (m.group(2).equals("ms") ? 1e6 : 1e9)));
        return d.compareTo(MIN_STANDBY) < 0 || d.compareTo(MAX_STANDBY) > 0 ? null : d;
    }

    private static final Pattern DURATION = Pattern.compile("([0-9]+(?:\\.[0-9]+)?)(ms|s)");
}
