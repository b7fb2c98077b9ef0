package io.msm.agent.media;

/**
 * Counters of one relay.
 *
 * @param upstreamPackets upstream packets received (kernel: seen by TC)
 * @param upstreamBytes their bytes
 * @param copies copies sent to subscribers
 * @param errors copies that could not be sent
 * @param droppedOthers packets from other sources dropped (strict source)
 * @param identityUnknown packets refused by the identity check: the sender has no workload identity
 *     and the relay admits none (dropped, or handed to the tap as others)
 * @param identityDenied packets refused by the identity check: the sender's identity is not one the
 *     relay admits
 */
public record RelayStats(
        long upstreamPackets,
        long upstreamBytes,
        long copies,
        long errors,
        long droppedOthers,
        long identityUnknown,
        long identityDenied) {
    public static final RelayStats ZERO = new RelayStats(0, 0, 0, 0, 0, 0, 0);

    /** A relay without identity refusals. */
    public RelayStats(
            long upstreamPackets,
            long upstreamBytes,
            long copies,
            long errors,
            long droppedOthers) {
        this(upstreamPackets, upstreamBytes, copies, errors, droppedOthers, 0, 0);
    }
}
