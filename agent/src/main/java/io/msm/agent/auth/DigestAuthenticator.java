package io.msm.agent.auth;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HTTP Digest authentication as RTSP (RFC 2326 / RFC 7826) and SIP (RFC 3261 section 22, RFC 8760)
 * use it: challenges, and checks of the answers against stored HA1 hashes.
 *
 * <p>Nonces are stateless: {@code base64url(time | random | HMAC(secret, time | random | realm |
 * client address))}, so a nonce is good only from the address it was given to and only for {@code
 * nonceLifetime}; an expired nonce with an otherwise correct answer gets {@code stale=true} (the
 * client retries without asking its user). With {@code qop=auth} the nonce count must grow with
 * every request under one nonce (replays are refused); the counts are kept for nonces that
 * verified, at most {@code maxNonces}, while they are fresh. Clients that answer without qop (RFC
 * 2069: GStreamer, live555/VLC) are accepted only when {@code allowLegacy}, and then only for the
 * request URI the answer names.
 */
public final class DigestAuthenticator {
    /** How a check ended. */
    public sealed interface Outcome {
        /** The answer is right: the request is {@code user}'s. */
        record Accepted(String user, DigestAlgorithm algorithm) implements Outcome {}

        /** Right credentials, old nonce: challenge again with stale=true. */
        record Stale() implements Outcome {}

        /** Wrong, missing or malformed: challenge again; counts as a failure for the source. */
        record Rejected(String reason) implements Outcome {}
    }

    private static final int RANDOM_BYTES = 8;
    private static final int MAC_BYTES = 16;
    private static final int NONCE_BYTES = 8 + RANDOM_BYTES + MAC_BYTES;

    private final String realm;
    private final Supplier<Credentials> users;
    private final List<DigestAlgorithm> algorithms;
    private final long lifetimeMillis;
    private final boolean allowLegacy;
    private final int maxNonces;
    private final LongSupplier millis;
    private final SecretKeySpec key;
    private final SecureRandom random = new SecureRandom();

    /** nonce -> highest nonce count seen, for nonces that verified (oldest first). */
    @GuardedBy("this")
    private final LinkedHashMap<String, Long> counts = new LinkedHashMap<>();

    /**
     * @param realm the realm challenged with (and in the users' HA1)
     * @param users the current users (read at each check, so a reloaded file applies at once)
     * @param algorithms offered, strongest first; each is one challenge header
     * @param nonceLifetime how long a nonce is good for
     * @param allowLegacy accept answers without qop (RFC 2069)
     * @param maxNonces nonce counts kept at most (one per authenticated client, roughly)
     * @param millis the clock
     */
    public DigestAuthenticator(
            String realm,
            Supplier<Credentials> users,
            List<DigestAlgorithm> algorithms,
            Duration nonceLifetime,
            boolean allowLegacy,
            int maxNonces,
            LongSupplier millis) {
        if (algorithms.isEmpty()) {
            throw new IllegalArgumentException("no algorithm to offer");
        }
        this.realm = realm;
        this.users = users;
        this.algorithms = List.copyOf(algorithms);
        this.lifetimeMillis = nonceLifetime.toMillis();
        this.allowLegacy = allowLegacy;
        this.maxNonces = maxNonces;
        this.millis = millis;
        byte[] secret = new byte[32];
        random.nextBytes(secret);
        this.key = new SecretKeySpec(secret, "HmacSHA256");
    }

    public String realm() {
        return realm;
    }

    /** One WWW-Authenticate / Proxy-Authenticate value per offered algorithm, strongest first. */
    public List<String> challenges(InetAddress client, boolean stale) {
        String nonce = nonce(client);
        List<String> out = new ArrayList<>();
        for (DigestAlgorithm a : algorithms) {
            out.add(
                    "Digest realm="
                            + AuthHeader.quote(realm)
                            + ", nonce="
                            + AuthHeader.quote(nonce)
                            + ", algorithm="
                            + a.token()
                            + ", qop=\"auth\""
                            + (stale ? ", stale=true" : ""));
        }
        return out;
    }

