package io.msm.agent.sip.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.msm.agent.config.AgentConfig;
import io.msm.agent.config.ConfigLoader;
import io.msm.agent.config.SipSettings;
import io.msm.agent.media.MediaPlane;
import io.msm.agent.media.UserspaceMediaPlane;
import io.msm.agent.net.Transport;
import io.msm.agent.sip.message.HeaderNames;
import io.msm.agent.sip.message.SipMessage;
import io.msm.agent.sip.message.SipParser;
import io.msm.agent.sip.message.SipRequest;
import io.msm.agent.sip.message.SipResponse;
import io.msm.agent.sip.message.Via;
import io.msm.agent.sip.sdp.Sdp;
import io.msm.bpf.maps.PortTable;
import io.netty.channel.EventLoopGroup;
import java.io.InputStream;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The proxy end to end on loopback, with scripted user agents and the userspace media plane (no
 * root): registration, calls with media anchored both ways, strict source, CANCEL, failures,
 * limits, bad input, loops, re-INVITE, RTP timeout, restart from the state file, TCP.
 */
class SipProxyTest {
    static final long T = 3000;
    PrometheusMeterRegistry registry;
    UserspaceMediaPlane plane;
    EventLoopGroup group;
    SipProxy proxy;
    Path state;
    final List<AutoCloseable> closeMe = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        state = Files.createTempFile("msm-sip-state", ".json");
        Files.delete(state);
    }

    @AfterEach
    void tearDown() throws Exception {
        Collections.reverse(closeMe);
        for (AutoCloseable c : closeMe) {
            c.close();
        }
        stop();
        Files.deleteIfExists(state);
    }

    void stop() {
        if (proxy != null) {
            proxy.close();
            proxy = null;
        }
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            group = null;
        }
        if (plane != null) {
            plane.close();
            plane = null;
        }
    }

    SipSettings settings(String extra) {
        AgentConfig c =
                ConfigLoader.parseYaml(
                        "sip:\n  state-file: "
                                + state
                                + "\n  timers: {t1: 50ms, t2: 400ms, t4: 200ms, c: 8s}\n"
                                + "  max-register-expires: 60s\n"
                                // the test UAs' address is trusted, as a deployment trusts its
                                // own network (SipPolicyTest covers untrusted sources)
                                + (extra.contains("trusted:") ? "" : "  trusted: [127.0.0.1/32]\n")
                                + extra,
                        ConfigLoader.Overrides.NONE);
        return c.sip();
    }

    SipProxy start(String extra) throws Exception {
        return start(extra, 0);
    }

    SipProxy start(String extra, int port) throws Exception {
        return start(extra, port, 0);
    }

    /**
     * subscribeDelayMs: every relay subscription takes that long (0: the plain userspace plane).
     */
    SipProxy start(String extra, int port, long subscribeDelayMs) throws Exception {
        return start(extra, port, subscribeDelayMs, false);
    }

    /**
     * deferred: subscribing returns at once, the subscription is made later (see {@link
     * SlowSubscribePlane}).
     */
    SipProxy start(String extra, int port, long subscribeDelayMs, boolean deferred)
            throws Exception {
        registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        plane = new UserspaceMediaPlane(new PortTable.Range(42000, 42999), 1);
        group = Transport.group(1, "test-sip");
        MediaPlane used =
                subscribeDelayMs > 0
                        ? new SlowSubscribePlane(plane, subscribeDelayMs, deferred)
                        : plane;
        proxy =
                new SipProxy(
                        settings(extra),
                        new InetSocketAddress(TestUa.LO, port),
                        used,
                        registry,
                        group);
        proxy.start();
        return proxy;
    }

    TestUa ua(String name) throws Exception {
        TestUa u = new TestUa(name, proxy.localAddress());
        closeMe.add(u);
        return u;
    }

    String proxyUri(String user) {
        return "sip:" + user + "@127.0.0.1:" + proxy.localAddress().getPort();
    }

    static void waitFor(BooleanSupplier c, long ms, String what) throws InterruptedException {
        long end = System.nanoTime() + ms * 1_000_000;
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(10);
        }
    }

    double metric(String name, String... tags) {
        for (String line : registry.scrape().split("\n")) {
            if (line.startsWith(name + "{") || line.startsWith(name + " ")) {
                boolean all = true;
                for (int i = 0; i < tags.length; i += 2) {
                    all &= line.contains(tags[i] + "=\"" + tags[i + 1] + "\"");
                }
                if (all) {
                    return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
        }
        return Double.NaN;
    }

    void register(TestUa u, int expires) throws Exception {
        u.send(
                "REGISTER sip:127.0.0.1:"
                        + proxy.localAddress().getPort()
                        + " SIP/2.0\r\n"
                        + u.via(TestUa.branch())
                        + "Max-Forwards: 70\r\nFrom: <sip:"
                        + u.user
                        + "@127.0.0.1>;tag=r1\r\nTo: <sip:"
                        + u.user
                        + "@127.0.0.1>\r\nCall-ID: reg-"
                        + u.user
                        + "\r\nCSeq: 1 REGISTER\r\nContact: "
                        + u.contact()
                        + ";expires="
                        + expires
                        + "\r\nContent-Length: 0\r\n\r\n");
    }

    /** bob, registered with the proxy (REGISTER answered 200). */
    TestUa registeredBob() throws Exception {
        TestUa bob = ua("bob");
        register(bob, 60);
        bob.expectResponse(200, T);
        return bob;
    }

    /** alice's CANCEL of the INVITE she sent on branch br. */
    String cancel(TestUa alice, String br, String callId, String fromTag) throws Exception {
        return "CANCEL "
                + proxyUri("bob")
                + " SIP/2.0\r\n"
                + alice.via(br)
                + "Max-Forwards: 70\r\n"
                + "From: <sip:alice@127.0.0.1>;tag="
                + fromTag
                + "\r\nTo: <"
                + proxyUri("bob")
                + ">\r\nCall-ID: "
                + callId
                + "\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n";
    }

    /** A call alice -> bob set up through msm, with the messages each side saw. */
    record Established(
            String callId,
            SipRequest invAtBob,
            SipResponse okAtAlice,
            InetSocketAddress aliceSendsTo,
            InetSocketAddress bobSendsTo) {
        List<String> aliceRoutes() {
            List<String> r = new ArrayList<>(okAtAlice.all(HeaderNames.RECORD_ROUTE));
            Collections.reverse(r);
            return r;
        }
    }

    Established call(TestUa alice, TestUa bob, String callId) throws Exception {
        alice.send(
                alice.invite(
                        callId, "a-" + callId, proxyUri("bob"), alice.sdp(), TestUa.branch(), 1));
        alice.expectResponse(100, T);
        SipRequest inv = bob.expectRequest("INVITE", T);
        bob.reply(bob.answer(inv, 180, null, "b-" + callId, null));
        alice.expectResponse(180, T);
        bob.reply(bob.answer(inv, 200, null, "b-" + callId, bob.sdp()));
        SipResponse ok = alice.expectResponse(200, T);
        Established e = new Established(callId, inv, ok, TestUa.mediaOf(ok), TestUa.mediaOf(inv));
        alice.send(
                alice.inDialog(
                        "ACK",
                        TestUa.target(ok),
                        e.aliceRoutes(),
                        ok.first(HeaderNames.FROM),
                        ok.first(HeaderNames.TO),
                        callId,
                        1,
                        null,
                        TestUa.branch()));
        bob.expectRequest("ACK", T);
        return e;
    }

    void byeFromBob(TestUa alice, TestUa bob, Established e) throws Exception {
        SipRequest inv = e.invAtBob();
        bob.send(
                bob.inDialog(
                        "BYE",
                        TestUa.target(inv),
                        inv.all(HeaderNames.RECORD_ROUTE),
                        e.okAtAlice().first(HeaderNames.TO),
                        inv.first(HeaderNames.FROM),
                        e.callId(),
                        1,
                        null,
                        TestUa.branch()));
        SipRequest bye = alice.expectRequest("BYE", T);
        alice.reply(alice.answer(bye, 200, null, null, null));
        bob.expectResponse(200, T);
    }

    @Test
    void registerIsCappedAndOptionsAnswered() throws Exception {
        start("");
        TestUa bob = ua("bob");
        register(bob, 7200);
        SipResponse ok = bob.expectResponse(200, T);
        assertTrue(
                ok.first(HeaderNames.CONTACT).endsWith(";expires=60"),
                "capped by max-register-expires: " + ok.first(HeaderNames.CONTACT));
        assertEquals(1.0, metric("msm_sip_registrations"));
        register(bob, 0);
        bob.expectResponse(200, T);
        assertEquals(0.0, metric("msm_sip_registrations"), "expires=0 removes the binding");

        bob.send(
                "OPTIONS sip:127.0.0.1:"
                        + proxy.localAddress().getPort()
                        + " SIP/2.0\r\n"
                        + bob.via(TestUa.branch())
                        + "Max-Forwards: 0\r\nFrom: <sip:bob@127.0.0.1>;tag=o\r\nTo: <sip:127.0.0.1>\r\nCall-ID: opt\r\n"
                        + "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
        SipResponse opt = bob.expectResponse(200, T);
        assertTrue(opt.first(HeaderNames.ALLOW).contains("INVITE"));
        Via v = opt.topVia();
        assertEquals("127.0.0.1", v.received());
        assertEquals(bob.sipPort(), v.rport(), "RFC 3581: rport filled in");
    }

    @Test
    void aCallHasItsMediaAnchoredBothWaysAndStrictly() throws Exception {
        start("");
        TestUa alice = ua("alice");
        TestUa bob = registeredBob();
        Established e = call(alice, bob, "c1@test");

        SipRequest inv = e.invAtBob();
        assertTrue(
                inv.uri().contains(":" + bob.sipPort()),
                "retargeted to bob's registered contact: " + inv.uri());
        assertEquals(2, inv.all(HeaderNames.VIA).size());
        assertEquals("69", inv.first(HeaderNames.MAX_FORWARDS));
        assertEquals(
                List.of("<sip:127.0.0.1:" + proxy.localAddress().getPort() + ";lr>"),
                inv.all(HeaderNames.RECORD_ROUTE));
        assertNotEquals(alice.rtpAddr(), e.bobSendsTo(), "bob is given a node port, not alice's");
        assertTrue(e.bobSendsTo().getPort() >= 42000 && e.bobSendsTo().getPort() <= 42999);
        assertTrue(e.aliceSendsTo().getPort() >= 42000 && e.aliceSendsTo().getPort() <= 42999);
        assertEquals(0, e.aliceSendsTo().getPort() % 2, "RTP on an even port");
        assertEquals(
                e.aliceSendsTo().getPort() + 1,
                Sdp.parse(e.okAtAlice().body()).rtcp(0, false).getPort());

        for (int i = 0; i < 20; i++) {
            alice.rtp.send(ByteBuffer.wrap(TestUa.rtpPacket(i)), e.aliceSendsTo());
        }
        List<SocketAddress> from = new ArrayList<>();
        assertEquals(20, TestUa.count(bob.rtp, 20, T, from), "alice -> bob through the relay");
        assertEquals(
                e.bobSendsTo(), from.get(0), "bob sees the media come from where he sends his");
        for (int i = 0; i < 15; i++) {
            bob.rtp.send(ByteBuffer.wrap(TestUa.rtpPacket(i)), e.bobSendsTo());
        }
        from.clear();
        assertEquals(15, TestUa.count(alice.rtp, 15, T, from), "bob -> alice");
        assertEquals(e.aliceSendsTo(), from.get(0));
        // RTCP on the next ports
        alice.rtcp.send(
                ByteBuffer.wrap(new byte[] {(byte) 0x81, (byte) 200, 0, 1}),
                new InetSocketAddress(
                        e.aliceSendsTo().getAddress(), e.aliceSendsTo().getPort() + 1));
        assertEquals(1, TestUa.count(bob.rtcp, 1, T, null), "RTCP relayed too");

        // strict source: someone else sending to alice's anchored port is dropped and counted
        try (DatagramChannel intruder =
                DatagramChannel.open().bind(new InetSocketAddress(TestUa.LO, 0))) {
            for (int i = 0; i < 7; i++) {
                intruder.send(ByteBuffer.wrap(TestUa.rtpPacket(100 + i)), e.aliceSendsTo());
            }
            assertEquals(
                    0,
                    TestUa.count(bob.rtp, 1, 300, null),
                    "nothing from the intruder reaches bob");
        }
        waitFor(() -> metric("msm_sip_strict_drops_total") == 7.0, T, "7 strict drops counted");

        List<SipProxy.CallView> calls = proxy.calls().get();
        assertEquals(1, calls.size());
        assertEquals("answered", calls.get(0).json().path("state").asText());
        assertEquals(2, plane.relays().size() / 2, "two port pairs: one per side");

        byeFromBob(alice, bob, e);
        waitFor(() -> plane.relays().isEmpty(), T, "relays closed after BYE");
        assertEquals(0, proxy.activeCalls());
        assertEquals(1.0, metric("msm_sip_call_outcomes_total", "outcome", "answered"));
        assertEquals(1.0, metric("msm_sip_calls_ended_total", "reason", "bye"));
        assertEquals(
                21.0,
                metric("msm_sip_relayed_packets_total", "direction", "caller_to_callee"),
                "20 RTP + 1 RTCP");
        assertEquals(
                15.0, metric("msm_sip_relayed_packets_total", "direction", "callee_to_caller"));
        assertEquals(7.0, metric("msm_sip_strict_drops_total"), "kept after the call ended");
        assertEquals(1.0, metric("msm_sip_call_setup_seconds_count"));
        // the ports are bindable again
        new DatagramSocket(e.aliceSendsTo()).close();
        new DatagramSocket(e.bobSendsTo()).close();
    }

    @Test
    void theAnswerIsPassedOnOnlyOnceItsRelaysAreInPlace() throws Exception {
        start("", 0, 300); // subscribing takes 300 ms, as resolving a kernel next hop can
        TestUa alice = ua("alice");
        TestUa bob = registeredBob();
        alice.send(
                alice.invite(
                        "slow@test", "a-slow", proxyUri("bob"), alice.sdp(), TestUa.branch(), 1));
        SipRequest inv = bob.expectRequest("INVITE", T);
        bob.reply(bob.answer(inv, 200, null, "b-slow", bob.sdp()));
        SipResponse ok = alice.expectResponse(200, T);
        // a phone starts sending the moment it reads the answer
        alice.rtp.send(ByteBuffer.wrap(TestUa.rtpPacket(1)), TestUa.mediaOf(ok));
        assertEquals(1, TestUa.count(bob.rtp, 1, T, null), "the very first packet reaches bob");
        alice.send(
                alice.inDialog(
                        "ACK",
                        TestUa.target(ok),
                        List.of(ok.first(HeaderNames.RECORD_ROUTE)),
                        ok.first(HeaderNames.FROM),
                        ok.first(HeaderNames.TO),
                        "slow@test",
                        1,
                        null,
                        TestUa.branch()));
        bob.expectRequest("ACK", T);
    }

    @Test
    void theAnswerWaitsForBothDirectionsWhenThePlaneSubscribesLater() throws Exception {
        // as the kernel plane does: subscribe() returns at once, its control thread installs the
        // subscribers one after the other (150 ms each here, a next hop to resolve, a busy VM);
        // meanwhile a direction copies nothing
        start("", 0, 150, true);
        TestUa alice = ua("alice");
        TestUa bob = ua("bob");
        register(bob, 60);
        bob.expectResponse(200, T);
        alice.send(
                alice.invite(
                        "deferred@test",
                        "a-def",
                        proxyUri("bob"),
                        alice.sdp(),
                        TestUa.branch(),
                        1));
        SipRequest inv = bob.expectRequest("INVITE", T);
        bob.reply(bob.answer(inv, 200, null, "b-def", bob.sdp()));
        SipResponse ok = alice.expectResponse(200, T);
        // alice sends every 20 ms from the moment she reads the answer; bob echoes each packet as
        // it
        // arrives (SipCallTest's callee does): every echo must come back, and every packet arrive
        InetSocketAddress toAlice = TestUa.mediaOf(inv);
        ByteBuffer in = ByteBuffer.allocate(2048);
        int sent = 20;
        int atBob = 0;
        long end = System.nanoTime() + T * 1_000_000;
        for (int i = 0; (i < sent || atBob < sent) && System.nanoTime() < end; i++) {
            if (i < sent) {
                alice.rtp.send(ByteBuffer.wrap(TestUa.rtpPacket(i)), TestUa.mediaOf(ok));
            }
            Thread.sleep(20);
            while (bob.rtp.receive(in.clear()) != null) {
                atBob++;
                bob.rtp.send(in.flip(), toAlice);
            }
        }
        int echoes = TestUa.count(alice.rtp, atBob, T, null);
        assertEquals(
                atBob,
                echoes,
                "each of the " + atBob + " packets bob got came back through the other relay");
        assertEquals(sent, atBob, "alice's packets reach bob from the first one on");
        alice.send(
                alice.inDialog(
                        "ACK",
                        TestUa.target(ok),
                        List.of(ok.first(HeaderNames.RECORD_ROUTE)),
                        ok.first(HeaderNames.FROM),
                        ok.first(HeaderNames.TO),
                        "deferred@test",
                        1,
                        null,
                        TestUa.branch()));
        bob.expectRequest("ACK", T);
    }

    @Test
    void cancelEndsTheCallAndFreesItsPorts() throws Exception {
        start("");
        TestUa alice = ua("alice");
        TestUa bob = registeredBob();
        String br = TestUa.branch();
        alice.send(alice.invite("c2", "a2", proxyUri("bob"), alice.sdp(), br, 1));
        SipRequest inv = bob.expectRequest("INVITE", T);
        bob.reply(bob.answer(inv, 180, null, "b2", null));
        alice.expectResponse(180, T);
        assertEquals(4, plane.relays().size());
        alice.send(cancel(alice, br, "c2", "a2"));
        alice.expect(
                m ->
                        m instanceof SipResponse r
                                && r.status() == 200
                                && r.cseq().method().equals("CANCEL"),
                "200 to CANCEL",
                T);
        SipRequest cancel = bob.expectRequest("CANCEL", T);
        assertEquals(
                inv.topVia().branch(), cancel.topVia().branch(), "CANCEL on the INVITE's branch");
        bob.reply(bob.answer(cancel, 200, null, null, null));
        bob.reply(bob.answer(inv, 487, null, "b2", null));
        SipResponse r487 = alice.expectResponse(487, T);
        assertNotNull(r487);
        bob.expectRequest("ACK", T); // msm acknowledges the 487 hop by hop
        waitFor(() -> plane.relays().isEmpty(), T, "relays closed after CANCEL");
        assertEquals(1.0, metric("msm_sip_call_outcomes_total", "outcome", "cancelled"));
    }

    @Test
    void aCalleeIgnoringTheCancelIsGivenUpOn() throws Exception {
        start("");
        TestUa alice = ua("alice");
        TestUa bob = registeredBob();
        String br = TestUa.branch();
        alice.send(alice.invite("c2b", "a2b", proxyUri("bob"), alice.sdp(), br, 1));
        SipRequest inv = bob.expectRequest("INVITE", T);
        bob.reply(bob.answer(inv, 180, null, "b2b", null));
        alice.expectResponse(180, T);
        alice.send(cancel(alice, br, "c2b", "a2b"));
        bob.expectRequest("CANCEL", T); // and bob never answers
        alice.expectResponse(408, 6000); // 64 * T1 after the CANCEL
        waitFor(() -> plane.relays().isEmpty(), T, "relays closed");
        assertEquals(0, proxy.activeCalls());
    }

    @Test
    void aRejectedCallFreesItsPortsAndRetransmissionsAreAbsorbed() throws Exception {
        start("");
        TestUa alice = ua("alice");
        TestUa bob = registeredBob();
        String br = TestUa.branch();
        String invite = alice.invite("c3", "a3", proxyUri("bob"), alice.sdp(), br, 1);
        alice.send(invite);
        alice.expectResponse(100, T);
        SipRequest inv = bob.expectRequest("INVITE", T);
        alice.send(invite); // a retransmission
        alice.expectResponse(100, T);
        // bob answers late on purpose: msm retransmits (timer A), but bob sees one transaction
        List<SipMessage> more = bob.drain(200);
        for (SipMessage m : more) {
            assertEquals(
                    inv.topVia().branch(),
                    m.topVia().branch(),
                    "retransmissions of the same INVITE only");
        }
        bob.reply(bob.answer(inv, 486, null, "b3", null));
        SipResponse busy = alice.expectResponse(486, T);
        alice.send(
                "ACK "
                        + proxyUri("bob")
                        + " SIP/2.0\r\n"
                        + alice.via(br)
                        + "Max-Forwards: 70\r\n"
                        + "From: <sip:alice@127.0.0.1>;tag=a3\r\nTo: "
                        + busy.first(HeaderNames.TO)
                        + "\r\nCall-ID: c3\r\n"
                        + "CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n");
        bob.expectRequest("ACK", T);
        waitFor(() -> plane.relays().isEmpty(), T, "relays closed after 486");
        assertEquals(1.0, metric("msm_sip_call_outcomes_total", "outcome", "busy"));
        // the 486 retransmitted by bob is absorbed, the ACK repeated
        bob.reply(bob.answer(inv, 486, null, "b3", null));
        bob.expectRequest("ACK", T);
        assertTrue(
                alice.drain(300).stream()
                        .noneMatch(m -> m instanceof SipResponse r && r.status() == 486));
    }

    @Test
    void noAnswerTimesOutWith408() throws Exception {
        start("");
        TestUa alice = ua("alice");
        TestUa bob = registeredBob();
        alice.send(alice.invite("c4", "a4", proxyUri("bob"), alice.sdp(), TestUa.branch(), 1));
        bob.expectRequest("INVITE", T);
        // timer B = 64 * T1 = 3.2 s
        alice.expectResponse(408, 6000);
        bob.drain(100);
        waitFor(() -> plane.relays().isEmpty(), T, "relays closed after timeout");
        assertEquals(1.0, metric("msm_sip_call_outcomes_total", "outcome", "no_answer"));
        assertTrue(
                bob.seen.stream().filter(m -> m instanceof SipRequest r && r.is("INVITE")).count()
                        >= 4,
                "timer A retransmitted the INVITE");
    }

    @Test
    void limitsAnswer503WithRetryAfter() throws Exception {
        start("  max-calls: 1\n  retry-after: 7s\n");
        TestUa alice = ua("alice");
        TestUa bob = registeredBob();
        alice.send(alice.invite("c5", "a5", proxyUri("bob"), alice.sdp(), TestUa.branch(), 1));
        bob.expectRequest("INVITE", T);
        alice.send(alice.invite("c6", "a6", proxyUri("bob"), alice.sdp(), TestUa.branch(), 1));
        SipResponse r = alice.expectResponse(503, T);
        assertEquals("7", r.first(HeaderNames.RETRY_AFTER));
        assertEquals(4, plane.relays().size(), "no ports for the refused call");
        assertEquals(1.0, metric("msm_refused_total", "protocol", "sip", "reason", "max_calls"));
    }

    @Test
    void aFloodOfInvitesHitsTheRate() throws Exception {
        start("  invites-per-second: 5\n");
        TestUa alice = ua("alice");
        TestUa bob = registeredBob();
        for (int i = 0; i < 30; i++) {
            alice.send(
                    alice.invite(
                            "flood" + i,
                            "f" + i,
                            proxyUri("bob"),
                            alice.sdp(),
                            TestUa.branch(),
                            1));
        }
        List<SipMessage> got = alice.drain(800);
        long busy =
                got.stream()
                        .filter(
                                m ->
                                        m instanceof SipResponse r
                                                && r.status() == 503
                                                && "1".equals(r.first(HeaderNames.RETRY_AFTER)))
                        .count();
        assertTrue(busy >= 20, "most of the flood refused with 503 Retry-After: 1, got " + busy);
        assertTrue(proxy.activeCalls() <= 6, "the rest admitted: " + proxy.activeCalls());
        assertTrue(
                plane.relays().size() <= 24,
                "ports only for admitted calls: " + plane.relays().size());
    }

    @Test
    void badInputIsAnsweredOrDroppedAndNothingElseIsAffected() throws Exception {
        start("  max-message-bytes: 1024\n");
        TestUa alice = ua("alice");
        alice.send("\u0000\u0001garbage that is not SIP at all\r\n\r\n");
        alice.send(
                "INVITE sip:x@127.0.0.1 SIP/2.0\r\nContent-Length: 0\r\n\r\n"); // no Via: nothing
        // to answer
        assertNull(alice.receive(300), "dropped silently");
        String opts =
                "OPTIONS sip:127.0.0.1:"
                        + proxy.localAddress().getPort()
                        + " SIP/2.0\r\n"
                        + alice.via(TestUa.branch())
                        + "From: <sip:alice@127.0.0.1>;tag=x\r\nTo: <sip:127.0.0.1>\r\nCall-ID: bad1\r\nCSeq: 1 BYE\r\n"
                        + "Content-Length: 0\r\n\r\n";
        alice.send(opts);
        SipResponse r = alice.expectResponse(400, T);
        assertTrue(
                r.first(HeaderNames.WARNING).contains("CSeq method"), r.first(HeaderNames.WARNING));
        alice.send(
                opts.replace("1 BYE", "1 OPTIONS")
                        .replace("Call-ID: bad1", "Call-ID: big\r\nX-Pad: " + "p".repeat(1200)));
        alice.expectResponse(513, T);
        alice.send(opts.replace("1 BYE", "1 OPTIONS"));
        alice.expectResponse(200, T);
        assertEquals(
                3.0,
                metric("msm_sip_bad_messages_total", "reason", "malformed"),
                "garbage, no Via, bad CSeq");
        assertEquals(1.0, metric("msm_sip_bad_messages_total", "reason", "oversized"));
        // Max-Forwards 0 and an unknown target
        alice.send(
                alice.invite("mf", "m", proxyUri("nobody"), null, TestUa.branch(), 1)
                        .replace("Max-Forwards: 70", "Max-Forwards: 0"));
        alice.expectResponse(483, T);
        alice.send(alice.invite("nf", "n", proxyUri("nobody"), null, TestUa.branch(), 1));
        alice.expectResponse(404, T);
        alice.send(
                alice.invite("px", "p", "sip:x@127.0.0.1:5999", null, TestUa.branch(), 1)
                        .replace("Max-Forwards: 70", "Max-Forwards: 70\r\nProxy-Require: foo"));
        SipResponse bad = alice.expectResponse(420, T);
        assertEquals("foo", bad.first(HeaderNames.UNSUPPORTED));
        alice.send(
                alice.invite(
                        "bad-sdp",
                        "s",
                        proxyUri("nobody"),
                        "v=0\r\nm=audio x\r\n",
                        TestUa.branch(),
                        1));
        alice.expectResponse(404, T); // routing comes first; with a target the SDP is checked:
        TestUa bob = registeredBob();
        alice.send(
                alice.invite(
                        "bad-sdp2",
                        "s2",
                        proxyUri("bob"),
                        "v=0\r\nm=audio x\r\n",
                        TestUa.branch(),
                        1));
        alice.expectResponse(488, T);
        assertEquals(0, plane.relays().size());
    }

    @Test
    void aRequestComingBackUnchangedIsALoop() throws Exception {
        start("");
        TestUa alice = ua("alice");
        TestUa bob = ua("bob");
        // an IP-literal Request-URI is forwarded as it is: bob bounces it back to msm
        alice.send(
                alice.invite(
                        "loop",
                        "l",
                        "sip:bob@127.0.0.1:" + bob.sipPort(),
                        null,
                        TestUa.branch(),
                        1));
        SipRequest inv = bob.expectRequest("INVITE", T);
        bob.sendTo(new String(inv.encode(), StandardCharsets.UTF_8), proxy.localAddress());
        // the 482 goes back along the Vias: to msm (the looped hop came from it), then to alice
        SipResponse r = alice.expectResponse(482, T);
        assertTrue(
                r.first(HeaderNames.WARNING).contains("came back"), r.first(HeaderNames.WARNING));
        bob.expectRequest("ACK", T); // msm's client transaction acknowledges the failure hop by hop
    }

    @Test
    void reInviteMovesAndHoldsTheMedia() throws Exception {
        start("");
        TestUa alice = ua("alice");
        TestUa bob = registeredBob();
        Established e = call(alice, bob, "c7");
        try (DatagramChannel alice2 =
                DatagramChannel.open().bind(new InetSocketAddress(TestUa.LO, 0))) {
            alice2.configureBlocking(false);
            int p2 = ((InetSocketAddress) alice2.getLocalAddress()).getPort();
            SipResponse ok = e.okAtAlice();
            alice.send(
                    alice.inDialog(
                            "INVITE",
                            TestUa.target(ok),
                            e.aliceRoutes(),
                            ok.first(HeaderNames.FROM),
                            ok.first(HeaderNames.TO),
                            "c7",
                            2,
                            alice.sdp(p2, "sendonly", "127.0.0.1"),
                            TestUa.branch()));
            SipRequest re = bob.expectRequest("INVITE", T);
            assertEquals(
                    e.bobSendsTo(),
                    TestUa.mediaOf(re),
                    "the node port bob sends to stays the same");
            bob.reply(
                    bob.answer(
                            re, 200, null, null, bob.sdp(bob.rtpPort(), "recvonly", "127.0.0.1")));
            SipResponse ok2 =
                    (SipResponse)
                            alice.expect(
                                    m ->
                                            m instanceof SipResponse r
                                                    && r.status() == 200
                                                    && r.cseq().number() == 2,
                                    "200 to the re-INVITE",
                                    T);
            assertEquals(e.aliceSendsTo(), TestUa.mediaOf(ok2));
            alice.send(
                    alice.inDialog(
                            "ACK",
                            TestUa.target(ok),
                            e.aliceRoutes(),
                            ok.first(HeaderNames.FROM),
                            ok.first(HeaderNames.TO),
                            "c7",
                            2,
                            null,
                            TestUa.branch()));
            bob.expectRequest("ACK", T);
            Thread.sleep(100); // the relay update runs on the media thread
            // from the new port: relayed; from the old one: dropped now
            alice2.send(ByteBuffer.wrap(TestUa.rtpPacket(1)), e.aliceSendsTo());
            assertEquals(
                    1, TestUa.count(bob.rtp, 1, T, null), "media from alice's new address flows");
            alice.rtp.send(ByteBuffer.wrap(TestUa.rtpPacket(2)), e.aliceSendsTo());
            assertEquals(
                    0,
                    TestUa.count(bob.rtp, 1, 300, null),
                    "the old address is no longer accepted");
            // bob is recvonly: his RTP is not sent to alice (on hold)
            bob.rtp.send(ByteBuffer.wrap(TestUa.rtpPacket(3)), e.bobSendsTo());
            assertEquals(0, TestUa.count(alice2, 1, 300, null), "hold: nothing towards alice");
            var view = proxy.calls().get().get(0).json();
            assertEquals(
                    "sendonly",
                    view.path("streams").get(0).path("caller").path("direction").asText());
        }
        byeFromBob(alice, bob, e);
        waitFor(() -> plane.relays().isEmpty(), T, "relays closed");
    }

    @Test
    void noRtpForTheTimeoutEndsTheCallWithByeBothWays() throws Exception {
        start("  rtp-timeout: 1s\n");
        TestUa alice = ua("alice");
        TestUa bob = registeredBob();
        call(alice, bob, "c8");
        SipRequest toBob = bob.expectRequest("BYE", 4000);
        SipRequest toAlice = alice.expectRequest("BYE", 4000);
        assertEquals("c8", toBob.callId());
        assertEquals("a-c8", toBob.from().tag(), "to bob, on alice's behalf");
        assertEquals("b-c8", toAlice.from().tag(), "to alice, on bob's behalf");
        assertTrue(toAlice.cseq().number() >= 1);
        bob.reply(bob.answer(toBob, 200, null, null, null));
        alice.reply(alice.answer(toAlice, 200, null, null, null));
        waitFor(() -> plane.relays().isEmpty(), T, "relays closed after the RTP timeout");
        assertEquals(1.0, metric("msm_sip_calls_ended_total", "reason", "rtp_timeout"));
    }

    @Test
    void answeredCallsSurviveARestart() throws Exception {
        int port;
        try (DatagramSocket s = new DatagramSocket(0, TestUa.LO)) {
            port = s.getLocalPort();
        }
        start("", port);
        TestUa alice = ua("alice");
        TestUa bob = registeredBob();
        Established e = call(alice, bob, "c9");
        waitFor(
                () -> {
                    try {
                        return Files.exists(state) && Files.readString(state).contains("\"c9\"");
                    } catch (Exception x) {
                        return false;
                    }
                },
                T,
                "the call in the state file");
        stop(); // the agent goes away (userspace relays with it)
        assertTrue(Files.readString(state).contains(CallCodecFields.CALLER_SIDE));

        start("", port);
        assertEquals(1, proxy.restoredCalls());
        assertEquals(4, plane.relays().size(), "relays re-opened on their old ports");
        alice.rtp.send(ByteBuffer.wrap(TestUa.rtpPacket(1)), e.aliceSendsTo());
        List<SocketAddress> from = new ArrayList<>();
        assertEquals(1, TestUa.count(bob.rtp, 1, T, from), "media flows again after the restart");
        assertEquals(e.bobSendsTo(), from.get(0));
        byeFromBob(alice, bob, e);
        waitFor(() -> plane.relays().isEmpty(), T, "a BYE after the restart frees the ports");
        waitFor(
                () -> {
                    try {
                        return !Files.readString(state).contains("\"c9\"");
                    } catch (Exception x) {
                        return false;
                    }
                },
                T,
                "the call gone from the state file");
    }

    /** Names the test expects in the state file (kept here so a rename shows up). */
    static final class CallCodecFields {
        static final String CALLER_SIDE = "\"caller_side\"";
    }

    @Test
    void tcpCallerUdpCalleeGetsTwoRecordRoutes() throws Exception {
        start("");
        TestUa bob = ua("bob");
        register(bob, 60);
        bob.expectResponse(200, T);
        try (Socket s = new Socket(TestUa.LO, proxy.localAddress().getPort())) {
            s.setSoTimeout(3000);
            int lp = s.getLocalPort();
            String body =
                    "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 41000 RTP/AVP 0\r\n";
            String inv =
                    "INVITE "
                            + proxyUri("bob")
                            + " SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:"
                            + lp
                            + ";branch="
                            + TestUa.branch()
                            + "\r\nMax-Forwards: 70\r\nFrom: <sip:alice@127.0.0.1>;tag=t1\r\nTo: <"
                            + proxyUri("bob")
                            + ">\r\nCall-ID: tcp1\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@127.0.0.1:"
                            + lp
                            + ";transport=tcp>\r\nContent-Type: application/sdp\r\nContent-Length: "
                            + body.length()
                            + "\r\n\r\n"
                            + body;
            s.getOutputStream().write(inv.getBytes(StandardCharsets.UTF_8));
            SipResponse trying = (SipResponse) readTcp(s.getInputStream());
            assertEquals(100, trying.status());
            SipRequest atBob = bob.expectRequest("INVITE", T);
            List<String> rr = atBob.all(HeaderNames.RECORD_ROUTE);
            assertEquals(2, rr.size(), "one Record-Route per transport (RFC 5658): " + rr);
            assertFalse(rr.get(0).contains("transport=tcp"), "the top one faces bob (UDP)");
            assertTrue(rr.get(1).contains("transport=tcp"), "the lower one faces alice (TCP)");
            bob.reply(bob.answer(atBob, 486, null, "x", null));
            assertEquals(
                    486,
                    ((SipResponse) readTcp(s.getInputStream())).status(),
                    "over the same connection");
        }
        waitFor(() -> plane.relays().isEmpty(), T, "relays closed");
    }

    @Test
    void anOversizedTcpMessageIsAnsweredAndTheConnectionClosed() throws Exception {
        start("  max-message-bytes: 1024\n");
        try (Socket s = new Socket(TestUa.LO, proxy.localAddress().getPort())) {
            s.setSoTimeout(3000);
            String msg =
                    "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKbig\r\n"
                            + "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: big\r\nCSeq: 1 OPTIONS\r\n"
                            + "Content-Length: 5000\r\n\r\n";
            s.getOutputStream().write(msg.getBytes(StandardCharsets.UTF_8));
            s.getOutputStream().write(new byte[5000]);
            assertEquals(513, ((SipResponse) readTcp(s.getInputStream())).status());
            assertEquals(-1, s.getInputStream().read(), "and closed");
        }
    }

    static SipMessage readTcp(InputStream in) throws Exception {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                throw new AssertionError("connection closed after: " + head);
            }
            head.append((char) c);
        }
        int cl = 0;
        for (String l : head.toString().split("\r\n")) {
            if (l.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                cl = Integer.parseInt(l.substring(15).trim());
            }
        }
        byte[] body = in.readNBytes(cl);
        byte[] all =
                (head + new String(body, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
        return SipParser.parse(all, 65535);
    }
}
