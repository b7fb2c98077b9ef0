package io.msm.agent.media;

import io.netty.buffer.ByteBuf;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * One node-side UDP endpoint receiving an upstream flow and replicating it. Thread-safe; closing it
 * removes its subscribers and frees the port.
 */
public interface Relay extends AutoCloseable {
    /** The node address and port the upstream sends to. */
    InetSocketAddress local();

    RelayOptions options();

    /**
     * Restrict (or widen, with null) which source is upstream; e.g. once a publisher's client port
     * is known.
     */
    void expectSource(InetSocketAddress source);

    /**
     * Restrict (or widen, with null) upstream to sources with one of these workload identities (see
     * {@link RelayOptions#allowedIdentities()}); takes effect for the next packet.
     */
    void allowIdentities(Set<Integer> identities);

    /**
     * From now on the relay sends one continuous RTP stream whoever feeds it (and admits the
     * config's standby source): see {@link RtpContinuity}. The kernel plane does it in TC
     * (MSM_GROUP_F_REWRITE). Null: packets go out as they come.
     */
    default void continuity(RtpContinuity.Config config) {}

    /** The continuity state, when {@link #continuity} was set. */
    /**
     * With {@link #continuity}: the next upstream packet starts a new source even with the current
     * SSRC — a publisher resuming within the grace may come back with the SSRC it had, and its new
     * sequence numbers and timestamps must still continue the stream (kernel: MSM_RW_F_RESYNC).
     */
    default void resync() {}

    default Optional<RtpContinuity.Snapshot> continuityState() {
        return Optional.empty();
    }

    /** Send copies to {@code viewer}, from {@link #local()}. */
    default Subscriber subscribe(InetSocketAddress viewer) {
        return subscribe(viewer, null);
    }

    /**
     * Send copies to {@code viewer} from {@code source} (another relay's local address, for two-way
     * anchoring; null: {@link #local()}).
     */
    Subscriber subscribe(InetSocketAddress viewer, InetSocketAddress source);

    List<Subscriber> subscribers();

    /**
     * Receive in userspace: packets from non-upstream sources (when the options deliver them
     * locally) and, with {@code upstreamToo}, every upstream packet as well (kernel mode then also
     * passes the original to the socket — needed for RTP-over-TCP viewers). null removes the tap.
     */
    void tap(PacketListener listener, boolean upstreamToo);

    /**
     * Hand the relay one upstream packet that did not reach its socket — RTP a publisher
     * interleaves on its RTSP connection. It is replicated to every subscriber (and the tap) as if
     * it had arrived from the expected source. The caller keeps its reference to {@code data}.
     */
    void inject(ByteBuf data);

    /** Send one datagram from {@link #local()}. */
    void send(ByteBuf data, InetSocketAddress to);

    RelayStats stats();

    /** RTP receiver statistics of the upstream flow (RFC 3550), once RTP was seen. */
    Optional<RtpStreamStats> rtpStats();

    @Override
    void close();

    /** One receiver of copies. */
    interface Subscriber extends AutoCloseable {
        InetSocketAddress viewer();

        /** The address the copies come from. */
        InetSocketAddress source();

        long packets();

        long bytes();

        /**
         * Completes when copies flow (kernel mode resolves the route and neighbour first, off the
         * caller's thread); fails if the subscriber cannot be served.
         */
        CompletionStage<Void> ready();

        /** "kernel" or "userspace": who sends this subscriber's copies. */
        String servedBy();

        @Override
        void close();
    }

    /** Datagrams handed to userspace. */
    @FunctionalInterface
    interface PacketListener {
        /**
         * @param upstream true for a packet of the upstream flow
         */
        void onPacket(InetSocketAddress from, ByteBuf data, boolean upstream);
    }
}