    /**
     * Checks an Authorization value against the request it came with.
     *
     * @param client the request's source address (nonces are bound to it)
     * @param method the request method
     * @param requestUri the request's URI, compared with the answer's {@code uri}
     * @param header the Authorization / Proxy-Authorization value, or null
     */
    public Outcome verify(InetAddress client, String method, String requestUri, String header) {
        AuthHeader h;
        try {
            h = AuthHeader.parse(header);
        } catch (IllegalArgumentException e) {
            return new Outcome.Rejected(e.getMessage());
        }
        if (!h.scheme().equals("digest")) {
            return new Outcome.Rejected("scheme " + h.scheme() + " is not Digest");
        }
        String user = h.param("username");
        String nonce = h.param("nonce");
        String uri = h.param("uri");
        String response = h.param("response");
        if (user == null || nonce == null || uri == null || response == null) {
            return new Outcome.Rejected("username, nonce, uri and response are required");
        }
        if (!realm.equals(h.param("realm"))) {
            return new Outcome.Rejected("realm is not " + realm);
        }
        DigestAlgorithm alg;
        try {
            alg = DigestAlgorithm.byToken(h.param("algorithm"));
        } catch (IllegalArgumentException e) {
            return new Outcome.Rejected(e.getMessage());
        }
        if (!algorithms.contains(alg)) {
            return new Outcome.Rejected("algorithm " + alg.token() + " was not offered");
        }
        if (requestUri != null && !uri.equals(requestUri)) {
            return new Outcome.Rejected("uri does not name the request's URI");
        }
        String qop = h.param("qop");
        String nc = h.param("nc");
        String cnonce = h.param("cnonce");
        long count = 0;
        if (qop == null) {
            if (!allowLegacy) {
                return new Outcome.Rejected("qop=auth is required");
            }
        } else if (!qop.equals("auth")
                || nc == null
                || cnonce == null
                || !nc.matches("[0-9a-fA-F]{8}")) {
            return new Outcome.Rejected("qop must be auth, with an 8-digit nc and a cnonce");
        } else {
            count = Long.parseLong(nc, 16);
        }
        long issued = issued(nonce, client);
        if (issued < 0) {
            return new Outcome.Rejected(
                    "the nonce is not one this server gave to " + client.getHostAddress());
        }
        String ha1 = users.get().ha1(user, realm, alg);
        // unknown users cost the same as known ones, so timing does not list the users
        String ha1OrDummy = ha1 != null ? ha1 : alg.hex("\0");
        String expect = response(alg, ha1OrDummy, nonce, nc, cnonce, qop, method, uri);
        boolean right =
                MessageDigest.isEqual(
                        expect.getBytes(StandardCharsets.US_ASCII),
                        response.toLowerCase(Locale.ROOT).getBytes(StandardCharsets.US_ASCII));
        if (ha1 == null || !right) {
            return new Outcome.Rejected("unknown user or wrong password");
        }
        long now = millis.getAsLong();
        if (now - issued > lifetimeMillis || issued - now > lifetimeMillis) {
            return new Outcome.Stale();
        }
        if (qop != null) {
            String refused = countGrows(nonce, count, now);
            if (refused != null) {
                return new Outcome.Rejected(refused);
            }
        }
        return new Outcome.Accepted(user, alg);
    }

    /** Null when the count is new for the nonce (and is now recorded), else the reason. */
    private synchronized String countGrows(String nonce, long count, long now) {
        Long last = counts.get(nonce);
        if (last != null) {
            if (count <= last) {
                return "nonce count " + Long.toHexString(count) + " was used before (a replay)";
            }
            counts.put(nonce, count);
            return null;
        }
        if (counts.size() >= maxNonces) {
            // forget nonces that expired; they cannot verify again anyway
            for (Iterator<Map.Entry<String, Long>> it = counts.entrySet().iterator();
                    it.hasNext(); ) {
                if (now - issuedUnchecked(it.next().getKey()) > lifetimeMillis) {
                    it.remove();
                }
            }
            if (counts.size() >= maxNonces) {
                // full of fresh nonces: refuse rather than forget a count a replay could reuse
                return "too many clients authenticated within the nonce lifetime ("
                        + maxNonces
                        + ")";
            }
        }
        counts.put(nonce, count);
        return null;
    }

