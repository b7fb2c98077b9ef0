package io.msm.agent.rtsp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.auth.Credentials;
import io.msm.agent.config.HostPort;
import io.msm.agent.config.RtspSettings;
import io.msm.agent.config.RtspSettings.Permission;
import io.msm.agent.config.RtspSettings.Rules;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * RTSPS on loopback: a listener of its own with a self-signed certificate made by openssl, RTP
 * interleaved on the TLS connection, Basic credentials taken there (not over plain RTSP), and the
 * certificate read again when its files change.
 */
@Timeout(60)
class RtspsTest {
    final RtspServerTest h = new RtspServerTest();
    @TempDir Path dir;

    @AfterEach
    void tearDown() throws Exception {
        h.tearDown();
    }

    /** A self-signed EC certificate and its PKCS#8 key, made by openssl. */
    static void selfSigned(Path cert, Path key, String cn) throws Exception {
        Process p;
        try {
            p =
                    new ProcessBuilder(
                                    "openssl",
                                    "req",
                                    "-x509",
                                    "-newkey",
                                    "ec",
                                    "-pkeyopt",
                                    "ec_paramgen_curve:prime256v1",
                                    "-nodes",
                                    "-days",
                                    "1",
                                    "-subj",
                                    "/CN=" + cn,
                                    "-keyout",
                                    key.toString(),
                                    "-out",
                                    cert.toString())
                            .redirectErrorStream(true)
                            .start();
        } catch (IOException e) {
            // make deps installs openssl (DEPS_RUN); a missing one fails, as in the SIP TLS tests
            throw new AssertionError("openssl is not installed: run 'make deps'", e);
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0, out);
    }

    static SSLSocket connect(RtspServer srv) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(
                null,
                new TrustManager[] {
                    new X509TrustManager() {
                        @Override
                        public void checkClientTrusted(X509Certificate[] c, String a) {}

                        @Override
                        public void checkServerTrusted(X509Certificate[] c, String a) {}

                        @Override
                        public X509Certificate[] getAcceptedIssuers() {
                            return new X509Certificate[0];
                        }
                    }
                },
                new SecureRandom());
        SSLSocket s =
                (SSLSocket)
                        ctx.getSocketFactory()
                                .createSocket(
                                        srv.tlsAddress().getAddress(), srv.tlsAddress().getPort());
        s.setSoTimeout(5000);
        s.startHandshake();
        return s;
    }

    static String subject(SSLSocket s) throws Exception {
        return ((X509Certificate) s.getSession().getPeerCertificates()[0])
                .getSubjectX500Principal()
                .getName();
    }

    @Test
    void rtspsServesInterleavedMediaTakesBasicAndReloadsItsCertificate() throws Exception {
        Path cert = dir.resolve("tls.crt");
        Path key = dir.resolve("tls.key");
        selfSigned(cert, key, "first");
        Path users = dir.resolve("users");
        Files.write(users, Credentials.lines("viewer", "msm", "viewpass"), StandardCharsets.UTF_8);
        RtspSettings.Auth auth =
                RtspServerTest.LOOPBACK_PUBLISHES
                        .withUsers(users, RtspSettings.BasicAuth.TLS)
                        .withPath(
                                "cam",
                                new Rules(
                                        Permission.from("127.0.0.0/8"),
                                        new Permission(Permission.ANYWHERE, List.of("viewer"))));
        RtspServer srv =
                h.server(
                        RtspServerTest.settings(
                                        Duration.ofSeconds(30),
                                        100,
                                        Duration.ZERO,
                                        Map.of(
                                                "cam",
                                                new RtspSettings.PathSource(
                                                        "cam",
                                                        RtspSettings.PathSource.Kind.PUBLISH,
                                                        null)))
                                .with(auth)
                                .with(
                                        new RtspSettings.Tls(
                                                new HostPort(InetAddress.getLoopbackAddress(), 0),
                                                cert,
                                                key)));
        RtspServerTest.Publisher pub = h.publish(srv, "cam"); // over plain RTSP
        try (SSLSocket s = connect(srv)) {
            h.closers.add(s);
            assertTrue(subject(s).contains("CN=first"));
            String base = "rtsp://127.0.0.1:" + srv.tlsAddress().getPort() + "/cam";
            String r = RtspServerTest.exchange(s, "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n");
            assertTrue(r.startsWith("RTSP/1.0 200"), r);
            r = RtspServerTest.exchange(s, "DESCRIBE " + base + " RTSP/1.0\r\nCSeq: 2\r\n\r\n");
            assertTrue(r.startsWith("RTSP/1.0 401"), r);
            assertTrue(
                    r.contains("WWW-Authenticate: Basic realm=\"msm\""),
                    "Basic offered over TLS: " + r);
            String basic =
                    "Authorization: Basic "
                            + Base64.getEncoder()
                                    .encodeToString(
                                            "viewer:viewpass".getBytes(StandardCharsets.UTF_8))
                            + "\r\n";
            r =
                    RtspServerTest.exchange(
                            s, "DESCRIBE " + base + " RTSP/1.0\r\nCSeq: 3\r\n" + basic + "\r\n");
            assertTrue(r.startsWith("RTSP/1.0 200"), r);
            r =
                    RtspServerTest.exchange(
                            s,
                            "SETUP "
                                    + base
                                    + "/trackID=0 RTSP/1.0\r\nCSeq: 4\r\n"
                                    + basic
                                    + "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n");
            assertTrue(r.startsWith("RTSP/1.0 200"), r);
            String session = r.replaceAll("(?s).*Session: ([0-9a-f]+).*", "$1");
            r =
                    RtspServerTest.exchange(
                            s,
                            "PLAY "
                                    + base
                                    + " RTSP/1.0\r\nCSeq: 5\r\nSession: "
                                    + session
                                    + "\r\n\r\n");
            assertTrue(r.startsWith("RTSP/1.0 200"), r);
            pub.send(0, 3);
            DataInputStream in = new DataInputStream(s.getInputStream());
            for (int i = 0; i < 3; i++) {
                assertEquals('$', in.readUnsignedByte(), "RTP interleaved on the TLS connection");
                assertEquals(0, in.readUnsignedByte());
                int len = in.readUnsignedShort();
                assertEquals(Rtp.packet(i, 0xAB, 200).length, in.readNBytes(len).length);
            }
        }

        // a new certificate: new connections get it within the reload period
        Path cert2 = dir.resolve("tls2.crt");
        Path key2 = dir.resolve("tls2.key");
        selfSigned(cert2, key2, "second");
        Thread.sleep(1100); // a later modification time
        Files.copy(key2, key, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(cert2, cert, StandardCopyOption.REPLACE_EXISTING);
        RtspServerTest.waitFor(
                () -> {
                    try (SSLSocket s = connect(srv)) {
                        return subject(s).contains("CN=second");
                    } catch (Exception e) {
                        return false;
                    }
                },
                12_000,
                "the new certificate in use");
    }
}
