package io.msm.agent.rtsp;

import io.msm.agent.media.RelayPair;
import io.msm.agent.rtsp.wire.RtspStatus;
import io.msm.agent.rtsp.wire.TransportSpec;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * SETUP's transport negotiation: which of the offered transports the proxy takes, the interleaved
 * channels a track uses on its connection, and the Transport it answers. No state: the {@link
 * PathRegistry} calls these in the order its refusals are checked.
 */
final class Transports {
    private Transports() {}

    /** A publisher's: RTP/AVP unicast over UDP (with client_port) or interleaved on TCP. */
    static TransportSpec forPublisher(List<TransportSpec> offered) throws Refused {
        for (TransportSpec o : offered) {
            if (o.isRtpAvp() && !o.multicast() && (o.tcp() || o.clientPort() != null)) {
                return o;
            }
        }
        throw new Refused(
                RtspStatus.UNSUPPORTED_TRANSPORT,
                "publishers send RTP/AVP over UDP (with client_port) or "
                        + "RTP/AVP/TCP (interleaved)");
    }

    /** A viewer's: the same, not mode=record (which needs an ANNOUNCE on the connection first). */
    static TransportSpec forViewer(List<TransportSpec> offered) throws Refused {
        boolean askedRecord = false;
        for (TransportSpec o : offered) {
            askedRecord |= o.record();
            if (o.isRtpAvp()
                    && !o.multicast()
                    && !o.record()
                    && (o.tcp() || o.clientPort() != null)) {
                return o;
            }
        }
        if (askedRecord) {
            throw new Refused(
                    RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                    "mode=record needs an ANNOUNCE on this " + "connection first");
        }
        throw new Refused(
                RtspStatus.UNSUPPORTED_TRANSPORT,
                "served transports: RTP/AVP over UDP (unicast, with "
                        + "client_port) and RTP/AVP/TCP (interleaved)");
    }

    /**
     * The RTP and RTCP channels of an interleaved transport (those asked, else 2i and 2i+1 for
     * track i), free on the client's connection; 0-0 for UDP.
     */
    static TransportSpec.PortRange channels(TransportSpec want, Track t, Client c) throws Refused {
        if (!want.tcp()) {
            return new TransportSpec.PortRange(0, 0);
        }
        int rtpCh = want.interleaved() != null ? want.interleaved().first() : 2 * t.index;
        int rtcpCh = want.interleaved() != null ? want.interleaved().second() : 2 * t.index + 1;
        if (c.channelInUse(rtpCh) || c.channelInUse(rtcpCh)) {
            throw new Refused(
                    RtspStatus.UNSUPPORTED_TRANSPORT,
                    "interleaved channel "
                            + rtpCh
                            + "-"
                            + rtcpCh
                            + " is in use on this connection");
        }
        return new TransportSpec.PortRange(rtpCh, rtcpCh);
    }

    /**
     * The answer to a publisher: where to send (the track's relay pair, server_port) or the
     * channels.
     */
    static TransportSpec publisherReply(
            TransportSpec want, TransportSpec.PortRange channels, RelayPair pair) {
        if (want.tcp()) {
            return new TransportSpec("RTP/AVP", true, false, null, null, channels, true, null);
        }
        return new TransportSpec(
                "RTP/AVP",
                false,
                false,
                want.clientPort(),
                new TransportSpec.PortRange(
                        pair.rtp().local().getPort(), pair.rtcp().local().getPort()),
                null,
                true,
                null);
    }

    /** The answer to a viewer: the track's relays as server_port and source=, or the channels. */
    static TransportSpec viewerReply(
            TransportSpec want, TransportSpec.PortRange channels, Track t) {
        if (want.tcp()) {
            return new TransportSpec("RTP/AVP", true, false, null, null, channels, false, null);
        }
        InetSocketAddress relay = t.rtp().local();
        return new TransportSpec(
                "RTP/AVP",
                false,
                false,
                want.clientPort(),
                new TransportSpec.PortRange(relay.getPort(), t.rtcp().local().getPort()),
                null,
                false,
                relay.getAddress().getHostAddress());
    }
}