    /**
     * Checks Basic credentials (RFC 7617) against the users' HA1: only over TLS or loopback should
     * a caller accept them, since they carry the password itself.
     */
    public Outcome verifyBasic(String header) {
        AuthHeader h;
        try {
            h = AuthHeader.parse(header);
        } catch (IllegalArgumentException e) {
            return new Outcome.Rejected(e.getMessage());
        }
        if (!h.scheme().equals("basic")) {
            return new Outcome.Rejected("scheme " + h.scheme() + " is not Basic");
        }
        String pair;
        try {
            pair = new String(Base64.getDecoder().decode(h.token68()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return new Outcome.Rejected("Basic credentials are not base64");
        }
        int colon = pair.indexOf(':');
        if (colon <= 0) {
            return new Outcome.Rejected("Basic credentials are not user:password");
        }
        String user = pair.substring(0, colon);
        String password = pair.substring(colon + 1);
        Credentials c = users.get();
        for (DigestAlgorithm a : algorithms) {
            String ha1 = c.ha1(user, realm, a);
            if (ha1 != null) {
                boolean right =
                        MessageDigest.isEqual(
                                ha1.getBytes(StandardCharsets.US_ASCII),
                                a.ha1(user, realm, password).getBytes(StandardCharsets.US_ASCII));
                return right
                        ? new Outcome.Accepted(user, a)
                        : new Outcome.Rejected("unknown user or wrong password");
            }
        }
        return new Outcome.Rejected("unknown user or wrong password");
    }

    /**
     * The {@code response} parameter (RFC 7616 section 3.4.1; RFC 2069 when qop is null): what a
     * client sends and what a server expects.
     */
    public static String response(
            DigestAlgorithm alg,
            String ha1,
            String nonce,
            String nc,
            String cnonce,
            String qop,
            String method,
            String uri) {
        String ha2 = alg.hex(method + ":" + uri);
        return qop == null
                ? alg.hex(ha1 + ":" + nonce + ":" + ha2)
                : alg.hex(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":" + qop + ":" + ha2);
    }

    /** Nonce counts held now. */
    public synchronized int trackedNonces() {
        return counts.size();
    }

    private String nonce(InetAddress client) {
        ByteBuffer b = ByteBuffer.allocate(NONCE_BYTES);
        b.putLong(millis.getAsLong());
        byte[] r = new byte[RANDOM_BYTES];
        random.nextBytes(r);
        b.put(r);
        b.put(mac(b.array(), 8 + RANDOM_BYTES, client));
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b.array());
    }

    /** When the nonce was made, or -1 when it is not ours for this client. */
    private long issued(String nonce, InetAddress client) {
        byte[] n;
        try {
            n = Base64.getUrlDecoder().decode(nonce);
        } catch (IllegalArgumentException e) {
            return -1;
        }
        if (n.length != NONCE_BYTES) {
            return -1;
        }
        byte[] want = mac(n, 8 + RANDOM_BYTES, client);
        byte[] got = new byte[MAC_BYTES];
        System.arraycopy(n, 8 + RANDOM_BYTES, got, 0, MAC_BYTES);
        if (!MessageDigest.isEqual(want, got)) {
            return -1;
        }
        return ByteBuffer.wrap(n).getLong();
    }

    private static long issuedUnchecked(String nonce) {
        return ByteBuffer.wrap(Base64.getUrlDecoder().decode(nonce)).getLong();
    }

    private byte[] mac(byte[] head, int len, InetAddress client) {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(key);
            m.update(head, 0, len);
            m.update(realm.getBytes(StandardCharsets.UTF_8));
            m.update(Cidr.unmapped(client.getAddress()));
            byte[] full = m.doFinal();
            byte[] out = new byte[MAC_BYTES];
            System.arraycopy(full, 0, out, 0, MAC_BYTES);
            return out;
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("HmacSHA256 is missing from this JVM", e);
        }
    }
}
