package io.msm.agent.rtsp.client;

import io.netty.handler.ssl.SslHandshakeTimeoutException;
import java.io.IOException;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.util.Locale;

/**
 * An RTSPS handshake that failed, with why in words a user can act on and a short {@link #reason}
 * for metrics: {@code untrusted} (the chain does not lead to a trusted CA), {@code name-mismatch}
 * (the certificate does not name the host dialled), {@code expired} (or not yet valid), {@code
 * timeout}, {@code handshake} (anything else: protocol versions, ciphers, a plain-RTSP server).
 */
public final class TlsFailure extends IOException {
    private static final long serialVersionUID = 1L;

    private final String reason;

    private TlsFailure(String message, String reason, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    /** untrusted, name-mismatch, expired, timeout or handshake */
    public String reason() {
        return reason;
    }

    /**
     * No TLS session with {@code server} within {@code ms}: the connection or its handshake did not
     * complete (a server that accepts and never answers, a black hole).
     */
    public static TlsFailure timeout(String server, long ms) {
        return new TlsFailure(
                "no TLS session with "
                        + server
                        + " within "
                        + ms
                        + " ms (rtsp.upstream-timeout): TCP connect or TLS handshake unanswered",
                "timeout",
                null);
    }

    /** The failure of a handshake with {@code server} ("host:port"), classified by its causes. */
    static TlsFailure of(String server, Throwable cause) {
        String reason = "handshake";
        String why = null;
        for (Throwable t = cause; t != null; t = t.getCause()) {
            String m = t.getMessage() == null ? "" : t.getMessage();
            String lower = m.toLowerCase(Locale.ROOT);
            if (t instanceof SslHandshakeTimeoutException
                    || lower.contains("handshake timed out")) {
                reason = "timeout";
                why = "no TLS handshake within the time limit (rtsp.upstream-timeout)";
                break;
            }
            if (t instanceof CertificateExpiredException
                    || t instanceof CertificateNotYetValidException
                    || (t instanceof CertPathValidatorException v
                            && (v.getReason() == CertPathValidatorException.BasicReason.EXPIRED
                                    || v.getReason()
                                            == CertPathValidatorException.BasicReason
                                                    .NOT_YET_VALID))) {
                reason = "expired";
                why = "the server's certificate is expired or not yet valid (" + m + ")";
                break;
            }
            if (lower.contains("no subject alternative")
                    || lower.contains("no name matching")
                    || lower.contains("does not match")) {
                reason = "name-mismatch";
                why =
                        "the server's certificate does not name the host in the URL ("
                                + m
                                + "); fix the certificate's subject alternative names or the URL";
                break;
            }
            if (t instanceof CertPathBuilderException
                    || lower.contains("pkix path building failed")
                    || lower.contains("unable to find valid certification path")) {
                reason = "untrusted";
                why =
                        "the server's certificate is not signed by a trusted CA (rtsp.upstream-tls.ca,"
                                + " else the JVM's trust store)";
                break;
            }
        }
        if (why == null) {
            why = cause == null ? "unknown" : cause.toString();
        }
        return new TlsFailure("TLS handshake with " + server + " failed: " + why, reason, cause);
    }
}
