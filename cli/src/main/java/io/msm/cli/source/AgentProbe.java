package io.msm.cli.source;

import java.net.URI;
import java.time.Duration;
import java.util.List;

/** Asks msm-agent whether it is alive, and which relay tree edges its node has. */
@FunctionalInterface
public interface AgentProbe {
    /**
     * @param reachable the agent answered with a 2xx status
     * @param httpStatus the status, 0 when there was no answer
     * @param detail the body's first line, or why there was no answer
     * @param millis how long it took
     */
    record Health(boolean reachable, int httpStatus, String detail, long millis) {}

    /**
     * One relay tree edge of the node, as the agent's /tree tells it.
     *
     * @param direction "takes" (this node pulls the path from peer's agent) or "serves" (peer's
     *     agent pulls it from here)
     * @param peer the other node's name
     * @param sessions RTSP sessions the edge stands for
     * @param bytes RTP bytes over the edge so far, -1 when not known
     */
    record Edge(String direction, String peer, String path, long sessions, long bytes) {}

    /**
     * The relay tree edges, or why they are not known.
     *
     * @param edges the edges (empty when none or not known)
     * @param unknown null when read, else why not
     */
    record Tree(List<Edge> edges, String unknown) {
        public static Tree notRead(String why) {
            return new Tree(List.of(), why);
        }
    }

    Health probe(URI url, Duration timeout);

    /**
     * The agent's relay tree edges, read from /tree next to the health endpoint {@code url}. Probes
     * that cannot ask say so.
     */
    default Tree tree(URI url, Duration timeout) {
        return Tree.notRead("not asked");
    }
}
