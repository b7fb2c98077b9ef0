package io.msm.agent.sip.proxy;

import static io.msm.agent.sip.proxy.SipProxyTest.readTcp;
import static io.msm.agent.sip.proxy.SipProxyTest.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.msm.agent.config.ConfigException;
import io.msm.agent.config.ConfigLoader;
import io.msm.agent.config.SipSettings;
import io.msm.agent.media.UserspaceMediaPlane;
import io.msm.agent.net.Transport;
import io.msm.agent.sip.message.HeaderNames;
import io.msm.agent.sip.message.SipMessage;
import io.msm.agent.sip.message.SipRequest;
import io.msm.agent.sip.message.SipResponse;
import io.msm.agent.sip.transport.SipTransports;
import io.msm.agent.sip.transport.TestCerts;
import io.msm.bpf.maps.PortTable;
import io.netty.channel.EventLoopGroup;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIP over TLS through the whole proxy on loopback, with certificates openssl makes for the test:
 * REGISTER and a call whose in-dialog requests come back over TLS, outgoing TLS to a sips: target
 * (verified; an untrusted peer refused), a client that does not trust msm's CA, a plaintext client
 * and a silent one refused without harming other connections, the per-source cap, and a certificate
 * rotated on disk taken without a restart.
 */
class SipTlsTest {
    static final long T = 3000;
    @TempDir static Path certs;
    @TempDir Path dir;

    PrometheusMeterRegistry registry;
    UserspaceMediaPlane plane;
    EventLoopGroup group;
    SipProxy proxy;
    final List<AutoCloseable> closeMe = new ArrayList<>();

    @BeforeAll
    static void makeCertificates() throws Exception {
        TestCerts.ca(certs, "ca");
        TestCerts.ca(certs, "other");
        TestCerts.leaf(certs, "ca", "msm", "ec", "127.0.0.1");
        TestCerts.leaf(certs, "ca", "msm2", "rsa1", "127.0.0.1");
        TestCerts.leaf(certs, "ca", "peer", "ec8", "127.0.0.1");
        TestCerts.leaf(certs, "other", "stranger", "rsa8", "127.0.0.1");
    }

    @AfterEach
    void tearDown() throws Exception {
        Collections.reverse(closeMe);
        for (AutoCloseable c : closeMe) {
            c.close();
        }
        if (proxy != null) {
            proxy.close();
        }
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
        if (plane != null) {
            plane.close();
        }
    }

    /** The proxy with TLS on 127.0.0.1:0, msm's cert/key copied into dir (so a test may rotate). */
    SipProxy start(String tlsExtra) throws Exception {
        Files.copy(
                certs.resolve("msm.crt"),
                dir.resolve("tls.crt"),
                StandardCopyOption.REPLACE_EXISTING);
        Files.copy(
                certs.resolve("msm.key"),
                dir.resolve("tls.key"),
                StandardCopyOption.REPLACE_EXISTING);
        SipSettings s =
                ConfigLoader.parseYaml(
                                "sip:\n  state-file: \"\"\n"
                                        + "  timers: {t1: 50ms, t2: 400ms, t4: 200ms, c: 8s}\n"
                                        // the test UAs' address is trusted, as in SipProxyTest
                                        // (SipPolicyTest covers untrusted sources)
                                        + "  trusted: [127.0.0.1/32]\n"
                                        + "  tls:\n    listen: 127.0.0.1:0\n"
                                        + "    cert: "
                                        + dir.resolve("tls.crt")
                                        + "\n"
                                        + "    key: "
                                        + dir.resolve("tls.key")
                                        + "\n"
                                        + "    ca: "
                                        + certs.resolve("ca.crt")
                                        + "\n"
                                        + tlsExtra,
                                ConfigLoader.Overrides.NONE)
                        .sip();
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        plane = new UserspaceMediaPlane(new PortTable.Range(43000, 43999), 1);
        group = Transport.group(1, "test-sip-tls");
        proxy = new SipProxy(s, new InetSocketAddress(TestUa.LO, 0), plane, registry, group);
        proxy.start();
        return proxy;
    }

