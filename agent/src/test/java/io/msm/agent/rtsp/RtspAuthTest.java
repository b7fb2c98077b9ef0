package io.msm.agent.rtsp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.auth.AuthHeader;
import io.msm.agent.auth.Credentials;
import io.msm.agent.auth.DigestAlgorithm;
import io.msm.agent.auth.DigestAuthenticator;
import io.msm.agent.config.RtspSettings;
import io.msm.agent.config.RtspSettings.Permission;
import io.msm.agent.config.RtspSettings.Rules;
import io.msm.agent.rtsp.wire.RtspHeaders;
import io.msm.agent.rtsp.wire.RtspResponse;
import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Who may publish and read, on loopback: Digest as ffmpeg (qop=auth) and GStreamer/live555 (RFC
 * 2069, no qop) answer it, Basic only over RTSPS, per-path publish and read permissions with users
 * and CIDR allow-lists, the lock-out, and a pulled upstream that challenges the proxy.
 */
@Timeout(60)
class RtspAuthTest {
    static final InetAddress OTHER = RtspLimitsTest.OTHER;
    static final InetAddress LOCAL = InetAddress.getLoopbackAddress();

    final RtspServerTest h = new RtspServerTest();
    @TempDir Path dir;

    @AfterEach
    void tearDown() throws Exception {
        h.tearDown();
    }

    /** cam: published by user cam, read by any user; lobby: read from 127.0.0.1 only. */
    RtspServer server() throws Exception {
        Path users = dir.resolve("users");
        List<String> lines = new ArrayList<>();
        lines.addAll(Credentials.lines("cam", "msm", "campass"));
        lines.addAll(Credentials.lines("viewer", "msm", "viewpass"));
        Files.write(users, lines, StandardCharsets.UTF_8);
        RtspSettings.Auth auth =
                RtspSettings.Auth.OPEN_READ
                        .withUsers(users, RtspSettings.BasicAuth.TLS)
                        .withPath(
                                "cam",
                                new Rules(
                                        new Permission(Permission.ANYWHERE, List.of("cam")),
                                        new Permission(Permission.ANYWHERE, List.of("*"))))
                        .withPath(
                                "lobby",
                                new Rules(
                                        Permission.from("127.0.0.1/32"),
                                        Permission.from("127.0.0.1/32")));
        Map<String, RtspSettings.PathSource> paths =
                Map.of(
                        "cam",
                        new RtspSettings.PathSource(
                                "cam", RtspSettings.PathSource.Kind.PUBLISH, null),
                        "lobby",
                        new RtspSettings.PathSource(
                                "lobby", RtspSettings.PathSource.Kind.PUBLISH, null));
        return h.server(
                RtspServerTest.settings(Duration.ofSeconds(30), 100, Duration.ZERO, paths)
                        .with(auth));
    }

    /** How a row's client answers the challenge. */
    enum Answer {
        NONE,
        /** RtspClient's own: Digest with qop=auth, as ffmpeg */
        DIGEST,
        /** RFC 2069 (no qop, nc, cnonce), as GStreamer and live555 */
        RFC2069,
        BASIC
    }

