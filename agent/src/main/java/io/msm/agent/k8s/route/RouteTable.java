package io.msm.agent.k8s.route;

import io.msm.agent.routing.Backend;
import io.msm.agent.routing.Failure;
import io.msm.agent.routing.StreamRoutes;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The routing table: accepted routes in precedence order, each backend resolved to its targets
 * (Service endpoints or the url's host), and the health of every target. {@link #update} is called
 * with the informers' current routes whenever a route, Service or EndpointSlice changes; health
 * survives updates for targets that stay.
 *
 * <p>Target states: NEW (not probed yet: usable, a new route works at once), UP (last probe
 * succeeded) and DOWN (a probe failed, RTP stopped, or the proxy reported it): DOWN targets get no
 * new sessions until a probe succeeds.
 */
public final class RouteTable implements StreamRoutes {
    private static final Logger log = LoggerFactory.getLogger(RouteTable.class);

    public enum State {
        NEW,
        UP,
        DOWN
    }

    /** A target of one backend of one route. */
    public record TargetKey(String route, String backend, String endpoint) {}

    /**
     * Health of one target; reason/detail are set when DOWN; probePath is the last request path
     * chosen for it (what a prefix route's probe asks for).
     */
    public record Health(
            State state,
            String reason,
            String detail,
            long upSinceNs,
            String probePath,
            long downUntilNs) {
        Health down(String r, String d, long until) {
            return new Health(State.DOWN, r, d, upSinceNs, probePath, Math.max(until, downUntilNs));
        }

        /**
         * Up; the up-since time moves only when coming back from DOWN (a NEW target was up since it
         * appeared).
         */
        Health up(long now) {
            return new Health(
                    State.UP, null, null, state == State.DOWN ? now : upSinceNs, probePath, 0);
        }

        Health withProbePath(String p) {
            return new Health(state, reason, detail, upSinceNs, p, downUntilNs);
        }
    }

    /**
     * Where a target is: host:port for the URL and the probe, an address for flow matching (null
     * for DNS names).
     */
    record Target(TargetKey key, String host, int port, InetAddress address) {}

    /** A backend and what it resolved to. */
    record ResolvedBackend(
            Route.BackendSpec spec, String problem, String detail, List<Target> targets) {}

    /** What one probe should do: OPTIONS on the authority, and DESCRIBE url when it is not null. */
    public record ProbeJob(
            TargetKey target, String host, int port, URI describe, Duration timeout, boolean tls) {
        public ProbeJob(TargetKey target, String host, int port, URI describe, Duration timeout) {
            this(target, host, port, describe, timeout, false);
        }
    }

    /** An RTP flow from a backend as the kernel's flow table saw it (CLOCK_MONOTONIC ns). */
    public record RtpFlow(InetAddress source, long firstNs, long lastNs) {}

    private final RandomGenerator random;
    private final LongSupplier clock;
    private List<Route> active = List.of();
    private final Map<String, Route> routes = new LinkedHashMap<>();
    private final Map<String, String> conflicts = new HashMap<>();
    private final Map<String, List<ResolvedBackend>> resolved = new HashMap<>();
    private final Map<TargetKey, Health> health = new HashMap<>();

    /**
     * @param random the session spreader (a seeded one in tests)
     * @param clock CLOCK_MONOTONIC ns (System::nanoTime: the clock of the kernel's flow times)
     */
    public RouteTable(RandomGenerator random, LongSupplier clock) {
        this.random = random;
        this.clock = clock;
    }

    // ---------------------------------------------------------------- building

    /** Replace the routes; resolve Service backends with {@code endpoints}. */
    public synchronized void update(Collection<Route> all, ServiceEndpoints endpoints) {
        List<Route> ordered = new ArrayList<>(all);
        // the older route wins a conflict (as Gateway API decides), then the name
        ordered.sort(Comparator.comparing(Route::created).thenComparing(Route::key));
        routes.clear();
        conflicts.clear();
        resolved.clear();
        List<Route> accepted = new ArrayList<>();
        Map<TargetKey, Health> keep = new HashMap<>();
        long now = clock.getAsLong();
        for (Route r : ordered) {
            routes.put(r.key(), r);
            if (r.invalid().isPresent()) {
                continue;
            }
            Optional<Route> winner = accepted.stream().filter(a -> a.sameMatch(r)).findFirst();
            if (winner.isPresent()) {
                conflicts.put(r.key(), winner.get().key());
                continue;
            }
            accepted.add(r);
            List<ResolvedBackend> rbs = new ArrayList<>();
            for (Route.BackendSpec b : r.backends()) {
                ResolvedBackend rb = resolve(r, b, endpoints);
                rbs.add(rb);
                for (Target t : rb.targets()) {
                    keep.put(
                            t.key(),
                            health.getOrDefault(
                                    t.key(), new Health(State.NEW, null, null, now, null, 0)));
                }
            }
            resolved.put(r.key(), rbs);
        }
        health.clear();
        health.putAll(keep);
        accepted.sort(
                Comparator.comparingInt(Route::hostRank)
                        .reversed()
                        .thenComparing(
                                Comparator.comparingInt(
                                                (Route r) ->
                                                        r.pathType() == Route.PathType.EXACT
                                                                ? r.path().length()
                                                                : r.prefix().length())
                                        .reversed())
                        .thenComparing(r -> r.pathType() == Route.PathType.EXACT ? 0 : 1));
        active = List.copyOf(accepted);
    }

    private static ResolvedBackend resolve(
            Route r, Route.BackendSpec b, ServiceEndpoints endpoints) {
        List<Target> ts = new ArrayList<>();
        if (b.isService()) {
            ServiceEndpoints.Resolution res = endpoints.resolve(b.service());
            for (InetSocketAddress a : res.endpoints()) {
                String ep = authority(a.getAddress().getHostAddress(), a.getPort());
                ts.add(
                        new Target(
                                new TargetKey(r.key(), b.name(), ep),
                                a.getAddress().getHostAddress(),
                                a.getPort(),
                                a.getAddress()));
            }
            return new ResolvedBackend(b, res.problem(), res.detail(), ts);
        }
        URI u = b.url();
        int port =
                u.getPort() > 0 ? u.getPort() : "rtsps".equalsIgnoreCase(u.getScheme()) ? 322 : 554;
        String host =
                u.getHost().startsWith("[")
                        ? u.getHost().substring(1, u.getHost().length() - 1)
                        : u.getHost();
        ts.add(
                new Target(
                        new TargetKey(r.key(), b.name(), authority(host, port)),
                        host,
                        port,
                        literal(host)));
        return new ResolvedBackend(b, null, null, ts);
    }

    private static String authority(String host, int port) {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }

    /** An IP literal as an address (no DNS lookup), else null. */
    static InetAddress literal(String host) {
        if (host.matches("[0-9.]+") || host.contains(":")) {
            try {
                return InetAddress.getByName(host);
            } catch (UnknownHostException e) {
                return null;
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- choosing

    @Override
    public synchronized Optional<Backend> choose(String host, String path) {
        String h = normalizeHost(host);
        String p = path == null || path.isEmpty() ? "/" : path;
        for (Route r : active) {
            if (r.matches(h, p)) {
                return chooseIn(r, p);
            }
        }
        return Optional.empty();
    }

    /** The route a request would take (for logs and tests), if any. */
    public synchronized Optional<String> routeFor(String host, String path) {
        String h = normalizeHost(host);
        String p = path == null || path.isEmpty() ? "/" : path;
        return active.stream().filter(r -> r.matches(h, p)).map(Route::key).findFirst();
    }

    private Optional<Backend> chooseIn(Route r, String path) {
        List<ResolvedBackend> usable = new ArrayList<>();
        int total = 0;
        for (ResolvedBackend b : resolved.getOrDefault(r.key(), List.of())) {
            if (b.spec().weight() > 0 && b.targets().stream().anyMatch(this::usable)) {
                usable.add(b);
                total += b.spec().weight();
            }
        }
        if (total == 0) {
            return Optional.empty();
        }
        int pick = random.nextInt(total);
        ResolvedBackend chosen = usable.get(usable.size() - 1);
        for (ResolvedBackend b : usable) {
            pick -= b.spec().weight();
            if (pick < 0) {
                chosen = b;
                break;
            }
        }
        List<Target> ts = chosen.targets().stream().filter(this::usable).toList();
        Target t = ts.get(ts.size() == 1 ? 0 : random.nextInt(ts.size()));
        URI upstream = upstream(r, chosen.spec(), t, path);
        if (r.pathType() == Route.PathType.PATH_PREFIX) {
            // a prefix route's probe needs a concrete stream to DESCRIBE: the last one asked for
            health.computeIfPresent(t.key(), (k, v) -> v.withProbePath(path));
        }
        Backend b = new Backend(r.key(), chosen.spec().name(), t.key().endpoint(), upstream);
        if (r.hotStandby() != null) {
            Target alt = standbyFor(t, chosen, usable);
            if (alt != null) {
                b =
                        b.withStandby(
                                new Backend.Standby(
                                        alt.key().endpoint(),
                                        upstream(r, specOf(alt, chosen, usable), alt, path),
                                        r.hotStandby()));
            }
        }
        return Optional.of(b);
    }

    /**
     * The hot standby of a session on target t: another usable target of the same backend (a
     * Service's other endpoint), else the first usable target of another backend; null if none.
     */
    private Target standbyFor(Target t, ResolvedBackend chosen, List<ResolvedBackend> usable) {
        for (Target o : chosen.targets()) {
            if (!o.key().equals(t.key()) && usable(o)) {
                return o;
            }
        }
        for (ResolvedBackend b : usable) {
            for (Target o : b.targets()) {
                if (!o.key().endpoint().equals(t.key().endpoint()) && usable(o)) {
                    return o;
                }
            }
        }
        return null;
    }

    private static Route.BackendSpec specOf(
            Target t, ResolvedBackend chosen, List<ResolvedBackend> usable) {
        if (chosen.targets().contains(t)) {
            return chosen.spec();
        }
        for (ResolvedBackend b : usable) {
            if (b.targets().contains(t)) {
                return b.spec();
            }
        }
        return chosen.spec();
    }

    private boolean usable(Target t) {
        Health h = health.get(t.key());
        return h != null && h.state() != State.DOWN;
    }

    /**
     * The URL to pull from: a Service endpoint serves the requested path; a url backend with a path
     * of its own replaces the matched part (Exact: the whole path, PathPrefix: the prefix, the rest
     * is kept).
     */
    static URI upstream(Route r, Route.BackendSpec b, Target t, String path) {
        String p = path;
        if (!b.isService()) {
            String own = b.url().getRawPath();
            if (own != null && !own.isEmpty() && !own.equals("/")) {
                if (r.pathType() == Route.PathType.EXACT) {
                    p = own;
                } else {
                    String rest =
                            r.prefix().equals("/") ? path : path.substring(r.prefix().length());
                    p =
                            own.endsWith("/") && rest.startsWith("/")
                                    ? own + rest.substring(1)
                                    : own + rest;
                }
            }
        }
        // a url backend keeps its scheme: rtsps:// is pulled over TLS
        String scheme = b.isService() ? "rtsp" : b.url().getScheme().toLowerCase(Locale.ROOT);
        return URI.create(
                scheme + "://" + authority(t.host(), t.port()) + (p.startsWith("/") ? p : "/" + p));
    }

    static String normalizeHost(String host) {
        if (host == null) {
            return null;
        }
        String h = host.trim().toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            return end > 0 ? h.substring(1, end) : h;
        }
        int colon = h.indexOf(':');
        if (colon >= 0 && h.indexOf(':', colon + 1) < 0) {
            h = h.substring(0, colon); // host:port (an IPv6 literal without brackets has several
            // colons)
        }
        return h.endsWith(".") ? h.substring(0, h.length() - 1) : h;
    }

    // ---------------------------------------------------------------- health

    @Override
    public synchronized void report(Backend backend, Failure failure) {
        markDown(new TargetKey(backend.route(), backend.name(), backend.endpoint()), failure);
    }

    /**
     * Take a target out. A stopped stream keeps it out for at least the route's rtpTimeout even if
     * DESCRIBE answers meanwhile (an origin whose encoder died often still answers DESCRIBE:
     * without the hold it would flap in and out with every probe); other failures end with the next
     * good probe.
     */
    public synchronized void markDown(TargetKey key, Failure failure) {
        Health h = health.get(key);
        if (h == null) {
            return; // the target left the table meanwhile
        }
        if (h.state() != State.DOWN || !failure.kind().reason().equals(h.reason())) {
            log.info(
                    "route {}: backend {} endpoint {} taken out: {} {}",
                    key.route(),
                    key.backend(),
                    key.endpoint(),
                    failure.kind().reason(),
                    failure.detail());
        }
        long hold = 0;
        if (failure.kind() == Failure.Kind.RTP_STOPPED) {
            Route r = routes.get(key.route());
            hold = clock.getAsLong() + (r == null ? 0 : r.rtpTimeout().toNanos());
        }
        health.put(key, h.down(failure.kind().reason(), failure.detail(), hold));
    }

    public synchronized void markUp(TargetKey key) {
        Health h = health.get(key);
        if (h == null) {
            return;
        }
        long now = clock.getAsLong();
        if (h.state() == State.DOWN && now < h.downUntilNs()) {
            return; // still held out
        }
        if (h.state() == State.DOWN) {
            log.info(
                    "route {}: backend {} endpoint {} recovered",
                    key.route(),
                    key.backend(),
                    key.endpoint());
        }
        health.put(key, h.up(now));
    }

    public synchronized Optional<Health> health(TargetKey key) {
        return Optional.ofNullable(health.get(key));
    }

    /** What to probe now: every target of every accepted route. */
    public synchronized List<ProbeJob> probeJobs() {
        List<ProbeJob> jobs = new ArrayList<>();
        for (Route r : active) {
            for (ResolvedBackend b : resolved.getOrDefault(r.key(), List.of())) {
                for (Target t : b.targets()) {
                    Health h = health.get(t.key());
                    String path =
                            r.pathType() == Route.PathType.EXACT
                                    ? r.path()
                                    : h == null ? null : h.probePath();
                    // a prefix route never asked for yet: OPTIONS only (the prefix itself need not
                    // be a stream)
                    URI describe = path == null ? null : upstream(r, b.spec(), t, path);
                    jobs.add(
                            new ProbeJob(
                                    t.key(),
                                    t.host(),
                                    t.port(),
                                    describe,
                                    r.describeTimeout(),
                                    !b.spec().isService()
                                            && "rtsps"
                                                    .equalsIgnoreCase(b.spec().url().getScheme())));
                }
            }
        }
        return jobs;
    }

    /**
     * RTP stopped: a target that is not DOWN, whose RTP flows (by source address) were active after
     * it last came up, and all of which have now been idle longer than the route's rtpTimeout, is
     * taken out. Flows that ended before the target came up do not count, so a recovered target is
     * not failed again by its old flows.
     */
    public synchronized List<TargetKey> checkRtp(Collection<RtpFlow> flows, long nowNs) {
        Map<InetAddress, List<RtpFlow>> bySource = new HashMap<>();
        for (RtpFlow f : flows) {
            bySource.computeIfAbsent(f.source(), k -> new ArrayList<>()).add(f);
        }
        List<TargetKey> stopped = new ArrayList<>();
        for (Route r : active) {
            long timeout = r.rtpTimeout().toNanos();
            for (ResolvedBackend b : resolved.getOrDefault(r.key(), List.of())) {
                for (Target t : b.targets()) {
                    Health h = health.get(t.key());
                    if (t.address() == null || h == null || h.state() == State.DOWN) {
                        continue;
                    }
                    List<RtpFlow> since =
                            bySource.getOrDefault(t.address(), List.of()).stream()
                                    .filter(f -> f.lastNs() > h.upSinceNs())
                                    .toList();
                    if (!since.isEmpty()
                            && since.stream().allMatch(f -> nowNs - f.lastNs() > timeout)) {
                        long idleMs =
                                since.stream()
                                        .mapToLong(f -> (nowNs - f.lastNs()) / 1_000_000)
                                        .min()
                                        .orElse(0);
                        markDown(
                                t.key(),
                                Failure.of(
                                        Failure.Kind.RTP_STOPPED,
                                        "no RTP from "
                                                + t.address().getHostAddress()
                                                + " for "
                                                + idleMs
                                                + " ms"));
                        stopped.add(t.key());
                    }
                }
            }
        }
        return stopped;
    }

    // ---------------------------------------------------------------- status

    /** A backend's readiness for the route's status. */
    public record BackendView(
            String name, int weight, boolean ready, String reason, String detail) {}

    /** What the table thinks of one route. */
    public record RouteView(
            Route route,
            boolean accepted,
            String notAcceptedReason,
            String notAcceptedMessage,
            List<BackendView> backends) {}

    public synchronized Optional<RouteView> view(String routeKey) {
        Route r = routes.get(routeKey);
        if (r == null) {
            return Optional.empty();
        }
        if (r.invalid().isPresent()) {
            return Optional.of(new RouteView(r, false, "Invalid", r.invalid().get(), List.of()));
        }
        String winner = conflicts.get(routeKey);
        if (winner != null) {
            return Optional.of(
                    new RouteView(
                            r,
                            false,
                            "Conflicted",
                            "route "
                                    + winner
                                    + " has the same host and path and is older; this route is not used",
                            List.of()));
        }
        List<BackendView> bvs = new ArrayList<>();
        for (ResolvedBackend b : resolved.getOrDefault(routeKey, List.of())) {
            bvs.add(backendView(b));
        }
        return Optional.of(new RouteView(r, true, null, null, bvs));
    }

    private BackendView backendView(ResolvedBackend b) {
        String name = b.spec().name();
        int w = b.spec().weight();
        if (b.problem() != null) {
            return new BackendView(name, w, false, b.problem(), b.detail());
        }
        Health firstDown = null;
        boolean anyUp = false;
        boolean anyNew = false;
        for (Target t : b.targets()) {
            Health h = health.get(t.key());
            if (h == null) {
                continue;
            }
            switch (h.state()) {
                case UP -> anyUp = true;
                case NEW -> anyNew = true;
                case DOWN -> {
                    if (firstDown == null) {
                        firstDown = h;
                    }
                }
            }
        }
        if (anyUp) {
            return new BackendView(name, w, true, null, null);
        }
        if (anyNew) {
            return new BackendView(name, w, false, "Probing", "not probed yet");
        }
        if (firstDown != null) {
            return new BackendView(name, w, false, firstDown.reason(), firstDown.detail());
        }
        return new BackendView(name, w, false, "NoEndpoints", "no targets");
    }

    /** Keys of every route in the table (accepted or not). */
    public synchronized List<String> routeKeys() {
        return List.copyOf(routes.keySet());
    }
}