    int tlsPort() {
        return proxy.tlsAddress().getPort();
    }

    double refused(String reason) {
        var c = registry.find("msm.refused").tags("protocol", "sip", "reason", reason).counter();
        return c == null ? 0 : c.count();
    }

    SSLSocket client(Path trustedCa) throws Exception {
        SSLContext ctx = TestCerts.trusting(trustedCa);
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", tlsPort());
        SSLParameters p = s.getSSLParameters();
        p.setEndpointIdentificationAlgorithm("HTTPS"); // msm's certificate names 127.0.0.1
        s.setSSLParameters(p);
        s.setSoTimeout((int) T);
        closeMe.add(s);
        return s;
    }

    TestUa ua(String name) throws Exception {
        TestUa u = new TestUa(name, proxy.localAddress());
        closeMe.add(u);
        return u;
    }

    static void write(Socket s, String msg) throws Exception {
        OutputStream o = s.getOutputStream();
        o.write(msg.getBytes(StandardCharsets.UTF_8));
        o.flush();
    }

    String options(Socket s, String callId) {
        return "OPTIONS sip:127.0.0.1:"
                + tlsPort()
                + " SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:"
                + s.getLocalPort()
                + ";branch=z9hG4bK"
                + callId
                + "\r\nMax-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
                + "Call-ID: "
                + callId
                + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    }

    @Test
    void registerAndCallOverTlsWithInDialogRequestsBackOverTls() throws Exception {
        start("");
        TestUa bob = ua("bob");
        bob.send(
                "REGISTER sip:127.0.0.1:"
                        + proxy.localAddress().getPort()
                        + " SIP/2.0\r\n"
                        + bob.via(TestUa.branch())
                        + "Max-Forwards: 70\r\nFrom: <sip:bob@127.0.0.1>;tag=r1\r\nTo: <sip:bob@127.0.0.1>\r\n"
                        + "Call-ID: reg-bob\r\nCSeq: 1 REGISTER\r\nContact: "
                        + bob.contact()
                        + ";expires=60\r\nContent-Length: 0\r\n\r\n");
        bob.expectResponse(200, T);

        SSLSocket alice = client(certs.resolve("ca.crt"));
        int lp = alice.getLocalPort();
        String contact = "<sip:alice@127.0.0.1:" + lp + ";transport=tls>";
        write(
                alice,
                "REGISTER sips:127.0.0.1:"
                        + tlsPort()
                        + " SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:"
                        + lp
                        + ";branch="
                        + TestUa.branch()
                        + "\r\nMax-Forwards: 70\r\nFrom: <sips:alice@127.0.0.1>;tag=r2\r\nTo: <sips:alice@127.0.0.1>\r\n"
                        + "Call-ID: reg-alice\r\nCSeq: 1 REGISTER\r\nContact: "
                        + contact
                        + ";expires=60\r\nContent-Length: 0\r\n\r\n");
        InputStream in = alice.getInputStream();
        assertEquals(200, ((SipResponse) readTcp(in)).status(), "REGISTER over TLS");

        String body =
                "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 41000 RTP/AVP 0\r\n";
        String bobUri = "sip:bob@127.0.0.1:" + proxy.localAddress().getPort();
        write(
                alice,
                "INVITE "
                        + bobUri
                        + " SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:"
                        + lp
                        + ";branch="
                        + TestUa.branch()
                        + "\r\nMax-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=a1\r\nTo: <"
                        + bobUri
                        + ">\r\nCall-ID: tls1\r\nCSeq: 1 INVITE\r\nContact: "
                        + contact
                        + "\r\nContent-Type: application/sdp\r\nContent-Length: "
                        + body.length()
                        + "\r\n\r\n"
                        + body);
        assertEquals(100, ((SipResponse) readTcp(in)).status());
        SipRequest atBob = bob.expectRequest("INVITE", T);
        List<String> rr = atBob.all(HeaderNames.RECORD_ROUTE);
        assertEquals(2, rr.size(), "one Record-Route per transport: " + rr);
        assertTrue(
                rr.get(1).contains("127.0.0.1:" + tlsPort() + ";transport=tls;lr"),
                "the lower one faces alice: msm's TLS port, transport=tls: " + rr);
        assertTrue(atBob.first(HeaderNames.VIA).startsWith("SIP/2.0/UDP"), "UDP towards bob");
        assertTrue(atBob.all(HeaderNames.VIA).get(1).contains("SIP/2.0/TLS"), "alice's Via kept");
        bob.reply(bob.answer(atBob, 200, null, "b1", bob.sdp()));
        SipResponse ok = (SipResponse) readTcp(in);
        assertEquals(200, ok.status(), "the answer over the same TLS connection");

        // bob hangs up: the BYE follows the route set to msm's UDP side and leaves over TLS,
        // on the connection alice opened
        String to = "<sip:alice@127.0.0.1>;tag=a1";
        String from = "<" + bobUri + ">;tag=b1";
        bob.send(
                bob.inDialog(
                        "BYE",
                        "sip:alice@127.0.0.1:" + lp + ";transport=tls",
                        rr,
                        from,
                        to,
                        "tls1",
                        1,
                        null,
                        TestUa.branch()));
        SipMessage bye = readTcp(in);
        assertTrue(bye instanceof SipRequest r && r.is("BYE"), "BYE over TLS: " + bye);
        assertTrue(
                bye.first(HeaderNames.VIA).startsWith("SIP/2.0/TLS 127.0.0.1:" + tlsPort()),
                bye.first(HeaderNames.VIA));
        SipResponse byeOk = SipResponse.to((SipRequest) bye, 200, null, null);
        write(alice, new String(byeOk.encode(), StandardCharsets.UTF_8));
        bob.expectResponse(200, T);
        waitFor(() -> plane.relays().isEmpty(), T, "relays closed");
        assertTrue(proxy.describe().contains("tls 127.0.0.1:" + tlsPort()), proxy.describe());
    }

