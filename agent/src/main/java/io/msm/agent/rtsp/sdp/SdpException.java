package io.msm.agent.rtsp.sdp;

/** A session description this proxy cannot use; the message says which line and why. */
public final class SdpException extends Exception {
    public SdpException(String message) {
        super(message);
    }
}
