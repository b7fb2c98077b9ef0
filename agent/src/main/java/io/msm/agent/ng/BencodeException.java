package io.msm.agent.ng;

/** Input that is not bencode, or exceeds a bound of {@link Bencode.Limits}. */
public final class BencodeException extends Exception {
    private static final long serialVersionUID = 1L;

    public BencodeException(String message) {
        super(message);
    }
}