    /** A TLS server playing the callee, with the given certificate. */
    SSLServerSocket peer(String name) throws Exception {
        var kmf = KeyManagerFactory.getInstance("PKIX");
        var ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        TestCerts.openssl(
                certs,
                "pkcs12",
                "-export",
                "-in",
                name + ".crt",
                "-inkey",
                name + ".key",
                "-out",
                name + ".p12",
                "-passout",
                "pass:x");
        try (InputStream i = Files.newInputStream(certs.resolve(name + ".p12"))) {
            ks.load(i, "x".toCharArray());
        }
        kmf.init(ks, "x".toCharArray());
        SSLContext c = SSLContext.getInstance("TLS");
        c.init(kmf.getKeyManagers(), null, null);
        SSLServerSocket ss =
                (SSLServerSocket) c.getServerSocketFactory().createServerSocket(0, 5, TestUa.LO);
        ss.setSoTimeout((int) T);
        closeMe.add(ss);
        return ss;
    }

    @Test
    void forwardsToASipsTargetOverVerifiedTlsAndRefusesAnUntrustedPeer() throws Exception {
        start("");
        TestUa alice = ua("alice");
        SSLServerSocket good = peer("peer");
        String target = "sips:bob@127.0.0.1:" + good.getLocalPort();
        alice.send(alice.invite("out1", "a1", target, alice.sdp(), TestUa.branch(), 1));
        alice.expectResponse(100, T);
        try (SSLSocket s = (SSLSocket) good.accept()) {
            s.setSoTimeout((int) T);
            SipRequest inv = (SipRequest) readTcp(s.getInputStream());
            assertTrue(
                    inv.first(HeaderNames.VIA).startsWith("SIP/2.0/TLS 127.0.0.1:" + tlsPort()),
                    inv.first(HeaderNames.VIA));
            assertTrue(
                    inv.first(HeaderNames.RECORD_ROUTE)
                            .startsWith("<sips:127.0.0.1:" + tlsPort() + ";lr"),
                    "sips: Record-Route for a sips: request: " + inv.all(HeaderNames.RECORD_ROUTE));
            write(
                    s,
                    new String(
                            SipResponse.to(inv, 486, null, "x").encode(), StandardCharsets.UTF_8));
            alice.expectResponse(486, T);
        }

        SSLServerSocket bad = peer("stranger"); // its CA is not sip.tls.ca
        Thread t =
                new Thread(
                        () -> {
                            try (Socket s = bad.accept()) {
                                s.getInputStream().read();
                            } catch (Exception e) {
                                // the handshake fails: expected
                            }
                        });
        t.start();
        alice.send(
                alice.invite(
                        "out2",
                        "a2",
                        "sips:bob@127.0.0.1:" + bad.getLocalPort(),
                        alice.sdp(),
                        TestUa.branch(),
                        1));
        alice.expectResponse(100, T);
        SipResponse r = alice.expectResponse(503, T);
        assertTrue(
                String.valueOf(r.first("Warning")).contains("tls:127.0.0.1:" + bad.getLocalPort()),
                String.valueOf(r.first("Warning")));
        t.join(T);
    }

