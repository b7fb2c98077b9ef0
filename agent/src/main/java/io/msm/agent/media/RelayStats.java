package io.msm.agent.media;

/**
 * Counters of one relay.
 *
 * @param upstreamPackets upstream packets received (kernel: seen by TC)
 * @param upstreamBytes their bytes
 * @param copies copies sent to subscribers
 * @param errors copies that could not be sent
 * @param droppedOthers packets from other sources dropped (strict source)
 */
public record RelayStats(
        long upstreamPackets, long upstreamBytes, long copies, long errors, long droppedOthers) {
    public static final RelayStats ZERO = new RelayStats(0, 0, 0, 0, 0);
}
