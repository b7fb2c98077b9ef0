package io.msm.agent.media;

/**
 * RFC 3550 receiver statistics of an upstream RTP flow.
 *
 * @param ssrc synchronisation source
 * @param extendedHighestSeq A.3 extended highest sequence number
 * @param lost A.3 cumulative packets lost
 * @param jitterMs A.8 interarrival jitter in milliseconds
 * @param received packets counted
 */
public record RtpStreamStats(
        long ssrc, long extendedHighestSeq, long lost, double jitterMs, long received) {}