    @Test
    void aClientThatDoesNotTrustMsmsCaIsRefusedOthersAreServed() throws Exception {
        start("");
        SSLSocket wrong = client(certs.resolve("other.crt"));
        assertThrows(SSLException.class, () -> write(wrong, options(wrong, "w1")));
        waitFor(
                () -> refused(SipTransports.TLS_HANDSHAKE) >= 1,
                T,
                "counted as a failed handshake");
        SSLSocket right = client(certs.resolve("ca.crt"));
        write(right, options(right, "r1"));
        assertEquals(200, ((SipResponse) readTcp(right.getInputStream())).status());
    }

    @Test
    void plaintextAndSilentClientsAreClosedWithoutHarmingOthers() throws Exception {
        start("    handshake-timeout: 300ms\n    first-message-timeout: 600ms\n");
        SSLSocket good = client(certs.resolve("ca.crt"));
        write(good, options(good, "g1"));
        assertEquals(200, ((SipResponse) readTcp(good.getInputStream())).status());

        try (Socket plain = new Socket(TestUa.LO, tlsPort())) {
            plain.setSoTimeout((int) T);
            write(plain, options(plain, "p1"));
            assertEquals(-1, readOrEof(plain), "plaintext: closed");
        }
        waitFor(() -> refused(SipTransports.TLS_HANDSHAKE) >= 1, T, "plaintext counted");

        long t0 = System.nanoTime();
        try (Socket silent = new Socket(TestUa.LO, tlsPort())) {
            silent.setSoTimeout((int) T);
            assertEquals(-1, readOrEof(silent), "no handshake: closed");
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(
                ms >= 250 && ms < 2000, "closed at the handshake deadline (300 ms): " + ms + " ms");
        waitFor(
                () -> refused(SipTransports.TLS_HANDSHAKE_TIMEOUT) == 1,
                T,
                "counted as a handshake timeout");

        SSLSocket mute = client(certs.resolve("ca.crt"));
        mute.startHandshake();
        t0 = System.nanoTime();
        assertEquals(-1, readOrEof(mute), "handshake but no message: closed");
        ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms < 2000, "closed at the first-message deadline (600 ms): " + ms + " ms");
        waitFor(() -> refused(SipTransports.FIRST_MESSAGE_TIMEOUT) == 1, T, "counted");

        write(good, options(good, "g2")); // the first connection is still served
        assertEquals(200, ((SipResponse) readTcp(good.getInputStream())).status());
    }

    static int readOrEof(Socket s) {
        try {
            return s.getInputStream().read();
        } catch (SocketTimeoutException e) {
            return -2;
        } catch (Exception e) {
            return -1; // reset or TLS closed: gone too
        }
    }

