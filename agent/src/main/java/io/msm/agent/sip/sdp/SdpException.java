package io.msm.agent.sip.sdp;

/** A session description msm cannot read or cannot anchor; the message says which line and why. */
public final class SdpException extends Exception {
    public SdpException(String message) {
        super(message);
    }
}
