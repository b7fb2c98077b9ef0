package io.msm.agent.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.auth.DigestAuthenticator.Outcome;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class DigestAuthenticatorTest {
    static final InetAddress CLIENT = addr("192.0.2.10");
    static final InetAddress OTHER = addr("192.0.2.11");
    static final String REALM = "msm";

    final AtomicLong now = new AtomicLong(1_000_000);
    final Credentials users =
            Credentials.parse(
                    List.of(
                            Credentials.lines("bob", REALM, "s3cret").get(0),
                            Credentials.lines("bob", REALM, "s3cret").get(1),
                            Credentials.lines("carol", REALM, "other").get(0)),
                    "test");

    DigestAuthenticator auth(boolean legacy, int maxNonces) {
        return new DigestAuthenticator(
                REALM,
                () -> users,
                List.of(DigestAlgorithm.SHA_256, DigestAlgorithm.MD5),
                Duration.ofSeconds(60),
                legacy,
                maxNonces,
                now::get);
    }

    static InetAddress addr(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String nonceOf(String challenge) {
        return AuthHeader.parse(challenge).param("nonce");
    }

    /** What a client answers, computed from the password (not from the stored HA1). */
    static String answer(
            DigestAlgorithm alg,
            String user,
            String password,
            String nonce,
            String method,
            String uri,
            String nc) {
        String ha1 = alg.ha1(user, REALM, password);
        String cnonce = "c0ffee";
        String qop = nc == null ? null : "auth";
        String resp = DigestAuthenticator.response(alg, ha1, nonce, nc, cnonce, qop, method, uri);
        return "Digest username=\""
                + user
                + "\", realm=\""
                + REALM
                + "\", nonce=\""
                + nonce
                + "\", uri=\""
                + uri
                + "\", response=\""
                + resp
                + "\", algorithm="
                + alg.token()
                + (nc == null ? "" : ", qop=auth, nc=" + nc + ", cnonce=\"" + cnonce + "\"");
    }

    @Test
    void theResponseMatchesRfc7616sExamples() {
        // RFC 7616 section 3.9.1
        String nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
        String cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
        for (var row :
                List.of(
                        new Object[] {DigestAlgorithm.MD5, "8ca523f5e9506fed4657c9700eebdbec"},
                        new Object[] {
                            DigestAlgorithm.SHA_256,
                            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
                        })) {
            DigestAlgorithm a = (DigestAlgorithm) row[0];
            String ha1 = a.ha1("Mufasa", "http-auth@example.org", "Circle of Life");
            assertEquals(
                    row[1],
                    DigestAuthenticator.response(
                            a, ha1, nonce, "00000001", cnonce, "auth", "GET", "/dir/index.html"),
                    a.token());
        }
        // RFC 2617 section 3.5
        String ha1 = DigestAlgorithm.MD5.ha1("Mufasa", "testrealm@host.com", "Circle Of Life");
        assertEquals(
                "6629fae49393a05397450978507c4ef1",
                DigestAuthenticator.response(
                        DigestAlgorithm.MD5,
                        ha1,
                        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                        "00000001",
                        "0a4f113b",
                        "auth",
                        "GET",
                        "/dir/index.html"));
    }

    @Test
    void theRightPasswordIsAcceptedWithEitherAlgorithm() {
        DigestAuthenticator a = auth(false, 100);
        List<String> ch = a.challenges(CLIENT, false);
        assertEquals(2, ch.size(), "one challenge per algorithm");
        assertTrue(
                ch.get(0).contains("algorithm=SHA-256") && ch.get(1).contains("algorithm=MD5"),
                ch.toString());
        assertTrue(ch.get(0).contains("qop=\"auth\"") && !ch.get(0).contains("stale"), ch.get(0));
        for (DigestAlgorithm alg : DigestAlgorithm.values()) {
            String nonce = nonceOf(ch.get(0));
            Outcome o =
                    a.verify(
                            CLIENT,
                            "REGISTER",
                            "sip:msm",
                            answer(
                                    alg,
                                    "bob",
                                    "s3cret",
                                    nonce,
                                    "REGISTER",
                                    "sip:msm",
                                    alg == DigestAlgorithm.MD5 ? "00000002" : "00000001"));
            assertEquals(new Outcome.Accepted("bob", alg), o, alg.token());
        }
    }

    @Test
    void wrongPasswordsUnknownUsersAndForeignNoncesAreRejected() {
        DigestAuthenticator a = auth(false, 100);
        String nonce = nonceOf(a.challenges(CLIENT, false).get(0));
        DigestAlgorithm md5 = DigestAlgorithm.MD5;
        assertInstanceOf(
                Outcome.Rejected.class,
                a.verify(
                        CLIENT,
                        "INVITE",
                        "sip:x",
                        answer(md5, "bob", "guess", nonce, "INVITE", "sip:x", "00000001")));
        assertInstanceOf(
                Outcome.Rejected.class,
                a.verify(
                        CLIENT,
                        "INVITE",
                        "sip:x",
                        answer(md5, "mallory", "s3cret", nonce, "INVITE", "sip:x", "00000001")));
        assertInstanceOf(
                Outcome.Rejected.class,
                a.verify(
                        OTHER,
                        "INVITE",
                        "sip:x",
                        answer(md5, "bob", "s3cret", nonce, "INVITE", "sip:x", "00000001")),
                "a nonce is bound to its client");
        String forged = Base64.getUrlEncoder().withoutPadding().encodeToString(new byte[32]);
        assertInstanceOf(
                Outcome.Rejected.class,
                a.verify(
                        CLIENT,
                        "INVITE",
                        "sip:x",
                        answer(md5, "bob", "s3cret", forged, "INVITE", "sip:x", "00000001")));
        assertInstanceOf(
                Outcome.Rejected.class,
                a.verify(
                        CLIENT,
                        "INVITE",
                        "sip:y",
                        answer(md5, "bob", "s3cret", nonce, "INVITE", "sip:x", "00000001")),
                "uri must name the request's");
        assertInstanceOf(
                Outcome.Rejected.class,
                a.verify(
                        CLIENT,
                        "BYE",
                        "sip:x",
                        answer(md5, "bob", "s3cret", nonce, "INVITE", "sip:x", "00000001")),
                "method is part of the answer");
        // carol has no SHA-256 entry
        assertInstanceOf(
                Outcome.Rejected.class,
                a.verify(
                        CLIENT,
                        "INVITE",
                        "sip:x",
                        answer(
                                DigestAlgorithm.SHA_256,
                                "carol",
                                "other",
                                nonce,
                                "INVITE",
                                "sip:x",
                                "00000001")));
        assertInstanceOf(
                Outcome.Accepted.class,
                a.verify(
                        CLIENT,
                        "INVITE",
                        "sip:x",
                        answer(md5, "carol", "other", nonce, "INVITE", "sip:x", "00000001")));
    }

    @Test
    void aReplayedNonceCountIsRefused() {
        DigestAuthenticator a = auth(false, 100);
        String nonce = nonceOf(a.challenges(CLIENT, false).get(0));
        String first =
                answer(
                        DigestAlgorithm.SHA_256,
                        "bob",
                        "s3cret",
                        nonce,
                        "INVITE",
                        "sip:x",
                        "00000001");
        assertInstanceOf(Outcome.Accepted.class, a.verify(CLIENT, "INVITE", "sip:x", first));
        Outcome again = a.verify(CLIENT, "INVITE", "sip:x", first);
        assertInstanceOf(Outcome.Rejected.class, again);
        assertTrue(((Outcome.Rejected) again).reason().contains("replay"), again.toString());
        assertInstanceOf(
                Outcome.Accepted.class,
                a.verify(
                        CLIENT,
                        "INVITE",
                        "sip:x",
                        answer(
                                DigestAlgorithm.SHA_256,
                                "bob",
                                "s3cret",
                                nonce,
                                "INVITE",
                                "sip:x",
                                "00000002")));
        assertInstanceOf(
                Outcome.Rejected.class,
                a.verify(
                        CLIENT,
                        "INVITE",
                        "sip:x",
                        answer(
                                DigestAlgorithm.SHA_256,
                                "bob",
                                "s3cret",
                                nonce,
                                "INVITE",
                                "sip:x",
                                "00000002")));
    }

    @Test
    void anExpiredNonceWithTheRightPasswordIsStaleAndAWrongOneIsRejected() {
        DigestAuthenticator a = auth(false, 100);
        String nonce = nonceOf(a.challenges(CLIENT, false).get(0));
        now.addAndGet(61_000);
        assertInstanceOf(
                Outcome.Stale.class,
                a.verify(
                        CLIENT,
                        "INVITE",
                        "sip:x",
                        answer(
                                DigestAlgorithm.MD5,
                                "bob",
                                "s3cret",
                                nonce,
                                "INVITE",
                                "sip:x",
                                "00000001")));
        assertInstanceOf(
                Outcome.Rejected.class,
                a.verify(
                        CLIENT,
                        "INVITE",
                        "sip:x",
                        answer(
                                DigestAlgorithm.MD5,
                                "bob",
                                "wrong",
                                nonce,
                                "INVITE",
                                "sip:x",
                                "00000001")));
        assertTrue(a.challenges(CLIENT, true).get(0).endsWith("stale=true"));
    }

    @Test
    void answersWithoutQopNeedLegacyModeAndANamedUri() {
        DigestAuthenticator strict = auth(false, 100);
        String nonce = nonceOf(strict.challenges(CLIENT, false).get(0));
        String legacyAnswer =
                answer(
                        DigestAlgorithm.MD5,
                        "bob",
                        "s3cret",
                        nonce,
                        "DESCRIBE",
                        "rtsp://n/cam",
                        null);
        assertInstanceOf(
                Outcome.Rejected.class,
                strict.verify(CLIENT, "DESCRIBE", "rtsp://n/cam", legacyAnswer),
                "without qop only in legacy mode");
        DigestAuthenticator legacy = auth(true, 100);
        nonce = nonceOf(legacy.challenges(CLIENT, false).get(0));
        legacyAnswer =
                answer(
                        DigestAlgorithm.MD5,
                        "bob",
                        "s3cret",
                        nonce,
                        "DESCRIBE",
                        "rtsp://n/cam",
                        null);
        assertEquals(
                new Outcome.Accepted("bob", DigestAlgorithm.MD5),
                legacy.verify(CLIENT, "DESCRIBE", "rtsp://n/cam", legacyAnswer));
        assertInstanceOf(
                Outcome.Rejected.class,
                legacy.verify(CLIENT, "DESCRIBE", "rtsp://n/other", legacyAnswer));
    }

    @Test
    void theNonceCountTableIsBoundedAndRefusesRatherThanForgets() {
        DigestAuthenticator a = auth(false, 2);
        for (int i = 0; i < 2; i++) {
            String nonce = nonceOf(a.challenges(CLIENT, false).get(0));
            assertInstanceOf(
                    Outcome.Accepted.class,
                    a.verify(
                            CLIENT,
                            "INVITE",
                            "sip:x",
                            answer(
                                    DigestAlgorithm.MD5,
                                    "bob",
                                    "s3cret",
                                    nonce,
                                    "INVITE",
                                    "sip:x",
                                    "00000001")));
        }
        String third = nonceOf(a.challenges(CLIENT, false).get(0));
        String ans =
                answer(DigestAlgorithm.MD5, "bob", "s3cret", third, "INVITE", "sip:x", "00000001");
        assertInstanceOf(Outcome.Rejected.class, a.verify(CLIENT, "INVITE", "sip:x", ans));
        assertEquals(2, a.trackedNonces());
        now.addAndGet(61_000); // the first two expire and make room
        third = nonceOf(a.challenges(CLIENT, false).get(0));
        ans = answer(DigestAlgorithm.MD5, "bob", "s3cret", third, "INVITE", "sip:x", "00000001");
        assertInstanceOf(Outcome.Accepted.class, a.verify(CLIENT, "INVITE", "sip:x", ans));
        assertEquals(1, a.trackedNonces());
    }

    @Test
    void basicCredentialsAreCheckedAgainstTheStoredHashes() {
        DigestAuthenticator a = auth(false, 10);
        String ok =
                "Basic "
                        + Base64.getEncoder()
                                .encodeToString("bob:s3cret".getBytes(StandardCharsets.UTF_8));
        String bad =
                "Basic "
                        + Base64.getEncoder()
                                .encodeToString("bob:nope".getBytes(StandardCharsets.UTF_8));
        assertEquals(new Outcome.Accepted("bob", DigestAlgorithm.SHA_256), a.verifyBasic(ok));
        assertInstanceOf(Outcome.Rejected.class, a.verifyBasic(bad));
        assertInstanceOf(Outcome.Rejected.class, a.verifyBasic("Basic !!!"));
        assertInstanceOf(
                Outcome.Rejected.class,
                a.verifyBasic(
                        "Basic "
                                + Base64.getEncoder()
                                        .encodeToString(
                                                "nocolon".getBytes(StandardCharsets.UTF_8))));
    }
}