    @Test
    void perSourceConnectionCap() throws Exception {
        start("    connections-per-source: 2\n");
        SSLSocket a = client(certs.resolve("ca.crt"));
        SSLSocket b = client(certs.resolve("ca.crt"));
        a.startHandshake();
        b.startHandshake();
        try (Socket third = new Socket(TestUa.LO, tlsPort())) {
            third.setSoTimeout((int) T);
            assertEquals(-1, readOrEof(third), "a third connection from the same source: closed");
        }
        waitFor(() -> refused("connections_per_source") == 1, T, "counted per source");
        write(a, options(a, "c1"));
        assertEquals(200, ((SipResponse) readTcp(a.getInputStream())).status());
        b.close();
        waitFor(
                () -> {
                    try (SSLSocket c = client(certs.resolve("ca.crt"))) {
                        write(c, options(c, "c2"));
                        return ((SipResponse) readTcp(c.getInputStream())).status() == 200;
                    } catch (Exception e) {
                        return false;
                    }
                },
                T,
                "a slot free again once one closed");
    }

    @Test
    void aRotatedCertificateIsTakenWithoutARestart() throws Exception {
        start("    reload: 100ms\n");
        SSLSocket first = client(certs.resolve("ca.crt"));
        first.startHandshake();
        assertEquals("CN=msm", leafOf(first));
        // a half-done rotation (new key, old cert) is not taken
        Files.copy(
                certs.resolve("msm2.key"),
                dir.resolve("tls.key"),
                StandardCopyOption.REPLACE_EXISTING);
        Thread.sleep(400);
        assertEquals(0, proxy.transports().tlsReloads(), "a key that does not fit is not taken");
        SSLSocket between = client(certs.resolve("ca.crt"));
        between.startHandshake();
        assertEquals("CN=msm", leafOf(between), "the old certificate still served");
        Files.copy(
                certs.resolve("msm2.crt"),
                dir.resolve("tls.crt"),
                StandardCopyOption.REPLACE_EXISTING);
        waitFor(() -> proxy.transports().tlsReloads() == 1, T, "reloaded");
        SSLSocket second = client(certs.resolve("ca.crt"));
        second.startHandshake();
        assertEquals("CN=msm2", leafOf(second), "new connections get the new certificate");
        write(first, options(first, "old1")); // the open connection keeps working
        assertEquals(200, ((SipResponse) readTcp(first.getInputStream())).status());
    }

    static String leafOf(SSLSocket s) throws Exception {
        return ((X509Certificate) s.getSession().getPeerCertificates()[0])
                .getSubjectX500Principal()
                .getName();
    }

    @Test
    void aMissingOrBadPemStopsTheStartNamingItsField() throws Exception {
        SipSettings base =
                ConfigLoader.parseYaml(
                                "sip:\n  state-file: \"\"\n  tls:\n    listen: 127.0.0.1:0\n"
                                        + "    cert: "
                                        + dir.resolve("none.crt")
                                        + "\n"
                                        + "    key: "
                                        + certs.resolve("msm.key")
                                        + "\n",
                                ConfigLoader.Overrides.NONE)
                        .sip();
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        plane = new UserspaceMediaPlane(new PortTable.Range(43000, 43999), 1);
        group = Transport.group(1, "test-sip-tls");
        SipProxy p =
                new SipProxy(base, new InetSocketAddress(TestUa.LO, 0), plane, registry, group);
        ConfigException e = assertThrows(ConfigException.class, p::start);
        assertEquals("sip.tls.cert", e.field());
        assertTrue(e.reason().contains("cannot read"), e.reason());
        SipSettings wrongKey =
                base.withTls(
                        new SipSettings.Tls(
                                base.tls().listen(),
                                certs.resolve("msm.crt"),
                                certs.resolve("peer.key"),
                                null,
                                true,
                                base.tls().handshakeTimeout(),
                                base.tls().firstMessageTimeout(),
                                32,
                                1024,
                                base.tls().reload()));
        SipProxy q =
                new SipProxy(wrongKey, new InetSocketAddress(TestUa.LO, 0), plane, registry, group);
        e = assertThrows(ConfigException.class, q::start);
        assertEquals("sip.tls.key", e.field());
        assertTrue(e.reason().contains("does not belong"), e.reason());
        ConfigException c =
                assertThrows(
                        ConfigException.class,
                        () ->
                                ConfigLoader.parseYaml(
                                        "sip:\n  tls:\n    listen: 127.0.0.1:5061\n",
                                        ConfigLoader.Overrides.NONE));
        assertEquals("sip.tls.cert", c.field());
    }
}
