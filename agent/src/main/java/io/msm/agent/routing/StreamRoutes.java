package io.msm.agent.routing;

import java.util.Optional;
import java.util.Set;

/**
 * The media routing table, for the RTSP proxy: for a request to a path it has no configured source
 * for, the proxy asks {@link #choose} and pulls the stream from the chosen backend's {@link
 * Backend#upstream()} URL as if it were a configured source. In a cluster {@code k8s/} implements
 * it from StreamRoute resources ({@code k8s.route.RouteTable}); the proxy sees only this package,
 * so rtsp/ does not depend on Kubernetes.
 *
 * <ul>
 *   <li>Matching: the route whose host matches (exact, then "*.domain", then routes without host)
 *       with the longest path (Exact before PathPrefix of the same length; PathPrefix matches whole
 *       segments) wins.
 *   <li>Weights: each call is a new session, spread over the route's ready backends by weight
 *       (canary: 90/10). A session keeps the backend it was given — the table does not move
 *       existing sessions when weights change.
 *   <li>Failures: a backend whose DESCRIBE probe fails, whose RTP stops, or that the proxy {@link
 *       #report}s, is left out of new choices until a probe succeeds again.
 * </ul>
 *
 * Thread-safe; calls are cheap (no I/O).
 */
public interface StreamRoutes {
    /**
     * The backend for a new session to rtsp://host/path. Empty when no route matches, or when every
     * backend of the matching route is failed or drained (the proxy answers 503 then).
     *
     * @param host the URL's host (any case, with or without :port); null or empty: matches only
     *     routes without host
     * @param path the URL's path, starting with "/"
     */
    Optional<Backend> choose(String host, String path);

    /**
     * As {@link #choose(String, String)}, for a request that came from another node's agent ({@code
     * fromPeer}, marked with {@link Backend.Via#HEADER}): then never a backend {@link
     * Backend#viaPeer() via} a peer — an agent serves a peer only from its own sources, so relay
     * trees have one hop and cannot loop.
     */
    default Optional<Backend> choose(String host, String path, boolean fromPeer) {
        return choose(host, path);
    }

    /**
     * The paths published to this agent now (their publishers' RECORD is live): what other nodes'
     * agents find them by. Called when the set changes.
     */
    default void published(Set<String> paths) {}

    /**
     * The proxy saw {@code backend} fail: it is taken out of new choices until a probe succeeds.
     */
    void report(Backend backend, Failure failure);

    /** A table without routes (out of cluster). */
    StreamRoutes NONE =
            new StreamRoutes() {
                @Override
                public Optional<Backend> choose(String host, String path) {
                    return Optional.empty();
                }

                @Override
                public void report(Backend backend, Failure failure) {}
            };
}
