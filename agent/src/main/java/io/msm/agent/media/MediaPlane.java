package io.msm.agent.media;

import io.msm.agent.identity.IdentityLookup;
import io.msm.agent.identity.IdentitySink;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * Where media packets go: the control protocols (RTSP, SIP) open node-side UDP endpoints ({@link
 * Relay}s) that receive one upstream flow each and replicate it to subscribers. Two implementations
 * behave the same to clients:
 *
 * <ul>
 *   <li>kernel: the TC program rewrites and clones each packet to every subscriber (a fan-out group
 *       keyed by the endpoint's addr:port); userspace sees none of the replicated packets;
 *   <li>userspace: a Netty epoll relay receives and sends the copies.
 * </ul>
 *
 * Copies leave from the endpoint's own address and port (or from another relay's, for SIP's two-way
 * anchoring), so a subscriber sees one stable source.
 */
public interface MediaPlane extends AutoCloseable {
    /** "kernel" or "userspace". */
    String mode();

    /**
     * Open a relay bound to {@code bind} (port 0: any free port).
     *
     * @throws IOException when the port cannot be bound
     */
    Relay open(InetSocketAddress bind, RelayOptions options) throws IOException;

    /**
     * Open two relays on consecutive ports, even for RTP and odd for RTCP (RFC 3550 section 11), on
     * {@code addr}, searching the configured media port range.
     */
    RelayPair openPair(InetAddress addr, RelayOptions rtp, RelayOptions rtcp) throws IOException;

    /**
     * The plane's ports and kernel groups as the protocols share them: reserve before accepting a
     * session.
     */
    MediaAdmission admission();

    /** One protocol's share of {@link #admission()}. */
    default MediaAdmission.Share admission(String protocol) {
        return admission().share(protocol);
    }

    /**
     * Where the node's workload identities are written so this plane's relays can check who sent a
     * packet (kernel: the identity map TC reads). A plane that does not check identities keeps
     * nothing.
     */
    default IdentitySink identitySink() {
        return IdentitySink.NONE;
    }

    /** How this plane's userspace relays learn who sent a packet (default: nobody is known). */
    default void identityLookup(IdentityLookup lookup) {}

    @Override
    void close();
}
