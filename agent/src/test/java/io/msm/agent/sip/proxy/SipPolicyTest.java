package io.msm.agent.sip.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.auth.AuthHeader;
import io.msm.agent.auth.Credentials;
import io.msm.agent.auth.DigestAlgorithm;
import io.msm.agent.auth.DigestAuthenticator;
import io.msm.agent.identity.Identities;
import io.msm.agent.identity.IdentityLookup;
import io.msm.agent.media.MediaAdmission;
import io.msm.agent.sip.message.HeaderNames;
import io.msm.agent.sip.message.SipMessage;
import io.msm.agent.sip.message.SipRequest;
import io.msm.agent.sip.message.SipResponse;
import io.msm.agent.sip.proxy.SipProxyTest.Established;
import io.msm.agent.sip.transport.TestCerts;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * No open relay (issue 12): the proxy on loopback with nobody trusted, users in a users file, and
 * parties on different loopback addresses (127.0.0.2 bob, 127.0.0.3 alice, 127.0.0.5 a stranger,
 * 127.0.0.9 a target msm must not be made to call) — each address is a source of its own.
 */
class SipPolicyTest {
    static final long T = SipProxyTest.T;
    static final InetAddress BOB = addr("127.0.0.2");
    static final InetAddress ALICE = addr("127.0.0.3");
    static final InetAddress OTHER = addr("127.0.0.4");
    static final InetAddress STRANGER = addr("127.0.0.5");
    static final InetAddress VICTIM = addr("127.0.0.9");

    final SipProxyTest h = new SipProxyTest();
    Path users;

