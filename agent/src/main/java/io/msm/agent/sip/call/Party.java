package io.msm.agent.sip.call;

import io.msm.agent.sip.sdp.Direction;
import java.net.InetSocketAddress;

/**
 * One party's media of one stream as its last SDP said: where it receives RTP and RTCP (null on
 * hold with c=0.0.0.0, or disabled), its direction, and whether it offered rtcp-mux. {@code
 * lastRtp} keeps the last real address: a held party still sends only from where it negotiated.
 */
public record Party(
        InetSocketAddress rtp,
        InetSocketAddress rtcp,
        Direction direction,
        boolean mux,
        InetSocketAddress lastRtp,
        InetSocketAddress lastRtcp) {
    public static final Party NONE = new Party(null, null, Direction.INACTIVE, false, null, null);

    public Party next(InetSocketAddress newRtp, InetSocketAddress newRtcp, Direction d, boolean m) {
        return new Party(
                newRtp,
                newRtcp,
                d,
                m,
                newRtp != null ? newRtp : lastRtp,
                newRtcp != null ? newRtcp : lastRtcp);
    }
}
