package io.msm.agent.sip.call;

import java.net.InetSocketAddress;

/**
 * What one side's relays of one media stream must do: accept RTP (and RTCP) only from the party's
 * negotiated addresses, and send copies to the other party's addresses — or nothing where the
 * direction is off or an address is unknown (on hold, disabled).
 *
 * @param expectRtp the party's RTP source (null: unknown, nothing is relayed)
 * @param expectRtcp the party's RTCP source (null: unknown or multiplexed on RTP)
 * @param sendRtp where the other party receives RTP (null: this direction is off)
 * @param sendRtcp where the other party receives RTCP (null: off or multiplexed)
 */
public record LegPlan(
        InetSocketAddress expectRtp,
        InetSocketAddress expectRtcp,
        InetSocketAddress sendRtp,
        InetSocketAddress sendRtcp) {
    public static final LegPlan IDLE = new LegPlan(null, null, null, null);
}