    static InetAddress addr(String a) {
        try {
            return InetAddress.getByName(a);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @BeforeEach
    void setUp() throws Exception {
        h.setUp();
        users = Files.createTempFile("msm-sip-users", "");
        List<String> lines = new ArrayList<>(Credentials.lines("bob", "msm", "bob-secret"));
        lines.addAll(Credentials.lines("alice", "msm", "alice-secret"));
        Files.write(users, lines, StandardCharsets.UTF_8);
    }

    @AfterEach
    void tearDown() throws Exception {
        h.tearDown();
        Files.deleteIfExists(users);
    }

    /** Nobody trusted, the users file, and whatever a test adds. */
    SipProxy start(String extra) throws Exception {
        return h.start(
                "  trusted: []\n"
                        + (extra.contains("users-file") ? "" : "  users-file: " + users + "\n")
                        + extra);
    }

    TestUa ua(String name, InetAddress at) throws Exception {
        TestUa u = new TestUa(name, h.proxy.localAddress(), at);
        h.closeMe.add(u);
        return u;
    }

    double refused(String reason) {
        double v = h.metric("msm_refused_total", "protocol", "sip", "reason", reason);
        return Double.isNaN(v) ? 0 : v;
    }

    int port() {
        return h.proxy.localAddress().getPort();
    }

    // ------------------------------------------------------------------ Digest, as a UA answers

    /** The Authorization value answering {@code challenge} (its first offer of {@code alg}). */
    static String answer(
            SipResponse challenge,
            String header,
            DigestAlgorithm alg,
            String user,
            String password,
            String method,
            String uri,
            int nc) {
        for (String c : challenge.all(header)) {
            AuthHeader a = AuthHeader.parse(c);
            if (!DigestAlgorithm.byToken(a.param("algorithm")).equals(alg)) {
                continue;
            }
            String realm = a.param("realm");
            String nonce = a.param("nonce");
            String ncs = String.format("%08x", nc);
            String cnonce = "c" + nc;
            String resp =
                    DigestAuthenticator.response(
                            alg,
                            alg.ha1(user, realm, password),
                            nonce,
                            ncs,
                            cnonce,
                            "auth",
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
                    + "\", algorithm="
                    + alg.token()
                    + ", qop=auth, nc="
                    + ncs
                    + ", cnonce=\""
                    + cnonce
                    + "\"";
        }
        throw new AssertionError("no " + alg + " challenge in " + challenge);
    }

    String register(TestUa u, String aor, String contact, int expires, String authz, int cseq)
            throws Exception {
        return "REGISTER sip:127.0.0.1:"
                + port()
                + " SIP/2.0\r\n"
                + u.via(TestUa.branch())
                + "Max-Forwards: 70\r\nFrom: <sip:"
                + aor
                + "@127.0.0.1>;tag=r"
                + cseq
                + "\r\nTo: <sip:"
                + aor
                + "@127.0.0.1>\r\nCall-ID: reg-"
                + u.user
                + "-"
                + aor
                + "\r\nCSeq: "
                + cseq
                + " REGISTER\r\nContact: "
                + contact
                + "\r\nExpires: "
                + expires
                + "\r\n"
                + (authz == null ? "" : "Authorization: " + authz + "\r\n")
                + "Content-Length: 0\r\n\r\n";
    }

    /**
     * REGISTER for {@code aor} by {@code u} with user/password: challenged, answered; the final
     * response.
     */
    SipResponse registerAs(
            TestUa u,
            String aor,
            String contact,
            int expires,
            String user,
            String password,
            DigestAlgorithm alg)
            throws Exception {
        u.send(register(u, aor, contact, expires, null, 1));
        SipResponse c = u.expectResponse(401, T);
        String uri = "sip:127.0.0.1:" + port();
        u.send(
                register(
                        u,
                        aor,
                        contact,
                        expires,
                        answer(c, "WWW-Authenticate", alg, user, password, "REGISTER", uri, 1),
                        2));
        return (SipResponse)
                u.expect(m -> m instanceof SipResponse r && r.status() >= 200, "final", T);
    }

    TestUa registeredBob() throws Exception {
        TestUa bob = ua("bob", BOB);
        SipResponse r =
                registerAs(
                        bob,
                        "bob",
                        bob.contact(),
                        60,
                        "bob",
                        "bob-secret",
                        DigestAlgorithm.SHA_256);
        assertEquals(200, r.status(), "bob registers with his password: " + r);
        return bob;
    }

    /** Whether the proxy closed the connection (FIN or RST) — without waiting for more. */
    static boolean closedByPeer(Socket s) throws Exception {
        s.setSoTimeout(1);
        try {
            return s.getInputStream().read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    // ------------------------------------------------------------------ tests

    @Test
    void aPodWhoseWorkloadIdentityIsTrustedRoutesLikeATrustedSource() throws Exception {
        start("  trusted-identities: ['spiffe://cluster.local/ns/pbx/sa/*']\n");
        Map<InetAddress, Integer> ids = Map.of(ALICE, 1, STRANGER, 2);
        Map<Integer, String> names =
                Map.of(
                        1, "spiffe://cluster.local/ns/pbx/sa/asterisk",
                        2, "spiffe://cluster.local/ns/lab/sa/softphone");
        h.proxy
                .admission()
                .identities(
                        new IdentityLookup() {
                            @Override
                            public int identityOf(InetAddress a) {
                                return ids.getOrDefault(a, Identities.WORLD);
                            }

                            @Override
                            public Optional<String> nameOf(int id) {
                                return Optional.ofNullable(names.get(id));
                            }
                        });
        TestUa victim = ua("victim", VICTIM);
        String uri = "sip:+19005550100@" + VICTIM.getHostAddress() + ":" + victim.sipPort();
        // a pod of another namespace is no more trusted than a stranger
        TestUa other = ua("softphone", STRANGER);
        other.send(other.invite("toll", "s1", uri, other.sdp(), TestUa.branch(), 1));
        other.expectResponse(407, T);
        assertTrue(victim.drain(200).isEmpty(), "nothing reached the target");
        // the PBX's pod: trusted by its identity, no credentials asked
        TestUa pbx = ua("asterisk", ALICE);
        pbx.send(pbx.invite("out", "p1", uri, pbx.sdp(), TestUa.branch(), 1));
        SipRequest inv = victim.expectRequest("INVITE", T);
        victim.reply(victim.answer(inv, 486, null, "v1", null));
        pbx.expectResponse(486, T);
        SipProxyTest.waitFor(() -> h.proxy.activeCalls() == 0, T, "the call ended");
    }

    @Test
    void anInviteToAnIpLiteralFromAStrangerIsRefusedAndTheTargetReceivesNothing() throws Exception {
        start("");
        TestUa victim = ua("victim", VICTIM);
        TestUa stranger = ua("stranger", STRANGER);
        String uri = "sip:+19005550100@" + VICTIM.getHostAddress() + ":" + victim.sipPort();
        stranger.send(stranger.invite("toll", "s1", uri, stranger.sdp(), TestUa.branch(), 1));
        SipResponse r = stranger.expectResponse(407, T);
        assertNotNull(r.first("Proxy-Authenticate"));
        // a wrong password does not help either
        stranger.send(
                stranger.invite("toll", "s1", uri, stranger.sdp(), TestUa.branch(), 2)
                        .replace(
                                "Content-Type",
                                "Proxy-Authorization: "
                                        + answer(
                                                r,
                                                "Proxy-Authenticate",
                                                DigestAlgorithm.MD5,
                                                "alice",
                                                "guess",
                                                "INVITE",
                                                uri,
                                                1)
                                        + "\r\nContent-Type"));
        stranger.expectResponse(407, T);
        assertTrue(victim.drain(500).isEmpty(), "the target received nothing");
        assertEquals(0, h.proxy.activeCalls());
        assertEquals(0, h.plane.relays().size(), "no port was opened");
        assertEquals(0, h.plane.admission("sip").ports(), "nothing reserved");
        assertEquals(1.0, refused("auth_required"));
        assertEquals(1.0, refused("auth_failed"));

        // alice, authenticated, may call out (she is a user of this proxy)
        TestUa alice = ua("alice", ALICE);
        alice.send(alice.invite("out", "a1", uri, alice.sdp(), TestUa.branch(), 1));
        SipResponse c = alice.expectResponse(407, T);
        alice.send(
                alice.invite("out", "a1", uri, alice.sdp(), TestUa.branch(), 2)
                        .replace(
                                "Content-Type",
                                "Proxy-Authorization: "
                                        + answer(
                                                c,
                                                "Proxy-Authenticate",
                                                DigestAlgorithm.SHA_256,
                                                "alice",
                                                "alice-secret",
                                                "INVITE",
                                                uri,
                                                1)
                                        + "\r\nContent-Type"));
        SipRequest inv = victim.expectRequest("INVITE", T);
        assertTrue(inv.all("Proxy-Authorization").isEmpty(), "msm consumes its own credentials");
        victim.reply(victim.answer(inv, 486, null, "v1", null));
        alice.expectResponse(486, T);
        SipProxyTest.waitFor(() -> h.proxy.activeCalls() == 0, T, "the call ended");
    }

    @Test
    void onlyBobChangesBobsBindingAndBobStillGetsHisCalls() throws Exception {
        start("");
        TestUa bob = registeredBob();
        TestUa stranger = ua("stranger", STRANGER);
        // a stranger's REGISTER for bob, and Contact: * — challenged, then refused
        stranger.send(register(stranger, "bob", stranger.contact(), 60, null, 1));
        stranger.expectResponse(401, T);
        stranger.send(register(stranger, "bob", "*", 0, null, 1));
        stranger.expectResponse(401, T);
        // with alice's credentials (a real user), still not bob's binding
        SipResponse r =
                registerAs(stranger, "bob", "*", 0, "alice", "alice-secret", DigestAlgorithm.MD5);
        assertEquals(403, r.status(), r.toString());
        assertEquals(1.0, refused("binding_not_own"));
        // bob with a wrong password: refused
        TestUa bob2 = ua("bob2", BOB);
        r = registerAs(bob2, "bob", bob2.contact(), 60, "bob", "wrong", DigestAlgorithm.MD5);
        assertEquals(401, r.status(), "a wrong password is challenged again");
        assertEquals(1.0, h.metric("msm_sip_registrations"), "bob's binding is untouched");

        // anyone may call a registered user: alice (untrusted, unauthenticated) calls bob
        TestUa alice = ua("alice", ALICE);
        Established e = h.call(alice, bob, "to-bob");
        alice.rtp.send(ByteBuffer.wrap(TestUa.rtpPacket(1)), e.aliceSendsTo());
        assertEquals(1, TestUa.count(bob.rtp, 1, T, null), "media flows to bob");
        h.byeFromBob(alice, bob, e);
        SipProxyTest.waitFor(() -> h.plane.relays().isEmpty(), T, "relays closed");

        // bob removes his own bindings with Contact: *
        r = registerAs(bob, "bob", "*", 0, "bob", "bob-secret", DigestAlgorithm.SHA_256);
        assertEquals(200, r.status());
        assertEquals(0.0, h.metric("msm_sip_registrations"));
    }

    @Test
    void aRegisterNamingMsmsTlsPortNeedsTheUsersCredentialsToo(@TempDir Path certs)
            throws Exception {
        TestCerts.ca(certs, "ca");
        TestCerts.leaf(certs, "ca", "msm", "ec", "127.0.0.1");
        start(
                "  tls:\n    listen: 127.0.0.1:0\n    cert: "
                        + certs.resolve("msm.crt")
                        + "\n    key: "
                        + certs.resolve("msm.key")
                        + "\n");
        assertNotNull(registeredBob(), "bob registered");
        TestUa stranger = ua("stranger", STRANGER);
        // the Request-URI names msm's TLS port (and bob): msm's own REGISTER all the same, so
        // bob's credentials are needed — not a request routed to bob
        String tlsUri = "sip:bob@127.0.0.1:" + h.proxy.tlsAddress().getPort();
        stranger.send(
                register(stranger, "bob", stranger.contact(), 60, null, 1)
                        .replace("REGISTER sip:127.0.0.1:" + port(), "REGISTER " + tlsUri));
        stranger.expectResponse(401, T);
        stranger.send(
                register(stranger, "bob", "*", 0, null, 2)
                        .replace("REGISTER sip:127.0.0.1:" + port(), "REGISTER " + tlsUri));
        stranger.expectResponse(401, T);
        assertEquals(1.0, h.metric("msm_sip_registrations"), "bob's binding is untouched");
    }

    @Test
    void repeatedFailuresLockTheSourceOut() throws Exception {
        start("  auth: {max-failures: 3, lockout: 1m}\n");
        TestUa s = ua("stranger", STRANGER);
        for (int i = 0; i < 2; i++) {
            SipResponse r =
                    registerAs(s, "bob", s.contact(), 60, "bob", "x" + i, DigestAlgorithm.MD5);
            assertEquals(401, r.status());
        }
        SipResponse r = registerAs(s, "bob", s.contact(), 60, "bob", "x2", DigestAlgorithm.MD5);
        assertEquals(403, r.status(), "the third failure locks the source out");
        s.send(register(s, "bob", s.contact(), 60, null, 9));
        s.expectResponse(403, T);
        assertTrue(refused("auth_locked") >= 2);
        // another source is not affected
        TestUa bob = registeredBob();
        assertNotNull(bob);
    }

    /** One refusal: what is sent from the stranger, what comes back, how it is counted. */
    record Refusal(
            String name,
            String config,
            Function<SipPolicyTest, String> request,
            int status,
            String reason) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> refusals() {
        return Stream.of(
                        new Refusal(
                                "INVITE to an IP literal, no users file",
                                "  users-file: ''\n",
                                t -> t.inviteTo("sip:x@127.0.0.9:5999", null),
                                403,
                                "relay_denied"),
                        new Refusal(
                                "INVITE to an IP literal, unauthenticated",
                                "",
                                t -> t.inviteTo("sip:x@127.0.0.9:5999", null),
                                407,
                                "auth_required"),
                        new Refusal(
                                "MESSAGE to an IP literal, unauthenticated",
                                "",
                                t ->
                                        t.inviteTo("sip:x@127.0.0.9:5999", null)
                                                .replace("INVITE", "MESSAGE"),
                                407,
                                "auth_required"),
                        new Refusal(
                                "INVITE through a route open to trusted sources only",
                                "  routes: [{match: '@pstn.example', target: '127.0.0.9:5999',"
                                        + " from: trusted}]\n",
                                t -> t.inviteTo("sip:+1900@pstn.example", null),
                                403,
                                "route_denied"),
                        new Refusal(
                                "INVITE through a route for authenticated users",
                                "  routes: [{match: '@pstn.example', target: '127.0.0.9:5999'}]\n",
                                t -> t.inviteTo("sip:+1900@pstn.example", null),
                                407,
                                "auth_required"),
                        new Refusal(
                                "INVITE to nobody",
                                "",
                                t -> t.inviteTo("sip:nobody@127.0.0.1:" + t.port(), null),
                                404,
                                null),
                        new Refusal(
                                "REGISTER without credentials",
                                "",
                                t -> t.strangersRegister(),
                                401,
                                "auth_required"),
                        new Refusal(
                                "REGISTER without a users file",
                                "  users-file: ''\n",
                                t -> t.strangersRegister(),
                                403,
                                "auth_required"),
                        new Refusal(
                                "BYE with tags of no dialog",
                                "",
                                t -> t.inDialog("BYE", "nodialog", "x", "y"),
                                481,
                                "no_dialog"),
                        new Refusal(
                                "re-INVITE with tags of no dialog",
                                "",
                                t -> t.inDialog("INVITE", "nodialog", "x", "y"),
                                481,
                                "no_dialog"),
                        new Refusal(
                                "CANCEL of no INVITE",
                                "",
                                t ->
                                        t.inviteTo("sip:bob@127.0.0.1:" + t.port(), null)
                                                .replace("INVITE", "CANCEL"),
                                481,
                                "no_dialog"),
                        new Refusal(
                                "INVITE with 5 m= lines (max 4)",
                                "",
                                t -> t.inviteTo("sip:bob@127.0.0.1:" + t.port(), t.sdpLines(5)),
                                488,
                                "media_lines"))
                .map(r -> Arguments.of(r));
    }

    TestUa stranger;

    String inviteTo(String uri, String sdp) {
        try {
            return stranger.invite(
                    "ref-" + TestUa.branch(),
                    "s",
                    uri,
                    sdp == null ? stranger.sdp() : sdp,
                    TestUa.branch(),
                    1);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    String strangersRegister() {
        try {
            return register(stranger, "bob", "*", 0, null, 1);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    String inDialog(String method, String callId, String fromTag, String toTag) {
        try {
            return stranger.inDialog(
                    method,
                    "sip:bob@127.0.0.1:" + port(),
                    List.of(),
                    "<sip:s@127.0.0.5>;tag=" + fromTag,
                    "<sip:bob@127.0.0.1>;tag=" + toTag,
                    callId,
                    2,
                    null,
                    TestUa.branch());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    String sdpLines(int n) {
        StringBuilder b =
                new StringBuilder(
                        "v=0\r\no=- 1 1 IN IP4 127.0.0.5\r\ns=-\r\nc=IN IP4 127.0.0.5\r\nt=0 0\r\n");
        for (int i = 0; i < n; i++) {
            b.append("m=audio ").append(7000 + 2 * i).append(" RTP/AVP 0\r\n");
        }
        return b.toString();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusals")
    void aStrangersRequestIsRefusedBeforeAnyState(Refusal row) throws Exception {
        start(row.config());
        TestUa bob = row.config().contains("users-file") ? ua("bob", BOB) : registeredBob();
        TestUa victim = ua("victim", VICTIM);
        stranger = ua("stranger", STRANGER);
        double before = row.reason() == null ? 0 : refused(row.reason());
        String req = row.request().apply(this);
        stranger.send(req);
        SipResponse r =
                (SipResponse)
                        stranger.expect(
                                m -> m instanceof SipResponse s && s.status() >= 200,
                                "a final response",
                                T);
        assertEquals(row.status(), r.status(), r.toString());
        if (row.reason() != null) {
            assertEquals(1.0, refused(row.reason()) - before, row.reason());
        }
        assertTrue(victim.drain(200).isEmpty(), "nothing reached the target");
        assertTrue(bob.drain(100).stream().noneMatch(m -> m instanceof SipRequest));
        assertEquals(0, h.proxy.activeCalls());
        assertEquals(0, h.plane.relays().size());
        assertEquals(0, h.plane.admission("sip").ports());
    }

    @Test
    void floodsOfTaggedInvitesAndManyMediaLinesHitTheirLimitsWhileOthersStillCall()
            throws Exception {
        start("  per-source: {invites-per-second: 5, invite-burst: 10}\n");
        TestUa bob = registeredBob();
        stranger = ua("stranger", STRANGER);
        int n481 = 0;
        int n503 = 0;
        for (int i = 0; i < 100; i++) {
            stranger.send(inDialog("INVITE", "flood-" + i, "f" + i, "t" + i));
        }
        for (SipMessage m : stranger.drain(3000)) {
            if (m instanceof SipResponse r) {
                n481 += r.status() == 481 ? 1 : 0;
                n503 += r.status() == 503 ? 1 : 0;
            }
        }
        assertEquals(
                100,
                n481 + n503,
                "each answered: 481 (no such dialog) or 503: " + n481 + "/" + n503);
        assertTrue(n481 >= 10, "the burst is answered 481: " + n481);
        assertTrue(n503 >= 50, "then the per-source INVITE rate: " + n503);
        assertEquals(n503, refused("invite_rate_source"));
        // many m= lines from the stranger (once its bucket refilled): 488
        Thread.sleep(400);
        stranger.send(inviteTo("sip:bob@127.0.0.1:" + port(), sdpLines(16)));
        stranger.expectResponse(488, T);
        assertEquals(0, h.plane.admission("sip").ports(), "nothing reserved for it");
        // alice, from another source, calls bob with media
        TestUa alice = ua("alice", ALICE);
        Established e = h.call(alice, bob, "still-works");
        alice.rtp.send(ByteBuffer.wrap(TestUa.rtpPacket(1)), e.aliceSendsTo());
        assertEquals(1, TestUa.count(bob.rtp, 1, T, null));
        assertEquals(4, h.plane.admission("sip").ports(), "one stream: four ports reserved");
        // and RTSP's share is still there
        MediaAdmission.Lease rtsp = h.plane.admission("rtsp").reserve(2, 2);
        assertNotNull(rtsp, "an RTSP session can still be set up");
        rtsp.close();
        h.byeFromBob(alice, bob, e);
        SipProxyTest.waitFor(
                () -> h.plane.admission("sip").ports() == 0, T, "the reservation given back");
    }

    @Test
    void aThirdPartysReInviteWithARealCallsTagsDoesNotMoveItsMedia() throws Exception {
        start("");
        TestUa bob = registeredBob();
        TestUa alice = ua("alice", ALICE);
        Established e = h.call(alice, bob, "hijack");
        stranger = ua("stranger", STRANGER);
        SipResponse ok = e.okAtAlice();
        // the stranger knows the Call-ID and both tags (it sniffed them) and claims to be alice
        stranger.send(
                stranger.inDialog(
                        "INVITE",
                        TestUa.target(ok),
                        e.aliceRoutes(),
                        ok.first(HeaderNames.FROM),
                        ok.first(HeaderNames.TO),
                        "hijack",
                        2,
                        stranger.sdp(),
                        TestUa.branch()));
        stranger.expectResponse(403, T);
        assertEquals(1.0, refused("wrong_hop"));
        // ... or bob
        SipRequest inv = e.invAtBob();
        stranger.send(
                stranger.inDialog(
                        "INVITE",
                        TestUa.target(inv),
                        inv.all(HeaderNames.RECORD_ROUTE),
                        ok.first(HeaderNames.TO),
                        inv.first(HeaderNames.FROM),
                        "hijack",
                        2,
                        stranger.sdp(),
                        TestUa.branch()));
        stranger.expectResponse(403, T);
        assertTrue(bob.drain(300).stream().noneMatch(m -> m instanceof SipRequest));
        assertTrue(alice.drain(100).stream().noneMatch(m -> m instanceof SipRequest));
        // the media still flows between alice and bob, and the stranger gets none
        alice.rtp.send(ByteBuffer.wrap(TestUa.rtpPacket(1)), e.aliceSendsTo());
        assertEquals(1, TestUa.count(bob.rtp, 1, T, null), "alice -> bob unchanged");
        bob.rtp.send(ByteBuffer.wrap(TestUa.rtpPacket(2)), e.bobSendsTo());
        assertEquals(1, TestUa.count(alice.rtp, 1, T, null), "bob -> alice unchanged");
        assertEquals(0, TestUa.count(stranger.rtp, 1, 300, null), "nothing to the stranger");
        // a BYE from the stranger does not end the call either
        stranger.send(
                stranger.inDialog(
                        "BYE",
                        TestUa.target(ok),
                        e.aliceRoutes(),
                        ok.first(HeaderNames.FROM),
                        ok.first(HeaderNames.TO),
                        "hijack",
                        3,
                        null,
                        TestUa.branch()));
        stranger.expectResponse(403, T);
        assertEquals(1, h.proxy.activeCalls());
        h.byeFromBob(alice, bob, e);
    }

    @Test
    void idleTcpConnectionsFromOneSourceDoNotBlockAnothersCall() throws Exception {
        start("  connections: {first-message-timeout: 5s}\n");
        TestUa bob = registeredBob();
        List<Socket> idle = new ArrayList<>();
        int refusedAtOnce = 0;
        long t0 = System.nanoTime();
        try {
            for (int i = 0; i < 1030; i++) {
                Socket s = new Socket();
                s.bind(new InetSocketAddress(STRANGER, 0));
                s.connect(h.proxy.localAddress(), 2000);
                idle.add(s);
            }
            long openMs = (System.nanoTime() - t0) / 1_000_000;
            // beyond the per-source cap the proxy closed them at once
            long end = System.nanoTime() + 3_000_000_000L;
            while (System.nanoTime() < end) {
                refusedAtOnce = 0;
                for (Socket s : idle) {
                    if (closedByPeer(s)) {
                        refusedAtOnce++;
                    }
                }
                if (refusedAtOnce >= 1030 - 32) {
                    break;
                }
                Thread.sleep(100);
            }
            assertTrue(
                    refusedAtOnce >= 1030 - 32,
                    "at most sip.per-source.tcp-connections stay open: "
                            + (1030 - refusedAtOnce)
                            + " open (1030 opened in "
                            + openMs
                            + " ms)");
            // another source calls bob over TCP while those are held
            try (Socket alice = new Socket()) {
                alice.bind(new InetSocketAddress(ALICE, 0));
                alice.connect(h.proxy.localAddress(), 2000);
                alice.setSoTimeout((int) T);
                String uri = "sip:bob@127.0.0.1:" + port();
                String inv =
                        "INVITE "
                                + uri
                                + " SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.3:"
                                + alice.getLocalPort()
                                + ";branch="
                                + TestUa.branch()
                                + "\r\nMax-Forwards: 70\r\nFrom: <sip:alice@127.0.0.3>;tag=at\r\n"
                                + "To: <"
                                + uri
                                + ">\r\nCall-ID: tcp-alice\r\nCSeq: 1 INVITE\r\nContact:"
                                + " <sip:alice@127.0.0.3:"
                                + alice.getLocalPort()
                                + ";transport=tcp>\r\nContent-Length: 0\r\n\r\n";
                OutputStream out = alice.getOutputStream();
                out.write(inv.getBytes(StandardCharsets.UTF_8));
                out.flush();
                SipRequest atBob = bob.expectRequest("INVITE", T);
                bob.reply(bob.answer(atBob, 486, null, "bt", null));
                InputStream in = alice.getInputStream();
                SipMessage m;
                do {
                    m = SipProxyTest.readTcp(in);
                } while (m instanceof SipResponse r && r.status() < 200);
                assertEquals(486, ((SipResponse) m).status(), "alice's call went through");
            }
            assertTrue(refused("connections_per_source") >= 1030 - 32);
            // the idle ones that were let in are closed after the first-message deadline
            Thread.sleep(5500);
            int open = 0;
            for (Socket s : idle) {
                if (!closedByPeer(s)) {
                    open++;
                }
            }
            assertEquals(0, open, "no idle connection survives the first-message deadline");
            assertTrue(refused("first_message_timeout") >= 1);
        } finally {
            for (Socket s : idle) {
                s.close();
            }
        }
    }

    @Test
    void restartedAndEndedCallsGiveTheirReservationsBack() throws Exception {
        start("");
        TestUa bob = registeredBob();
        TestUa alice = ua("alice", ALICE);
        Established e = h.call(alice, bob, "lease");
        assertEquals(4, h.plane.admission("sip").ports());
        h.byeFromBob(alice, bob, e);
        SipProxyTest.waitFor(() -> h.plane.admission("sip").ports() == 0, T, "given back");
        assertEquals(0.0, refused("calls_per_source"), "one call is far from sip.per-source.calls");
    }
}
