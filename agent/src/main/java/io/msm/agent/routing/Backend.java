package io.msm.agent.routing;

import java.net.URI;
import java.time.Duration;

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
 * @param standby the route's hot standby for this session: a second target pulled at the same time
 *     into the same relays, which the kernel forwards only when this one has been silent; null:
 *     none (never for a relay tree edge — the origin node's agent keeps the standby)
 */
public record Backend(
        String route, String name, String endpoint, URI upstream, Via via, Standby standby) {
    public Backend(String route, String name, String endpoint, URI upstream) {
        this(route, name, endpoint, upstream, null, null);
    }

    public Backend(String route, String name, String endpoint, URI upstream, Via via) {
        this(route, name, endpoint, upstream, via, null);
    }

    /**
     * A StreamRoute's hot standby (spec.hotStandby): another target of the route.
     *
     * @param endpoint its "ip:port"
     * @param upstream the rtsp:// URL to pull the same stream from
     * @param silence the active target's RTP silence after which the standby's is forwarded
     */
    public record Standby(String endpoint, URI upstream, Duration silence) {}

    public Backend withStandby(Standby s) {
        return new Backend(route, name, endpoint, upstream, via, s);
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