    static Stream<Arguments> requests() {
        return Stream.of(
                Arguments.of(
                        "read without credentials: 401 and challenges",
                        "DESCRIBE",
                        "cam",
                        Answer.NONE,
                        "viewer",
                        "viewpass",
                        401,
                        "credentials needed"),
                Arguments.of(
                        "read with Digest qop=auth (ffmpeg)",
                        "DESCRIBE",
                        "cam",
                        Answer.DIGEST,
                        "viewer",
                        "viewpass",
                        404,
                        "nothing is published"),
                Arguments.of(
                        "read with RFC 2069 Digest (GStreamer, VLC)",
                        "DESCRIBE",
                        "cam",
                        Answer.RFC2069,
                        "viewer",
                        "viewpass",
                        404,
                        "nothing is published"),
                Arguments.of(
                        "wrong password: 401",
                        "DESCRIBE",
                        "cam",
                        Answer.DIGEST,
                        "viewer",
                        "nope",
                        401,
                        "wrong password"),
                Arguments.of(
                        "unknown user: 401",
                        "DESCRIBE",
                        "cam",
                        Answer.RFC2069,
                        "mallory",
                        "x",
                        401,
                        "unknown user"),
                Arguments.of(
                        "Basic over plain RTSP: refused (it carries the password)",
                        "DESCRIBE",
                        "cam",
                        Answer.BASIC,
                        "viewer",
                        "viewpass",
                        401,
                        "only over RTSPS"),
                Arguments.of(
                        "publish as a user without the permission: 403",
                        "ANNOUNCE",
                        "cam",
                        Answer.DIGEST,
                        "viewer",
                        "viewpass",
                        403,
                        "viewer may not publish"),
                Arguments.of(
                        "publish as the path's publisher",
                        "ANNOUNCE",
                        "cam",
                        Answer.DIGEST,
                        "cam",
                        "campass",
                        200,
                        null),
                Arguments.of(
                        "publish an unconfigured path: nobody may by default, 403",
                        "ANNOUNCE",
                        "elsewhere",
                        Answer.DIGEST,
                        "cam",
                        "campass",
                        403,
                        "may not publish"),
                Arguments.of(
                        "read from outside the path's allow-list: 403",
                        "DESCRIBE",
                        "lobby",
                        Answer.NONE,
                        null,
                        null,
                        403,
                        "may not read"),
                Arguments.of(
                        "read an unconfigured path: anyone may by default",
                        "DESCRIBE",
                        "elsewhere",
                        Answer.NONE,
                        null,
                        null,
                        404,
                        "no path"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("requests")
    void requestsNeedTheirPermission(
            String name,
            String method,
            String path,
            Answer answer,
            String user,
            String password,
            int status,
            String reason)
            throws Exception {
        RtspServer srv = server();
        RtspTestClient c =
                new RtspTestClient(
                        srv.address(),
                        path,
                        OTHER,
                        answer == Answer.DIGEST ? user : null,
                        password);
        h.closers.add(c);
        RtspResponse r = send(c, method, c.base, null);
        if (answer == Answer.RFC2069 || answer == Answer.BASIC) {
            assertEquals(401, r.status());
            r = send(c, method, c.base, answerTo(r, answer, method, c.base, user, password));
        }
        assertEquals(status, r.status(), name + ": " + r.headers().getOrNull("X-Reason"));
        if (reason != null) {
            assertTrue(
                    r.headers().getOrNull("X-Reason").contains(reason),
                    r.headers().getOrNull("X-Reason"));
        }
        if (status == 401) {
            List<String> ch = challenges(r);
            assertTrue(ch.stream().anyMatch(x -> x.contains("algorithm=SHA-256")), ch.toString());
            assertTrue(ch.stream().anyMatch(x -> x.contains("algorithm=MD5")), ch.toString());
            assertFalse(
                    ch.stream().anyMatch(x -> x.startsWith("Basic")),
                    "no Basic offered over plain RTSP: " + ch);
        }
    }

    static RtspResponse send(RtspTestClient c, String method, String uri, String authorization)
            throws Exception {
        List<String> hs = new ArrayList<>();
        if (authorization != null) {
            hs.add("Authorization");
            hs.add(authorization);
        }
        if (method.equals("ANNOUNCE")) {
            hs.add("Content-Type");
            hs.add("application/sdp");
            return c.sendBody(method, uri, RtspServerTest.SDP, hs.toArray(String[]::new));
        }
        return c.send(method, uri, hs.toArray(String[]::new));
    }

    static List<String> challenges(RtspResponse r) {
        return r.headers().fields().stream()
                .filter(f -> f.name().equalsIgnoreCase("WWW-Authenticate"))
                .map(RtspHeaders.Field::value)
                .toList();
    }

    /** An Authorization as GStreamer (RFC 2069 MD5) or a Basic client would send it. */
    static String answerTo(
            RtspResponse r, Answer a, String method, String uri, String user, String password) {
        if (a == Answer.BASIC) {
            return "Basic "
                    + Base64.getEncoder()
                            .encodeToString(
                                    (user + ":" + password).getBytes(StandardCharsets.UTF_8));
        }
        AuthHeader md5 =
                challenges(r).stream()
                        .map(AuthHeader::parse)
                        .filter(x -> "MD5".equals(x.param("algorithm")))
                        .findFirst()
                        .orElseThrow();
        String nonce = md5.param("nonce");
        String realm = md5.param("realm");
        String resp =
                DigestAuthenticator.response(
                        DigestAlgorithm.MD5,
                        DigestAlgorithm.MD5.ha1(user, realm, password),
                        nonce,
                        null,
                        null,
                        null,
                        method,
                        uri);
        return "Digest username=\""
                + user
                + "\", realm=\""
                + realm
                + "\", nonce=\""
                + nonce
                + "\", uri=\""
                + uri
                + "\", response=\""
                + resp
                + "\"";
    }

    @Test
    void aPublisherAndAViewerWithDigestCredentialsStreamEndToEnd() throws Exception {
        RtspServer srv = server();
        RtspTestClient pub = new RtspTestClient(srv.address(), "cam", OTHER, "cam", "campass");
        h.closers.add(pub);
        assertEquals(200, send(pub, "ANNOUNCE", pub.base, null).status());
        assertEquals(
                200,
                pub.send(
                                "SETUP",
                                pub.base + "/streamid=0",
                                "Transport",
                                "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record")
                        .status());
        assertEquals(200, pub.send("RECORD", pub.base).status());
        RtspTestClient v = new RtspTestClient(srv.address(), "cam", OTHER, "viewer", "viewpass");
        h.closers.add(v);
        assertEquals(200, v.send("DESCRIBE", v.base).status());
        assertEquals(
                200,
                v.send(
                                "SETUP",
                                v.base + "/trackID=0",
                                "Transport",
                                "RTP/AVP/TCP;unicast;interleaved=0-1")
                        .status());
        assertEquals(200, v.send("PLAY", v.base).status());
        assertTrue(
                h.registry.find("msm.refused").tag("reason", "unauthorized").counter().count() >= 2,
                "each first request was challenged and counted");
    }

    @Test
    void repeatedFailuresLockTheSourceOut() throws Exception {
        RtspServer srv = server();
        RtspTestClient c = new RtspTestClient(srv.address(), "cam", OTHER, null, null);
        h.closers.add(c);
        RtspResponse r = c.send("DESCRIBE", c.base);
        for (int i = 0; i < 10; i++) {
            r =
                    send(
                            c,
                            "DESCRIBE",
                            c.base,
                            answerTo(r, Answer.RFC2069, "DESCRIBE", c.base, "viewer", "guess" + i));
            assertEquals(401, r.status());
        }
        RtspResponse locked =
                send(
                        c,
                        "DESCRIBE",
                        c.base,
                        answerTo(r, Answer.RFC2069, "DESCRIBE", c.base, "viewer", "viewpass"));
        assertEquals(403, locked.status(), "even the right password, while locked out");
        assertTrue(locked.headers().getOrNull("X-Reason").contains("failed logins"));
        RtspTestClient other =
                new RtspTestClient(srv.address(), "cam", LOCAL, "viewer", "viewpass");
        h.closers.add(other);
        assertEquals(404, other.send("DESCRIBE", other.base).status(), "another source logs in");
    }

    @Test
    void publishingNeedsAPermissionByDefault() throws Exception {
        RtspServer srv =
                h.server(
                        RtspServerTest.settings(
                                        Duration.ofSeconds(30), 100, Duration.ZERO, Map.of())
                                .with(RtspSettings.Auth.OPEN_READ));
        RtspTestClient c = h.client(srv, "cam");
        RtspResponse r = send(c, "ANNOUNCE", c.base, null);
        assertEquals(403, r.status());
        assertTrue(r.headers().getOrNull("X-Reason").contains("may not publish"));
    }

    @Test
    void aPulledUpstreamsChallengeIsAnsweredFromTheCredentialsFile() throws Exception {
        RtspServer origin = server();
        // the camera publishes to the origin with its credentials
        RtspTestClient pub = new RtspTestClient(origin.address(), "cam", OTHER, "cam", "campass");
        h.closers.add(pub);
        assertEquals(200, send(pub, "ANNOUNCE", pub.base, null).status());
        assertEquals(
                200,
                pub.send(
                                "SETUP",
                                pub.base + "/streamid=0",
                                "Transport",
                                "RTP/AVP;unicast;client_port=5000-5001;mode=record")
                        .status());
        assertEquals(200, pub.send("RECORD", pub.base).status());
        String url = "rtsp://127.0.0.1:" + origin.address().getPort() + "/cam";
        Path creds = dir.resolve("upstreams");
        Files.writeString(creds, "# URL-prefix user:password\n" + url + " viewer:viewpass\n");
        RtspSettings.Auth auth = RtspServerTest.LOOPBACK_PUBLISHES.withUpstreamCredentials(creds);
        RtspServer proxy =
                h.server(
                        RtspServerTest.settings(
                                        Duration.ofSeconds(30),
                                        100,
                                        Duration.ofSeconds(2),
                                        Map.of(
                                                "door",
                                                new RtspSettings.PathSource(
                                                        "door",
                                                        RtspSettings.PathSource.Kind.PULL,
                                                        URI.create(url))))
                                .with(auth));
        RtspTestClient v = h.client(proxy, "door");
        RtspResponse d = v.send("DESCRIBE", v.base);
        assertEquals(200, d.status(), d.headers().getOrNull("X-Reason"));

        // without the file's line the upstream's 401 is the viewer's 502
        Files.writeString(creds, "rtsp://elsewhere/ a:b\n");
        RtspServer proxy2 =
                h.server(
                        RtspServerTest.settings(
                                        Duration.ofSeconds(30),
                                        100,
                                        Duration.ofSeconds(2),
                                        Map.of(
                                                "door",
                                                new RtspSettings.PathSource(
                                                        "door",
                                                        RtspSettings.PathSource.Kind.PULL,
                                                        URI.create(url))))
                                .with(auth));
        RtspTestClient v2 = h.client(proxy2, "door");
        RtspResponse d2 = v2.send("DESCRIBE", v2.base);
        assertEquals(502, d2.status(), d2.headers().getOrNull("X-Reason"));
        assertFalse(d2.headers().getOrNull("X-Reason").contains("viewpass"));
    }
}
