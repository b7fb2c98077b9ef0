package io.msm.agent.routing;

import java.net.URI;

/**
 * A backend chosen for one session.
 *
 * @param route the StreamRoute, "namespace/name"
 * @param name the backend as its status names it: "namespace/service:port" or the url
 * @param endpoint the target that was chosen: "ip:port" of a Service endpoint, or the url's
 *     host:port
 * @param upstream the rtsp:// URL to pull the session's stream from
 * @param via when the stream is pulled from another node's agent (a relay tree edge): that node and
 *     the host the viewer asked for; null when pulled from the backend (or publisher) itself
 */
public record Backend(String route, String name, String endpoint, URI upstream, Via via) {
    public Backend(String route, String name, String endpoint, URI upstream) {
        this(route, name, endpoint, upstream, null);
    }

    /**
     * A relay tree edge: the agent on {@code node} serves the stream; the request to it carries the
     * header {@code X-Msm-Hop: host} so that it matches the same routes (host may be "-").
     */
    public record Via(String node, String host, String from) {
        /** The header an agent marks its pull from a peer agent with. */
        public static final String HEADER = "X-Msm-Hop";

        public Via(String node, String host) {
            this(node, host, null);
        }

        /** The header's value: "host" (or "-") and "; from=node" when this node is known. */
        public String header() {
            return (host == null ? "-" : host) + (from == null ? "" : "; from=" + from);
        }
    }

    /** Whether the stream comes from another node's agent. */
    public boolean viaPeer() {
        return via != null;
    }
}
