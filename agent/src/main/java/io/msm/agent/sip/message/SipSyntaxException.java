package io.msm.agent.sip.message;

/**
 * A header value or URI that does not follow the RFC 3261 grammar; the message says which and why.
 */
public class SipSyntaxException extends IllegalArgumentException {
    public SipSyntaxException(String message) {
        super(message);
    }
}
