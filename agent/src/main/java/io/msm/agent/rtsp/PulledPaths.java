package io.msm.agent.rtsp;

import io.msm.agent.config.RtspSettings;
import io.msm.agent.media.MediaPlane;
import io.msm.agent.media.RelayPair;
import io.msm.agent.routing.Backend;
import io.msm.agent.routing.Failure;
import io.msm.agent.routing.StreamRoutes;
import io.msm.agent.rtsp.sdp.SessionDescription;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetAddress;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link PathRegistry}'s pulled paths: a path's {@link Upstream} session started for its first
 * viewer, closed {@code rtsp.upstream-linger} after its last or when it is lost, and the paths
 * StreamRoutes create for URL paths the config does not name. It owns no state of its own (the
 * upstream and linger of a path are {@link StreamPath}'s) and works under the registry's lock:
 * every method that reads or changes a path takes {@code registry.lock} — re-entering it when the
 * registry calls with it held, as Error Prone cannot tell that {@code registry.lock} here is the
 * registry's {@code lock} — so its calls of the registry's {@code @GuardedBy("lock")} methods are
 * checked. An {@link Upstream} tells this class how it goes, never the registry, and never takes
 * the lock itself.
 */
final class PulledPaths {
    private static final Logger log = LoggerFactory.getLogger(PulledPaths.class);

    private final PathRegistry registry;
    private final RtspSettings settings;

    /** StreamRoutes (Kubernetes) for paths the config does not name; read at each lookup. */
    private volatile Supplier<StreamRoutes> routes = () -> StreamRoutes.NONE;

    PulledPaths(PathRegistry registry, RtspSettings settings) {
        this.registry = registry;
        this.settings = settings;
    }

    void routes(Supplier<StreamRoutes> r) {
        this.routes = r;
    }

    /** Tells the routes which paths are published here (relay trees). */
    void published(Set<String> names) {
        routes.get().published(names);
    }

    RtspSettings settings() {
        return settings;
    }

    /** The identities a relay fed from {@code source} on {@code path} admits (null: no check). */
    Set<Integer> relayIdentities(String path, InetAddress source) {
        return registry.relayIdentities(path, source);
    }

    void upstreamTlsFailure(String reason) {
        registry.upstreamTlsFailure(reason);
    }

    MediaPlane plane() {
        return registry.plane();
    }

    EventLoopGroup workers() {
        return registry.workers();
    }

    ScheduledExecutorService timers() {
        return registry.timers();
    }

    // ---- routing
    // -----------------------------------------------------------------------------------------------

    /** Whether a StreamRoute matches host and path (or its parent, for a track URL). */
    boolean routed(String host, String urlPath) {
        if (urlPath == null || urlPath.isEmpty()) {
            return false;
        }
        StreamRoutes table = routes.get();
        int slash = urlPath.lastIndexOf('/');
        return table.choose(host, "/" + urlPath).isPresent()
                || (slash > 0 && table.choose(host, "/" + urlPath.substring(0, slash)).isPresent());
    }

    /**
     * For a URL path no path is known for, the StreamRoute matching host and path (or its parent,
     * for a track URL) picks a backend: a routed path is created that pulls from it, shared by the
     * viewers that come while its upstream session lives. Weights thus split upstream sessions (per
     * node), not viewers of one session. Null when no route matches.
     */
    PathRegistry.Resolved route(String host, String urlPath, boolean fromPeer) {
        synchronized (registry.lock) {
            if (urlPath == null || urlPath.isEmpty()) {
                return null;
            }
            StreamRoutes table = routes.get();
            int slash = urlPath.lastIndexOf('/');
            String[] candidates =
                    slash > 0
                            ? new String[] {urlPath, urlPath.substring(0, slash)}
                            : new String[] {urlPath};
            for (String name : candidates) {
                Optional<Backend> b = table.choose(host, "/" + name, fromPeer);
                if (b.isPresent()) {
                    StreamPath p =
                            new StreamPath(
                                    name,
                                    new RtspSettings.PathSource(
                                            name,
                                            RtspSettings.PathSource.Kind.PULL,
                                            b.get().upstream()),
                                    b.get());
                    registry.addPath(p);
                    log.info(
                            "{}: routed by StreamRoute {} to {} ({})",
                            name,
                            b.get().route(),
                            b.get().name(),
                            UpstreamCredentials.withoutUserInfo(b.get().upstream()));
                    return new PathRegistry.Resolved(
                            p, name.equals(urlPath) ? null : urlPath.substring(slash + 1));
                }
            }
            return null;
        }
    }

    // ---- upstream sessions
    // -------------------------------------------------------------------------------------

    /** The upstream of a pulled path, started if needed, and what a request waits for. */
    PathRegistry.UpstreamWait waitFor(StreamPath p) {
        synchronized (registry.lock) {
            return waitFor(upstream(p));
        }
    }

    PathRegistry.UpstreamWait waitFor(Upstream u) {
        return new PathRegistry.UpstreamWait(
                u.ready(),
                UpstreamCredentials.withoutUserInfo(u.path.config.upstream()),
                settings.upstreamTimeout().plusSeconds(1));
    }

    /** The upstream of a pulled path, started if needed. */
    Upstream upstream(StreamPath p) {
        synchronized (registry.lock) {
            Upstream u = p.upstream;
            if (u == null) {
                u = new Upstream(this, p);
                p.upstream = u;
                p.upstreamSessions.incrementAndGet();
                // start() may fail at once (a refused connect completes on this thread, which
                // holds the lock): p.upstream is then null again, and the caller learns it from
                // u.ready()
                u.start();
            }
            p.cancelLinger();
            return u;
        }
    }

    /** A pulled path without viewers closes its upstream after rtsp.upstream-linger. */
    void lingerIfIdle(StreamPath p) {
        synchronized (registry.lock) {
            if (!p.pulled() || p.upstream == null || !p.viewers.isEmpty() || p.linger != null) {
                return;
            }
            Upstream u = p.upstream;
            p.linger =
                    timers().schedule(
                                    () -> lingered(p, u),
                                    settings.upstreamLinger().toMillis(),
                                    TimeUnit.MILLISECONDS);
        }
    }

    private void lingered(StreamPath p, Upstream u) {
        synchronized (registry.lock) {
            p.linger = null;
            if (p.upstream == u && p.viewers.isEmpty()) {
                log.info(
                        "{}: no viewers for {} ms; closing the upstream session",
                        p.name,
                        settings.upstreamLinger().toMillis());
                closeUpstream(p, "no viewers");
            }
        }
    }

    void closeUpstream(StreamPath p, String why) {
        synchronized (registry.lock) {
            Upstream u = p.upstream;
            if (u == null) {
                return;
            }
            p.upstream = null;
            p.cancelLinger();
            closeStandby(p, why);
            u.close();
            if (u.stream() != null) {
                registry.endStream(u.stream(), why);
            }
            registry.dropIfIdle(p);
        }
    }

    // ---- what an upstream tells
    // --------------------------------------------------------------------------------

    /**
     * The upstream described its stream: it becomes the path's. Refused (a CompletionException)
     * when the upstream closed meanwhile.
     */
    Stream described(Upstream u, SessionDescription sdp) {
        synchronized (registry.lock) {
            if (u.state() == Upstream.State.CLOSED) {
                throw new CompletionException(new IOException("closed"));
            }
            Stream s =
                    new Stream(
                            u.path,
                            Stream.Origin.UPSTREAM,
                            sdp,
                            (from, data, rtcp) -> {
                                if (!u.onStray(from, data, rtcp)) {
                                    registry.onFeedback(from, data, rtcp);
                                }
                            });
            u.described(s);
            u.path.stream = s;
            return s;
        }
    }

    /** A track's relay pair is open: attached unless the upstream closed meanwhile (false). */
    boolean attach(Upstream u, Track t, RelayPair pair) {
        synchronized (registry.lock) {
            if (u.state() == Upstream.State.CLOSED) {
                return false;
            }
            t.attach(pair);
            return true;
        }
    }

    /**
     * The upstream answered PLAY: its stream is live, and lingers if nobody watches. Refused (a
     * CompletionException) when the upstream closed meanwhile.
     */
    void playing(Upstream u, Stream s) {
        synchronized (registry.lock) {
            if (u.state() == Upstream.State.CLOSED) {
                throw new CompletionException(new IOException("closed"));
            }
            u.playing();
            s.live = true;
            lingerIfIdle(u.path);
            StreamPath p = u.path;
            if (p.routed != null && p.routed.standby() != null && p.standby == null) {
                Upstream st = new Upstream(this, p, p.routed.standby());
                p.standby = st;
                st.start();
            }
        }
    }

    // ---- hot standby (StreamRoute spec.hotStandby)
    // ---------------------------------------------------------------

    /**
     * The standby described its stream: it must be the active one's (same tracks, payload types,
     * encodings), whose relays it then feeds. Refused (a CompletionException) otherwise.
     */
    Stream standbyDescribed(Upstream u, SessionDescription sdp) {
        synchronized (registry.lock) {
            StreamPath p = u.path;
            Stream s = p.stream;
            if (u.state() == Upstream.State.CLOSED || p.standby != u || s == null || s.ended) {
                throw new CompletionException(new IOException("closed"));
            }
            String why = s.incompatibility(sdp);
            if (why != null) {
                throw new CompletionException(
                        new IOException(
                                "the hot standby describes another stream than the active"
                                        + " upstream: "
                                        + why));
            }
            return s;
        }
    }

    /** The standby answered PLAY: both feed the relays now, the kernel picks the active one. */
    void standbyPlaying(Upstream u) {
        synchronized (registry.lock) {
            if (u.state() == Upstream.State.CLOSED || u.path.standby != u) {
                throw new CompletionException(new IOException("closed"));
            }
            u.playing();
        }
    }

    private void closeStandby(StreamPath p, String why) {
        Upstream st = p.standby;
        if (st != null) {
            p.standby = null;
            log.info("{}: closing the hot-standby upstream ({})", p.name, why);
            st.close();
        }
    }

    /** The upstream failed or closed by itself. */
    void lost(Upstream u, String why) {
        synchronized (registry.lock) {
            StreamPath p = u.path;
            if (p.standby == u) {
                p.standby = null;
                log.warn(
                        "{}: hot-standby upstream {} lost: {}",
                        p.name,
                        UpstreamCredentials.withoutUserInfo(p.routed.standby().upstream()),
                        why);
                u.close();
                return;
            }
            if (p.upstream != u) {
                return;
            }
            p.upstreamFailures.incrementAndGet();
            log.warn(
                    "{}: upstream {} lost: {}",
                    p.name,
                    UpstreamCredentials.withoutUserInfo(p.config.upstream()),
                    why);
            if (p.routed != null) {
                // the route takes this backend out of new choices until its probe succeeds
                routes.get()
                        .report(
                                p.routed,
                                Failure.of(
                                        u.stream() == null
                                                ? Failure.Kind.DESCRIBE_FAILED
                                                : Failure.Kind.RTP_STOPPED,
                                        why));
            }
            Upstream st = p.standby;
            if (st != null && st.state() == Upstream.State.PLAYING && p.stream != null) {
                // the standby feeds the same relays: it carries on as the path's upstream, and
                // the kernel forwards it once the lost one has been silent for spec.hotStandby
                p.standby = null;
                p.upstream = st;
                st.promoted(p.stream);
                u.replaced();
                u.close();
                log.info(
                        "{}: the hot standby {} carries on as the upstream",
                        p.name,
                        UpstreamCredentials.withoutUserInfo(p.routed.standby().upstream()));
                return;
            }
            closeUpstream(p, "upstream lost: " + why);
        }
    }
}
