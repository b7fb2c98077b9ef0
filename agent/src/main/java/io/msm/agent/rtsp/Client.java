package io.msm.agent.rtsp;

import io.netty.channel.Channel;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A client's RTSP connection as the {@link PathRegistry} knows it: where it is, the sessions it
 * opened and the stream it announced and has not yet recorded. The registry keeps this state (under
 * its lock); the connection holds it only to name itself in its requests, and learns through {@link
 * #streamEnded()} that a stream it watched ended.
 */
final class Client {
    final Channel channel;

    /** the node address the client reached us at (relays for its tracks listen there) */
    final InetSocketAddress local;

    final InetSocketAddress remote;

    /**
     * sessions created on this connection: changed under the registry lock, read without it for
     * interleaved media
     */
    final Set<RtspSession> sessions = ConcurrentHashMap.newKeySet();

    /**
     * a stream this connection ANNOUNCEd and has not yet RECORDed or released (under the registry
     * lock)
     */
    Stream announced;

    /**
     * Set once a request on this connection carried {@code X-Msm-Hop}: another node's agent pulls
     * for its viewers (a relay tree edge). Such a connection is served only from this agent's own
     * sources, never from a path this agent itself pulls from a peer (no loops). A stranger sending
     * the header only narrows what it may see.
     */
    volatile boolean fromPeer;

    /** The host the peer's viewer asked for (its header's value), null for "-" or none. */
    volatile String peerHost;

    /** The node the peer says it is (a node name, else "unknown"): names the edge in metrics. */
    volatile String peerNode;

    private final Runnable onStreamEnded;

    Client(Channel channel, Runnable onStreamEnded) {
        this.channel = channel;
        this.local = (InetSocketAddress) channel.localAddress();
        this.remote = (InetSocketAddress) channel.remoteAddress();
        this.onStreamEnded = onStreamEnded;
    }

    /** The address served descriptions name (c=): the local IPv4 address, else 0.0.0.0. */
    String serverAddress() {
        InetAddress a = local.getAddress();
        return a instanceof Inet4Address ? a.getHostAddress() : "0.0.0.0";
    }

    /** Whether a session of this connection uses interleaved channel {@code ch}. */
    boolean channelInUse(int ch) {
        for (RtspSession s : sessions) {
            if (s.byChannel(ch) != null) {
                return true;
            }
        }
        return false;
    }

    /** The stream a session of this connection watched has ended. */
    void streamEnded() {
        onStreamEnded.run();
    }
}
