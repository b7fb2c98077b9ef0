package io.msm.agent.rtsp.client;

import io.msm.agent.auth.AuthHeader;
import io.msm.agent.auth.DigestAlgorithm;
import io.msm.agent.auth.DigestAuthenticator;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * The client side of an upstream's challenge: the Authorization value for each request once the
 * server answered 401. Digest is preferred (SHA-256, then MD5; with qop=auth and a growing nonce
 * count when offered, RFC 2069 otherwise), Basic only when nothing else is offered.
 */
final class ClientAuth {
    private final String user;
    private final String password;
    private final String realm;
    private final String nonce;
    private final String opaque;
    private final DigestAlgorithm algorithm; // null: Basic
    private final boolean qop;
    private final String cnonce;
    private int nc;

    private ClientAuth(
            String user,
            String password,
            String realm,
            String nonce,
            String opaque,
            DigestAlgorithm algorithm,
            boolean qop) {
        this.user = user;
        this.password = password;
        this.realm = realm;
        this.nonce = nonce;
        this.opaque = opaque;
        this.algorithm = algorithm;
        this.qop = qop;
        byte[] b = new byte[8];
        new SecureRandom().nextBytes(b);
        this.cnonce = HexFormat.of().formatHex(b);
    }

    /** The strongest challenge this client can answer, or null. */
    static ClientAuth choose(List<String> challenges, String user, String password) {
        ClientAuth best = null;
        int bestRank = -1;
        for (String c : challenges) {
            AuthHeader h;
            try {
                h = AuthHeader.parse(c);
            } catch (IllegalArgumentException e) {
                continue;
            }
            if (h.scheme().equals("digest")) {
                DigestAlgorithm a;
                try {
                    a = DigestAlgorithm.byToken(h.param("algorithm"));
                } catch (IllegalArgumentException e) {
                    continue; // e.g. MD5-sess
                }
                String qop = h.param("qop");
                boolean auth =
                        qop != null
                                && List.of(qop.toLowerCase(Locale.ROOT).split("\\s*,\\s*"))
                                        .contains("auth");
                int rank = a == DigestAlgorithm.SHA_256 ? 3 : 2;
                if (h.param("nonce") != null && h.param("realm") != null && rank > bestRank) {
                    best =
                            new ClientAuth(
                                    user,
                                    password,
                                    h.param("realm"),
                                    h.param("nonce"),
                                    h.param("opaque"),
                                    a,
                                    auth);
                    bestRank = rank;
                }
            } else if (h.scheme().equals("basic") && bestRank < 1) {
                best = new ClientAuth(user, password, null, null, null, null, false);
                bestRank = 1;
            }
        }
        return best;
    }

    /** The Authorization value for one request. */
    String answer(String method, String uri) {
        if (algorithm == null) {
            return "Basic "
                    + Base64.getEncoder()
                            .encodeToString(
                                    (user + ":" + password).getBytes(StandardCharsets.UTF_8));
        }
        String ha1 = algorithm.ha1(user, realm, password);
        String ncs = qop ? String.format(Locale.ROOT, "%08x", ++nc) : null;
        String response =
                DigestAuthenticator.response(
                        algorithm,
                        ha1,
                        nonce,
                        ncs,
                        qop ? cnonce : null,
                        qop ? "auth" : null,
                        method,
                        uri);
        StringBuilder s =
                new StringBuilder("Digest username=")
                        .append(AuthHeader.quote(user))
                        .append(", realm=")
                        .append(AuthHeader.quote(realm))
                        .append(", nonce=")
                        .append(AuthHeader.quote(nonce))
                        .append(", uri=")
                        .append(AuthHeader.quote(uri))
                        .append(", algorithm=")
                        .append(algorithm.token())
                        .append(", response=")
                        .append(AuthHeader.quote(response));
        if (qop) {
            s.append(", qop=auth, nc=")
                    .append(ncs)
                    .append(", cnonce=")
                    .append(AuthHeader.quote(cnonce));
        }
        if (opaque != null) {
            s.append(", opaque=").append(AuthHeader.quote(opaque));
        }
        return s.toString();
    }
}
