package io.msm.agent.media;

/** An RTP relay on an even port and its RTCP relay on the next. */
public record RelayPair(Relay rtp, Relay rtcp) implements AutoCloseable {
    @Override
    public void close() {
        rtp.close();
        rtcp.close();
    }
}
