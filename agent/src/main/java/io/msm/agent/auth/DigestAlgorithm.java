package io.msm.agent.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/** The HTTP Digest algorithms msm accepts (RFC 7616 section 3.2, RFC 8760 for SIP). */
public enum DigestAlgorithm {
    SHA_256("SHA-256", "SHA-256"),
    MD5("MD5", "MD5");

    private final String token;
    private final String jca;

    DigestAlgorithm(String token, String jca) {
        this.token = token;
        this.jca = jca;
    }

    /** The name in challenges and credentials ({@code algorithm=SHA-256}). */
    public String token() {
        return token;
    }

    /** Lowercase hex of the digest of the UTF-8 bytes of {@code s}. */
    public String hex(String s) {
        try {
            MessageDigest md = MessageDigest.getInstance(jca);
            return HexFormat.of().formatHex(md.digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(jca + " is missing from this JVM", e);
        }
    }

    /** Length of the hex digest: 32 for MD5, 64 for SHA-256. */
    public int hexLength() {
        return this == MD5 ? 32 : 64;
    }

    /** HA1 = H(username ":" realm ":" password). */
    public String ha1(String user, String realm, String password) {
        return hex(user + ":" + realm + ":" + password);
    }

    /** By token, case-insensitive; a missing algorithm parameter means MD5 (RFC 7616 3.3). */
    public static DigestAlgorithm byToken(String token) {
        if (token == null) {
            return MD5;
        }
        for (DigestAlgorithm a : values()) {
            if (a.token.equalsIgnoreCase(token.trim())) {
                return a;
            }
        }
        throw new IllegalArgumentException(
                "algorithm '"
                        + token
                        + "' is not supported (only "
                        + SHA_256.token
                        + " and "
                        + MD5.token
                        + ")");
    }

    @Override
    public String toString() {
        return token.toLowerCase(Locale.ROOT);
    }
}
