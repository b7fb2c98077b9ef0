package io.msm.agent.sip.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.msm.agent.config.ConfigLoader;
import io.msm.agent.config.SipSettings;
import io.msm.agent.media.UserspaceMediaPlane;
import io.msm.agent.net.Transport;
import io.msm.agent.sip.message.HeaderNames;
import io.msm.agent.sip.message.SipMessage;
import io.msm.agent.sip.message.SipRequest;
import io.msm.agent.sip.message.SipResponse;
import io.msm.bpf.maps.PortTable;
import io.netty.channel.EventLoopGroup;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Fuzzes the proxy as a state machine: each input is a sequence of steps — REGISTER, INVITE (to a
 * registered user, an IP literal or nobody, with 0 to 7 m= lines, from a trusted caller or a
 * stranger), the callee's answers, ACK, BYE, CANCEL and re-INVITE from either party or the stranger
 * (with the dialog's real tags or made-up ones), raw datagrams, pauses — sent over loopback to the
 * running proxy. After every sequence, and once its timers ran out (timer C, the RTP timeout),
 * nothing escaped the handler and nothing leaked: no call, no relay, no port or kernel-group
 * reservation, no per-source call slot.
 *
 * <p>{@code mvn test} replays
 * src/test/resources/io/msm/agent/sip/proxy/SipProxyFuzzTestInputs/messageSequences; {@code
 * JAZZER_FUZZ=1} fuzzes (slowly: each sequence waits for the proxy's timers).
 */
class SipProxyFuzzTest {
    static final InetAddress CALLER = TestUa.LO; // trusted
    static final InetAddress BOB = SipPolicyTest.addr("127.0.0.2"); // trusted
    static final InetAddress STRANGER = SipPolicyTest.addr("127.0.0.5");

    private static SipProxy proxy;
    private static UserspaceMediaPlane plane;
    private static TestUa caller;
    private static TestUa bob;
    private static TestUa stranger;

    static synchronized void startOnce() throws Exception {
        if (proxy != null) {
            return;
        }
        SipSettings cfg =
                ConfigLoader.parseYaml(
                                "sip: {state-file: '', rtp-timeout: 1s, trusted: [127.0.0.1/32,"
                                        + " 127.0.0.2/32], max-calls: 8, timers: {t1: 10ms, t2:"
                                        + " 40ms, t4: 40ms, c: 1s}, per-source: {calls: 2}}",
                                ConfigLoader.Overrides.NONE)
                        .sip();
        plane = new UserspaceMediaPlane(new PortTable.Range(44000, 44999), 1);
        EventLoopGroup group = Transport.group(1, "fuzz-sip");
        proxy =
                new SipProxy(
                        cfg,
                        new InetSocketAddress(TestUa.LO, 0),
                        plane,
                        new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
                        group);
        proxy.start();
        caller = new TestUa("alice", proxy.localAddress(), CALLER);
        bob = new TestUa("bob", proxy.localAddress(), BOB);
        stranger = new TestUa("eve", proxy.localAddress(), STRANGER);
    }

    /** Reads the input byte by byte; zeros once it is used up. */
    static final class Input {
        final byte[] d;
        int i;

        Input(byte[] d) {
            this.d = d;
        }

        boolean more() {
            return i < d.length;
        }

        int next(int n) {
            return i < d.length ? (d[i++] & 0xff) % n : 0;
        }
    }

    /** What the harness knows of the last call, to build dialog requests with real tags. */
    static final class Dialog {
        SipRequest invAtBob;
        SipResponse okAtCaller;
        TestUa from;
        String callId;
        String fromTag;
        int cseq = 1;
    }

    @FuzzTest(maxDuration = "2m")
    void messageSequences(byte[] data) throws Exception {
        startOnce();
        Input in = new Input(data);
        Dialog d = new Dialog();
        int port = proxy.localAddress().getPort();
        TestUa[] parties = {caller, stranger, bob};
        int steps = 0;
        while (in.more() && steps++ < 40) {
            int op = in.next(11);
            TestUa p = parties[in.next(3)];
            switch (op) {
                case 0 -> // REGISTER bob (trusted)
                        bob.send(
                                "REGISTER sip:127.0.0.1:"
                                        + port
                                        + " SIP/2.0\r\n"
                                        + bob.via(TestUa.branch())
                                        + "Max-Forwards: 70\r\nFrom: <sip:bob@127.0.0.1>;tag=r\r\n"
                                        + "To: <sip:bob@127.0.0.1>\r\nCall-ID: fuzz-reg\r\nCSeq: "
                                        + (steps + 100L * d.cseq++)
                                        + " REGISTER\r\nContact: "
                                        + bob.contact()
                                        + ";expires="
                                        + (in.next(2) * 60)
                                        + "\r\nContent-Length: 0\r\n\r\n");
                case 1 -> { // a new INVITE
                    String[] targets = {
                        "sip:bob@127.0.0.1:" + port,
                        "sip:x@" + BOB.getHostAddress() + ":" + bob.sipPort(),
                        "sip:nobody@127.0.0.1:" + port
                    };
                    String uri = targets[in.next(3)];
                    int lines = in.next(8);
                    d.from = p == bob ? caller : p;
                    d.callId = "fz-" + in.next(4) + "-" + System.nanoTime();
                    d.fromTag = "ft" + in.next(4);
                    d.cseq = 1;
                    d.invAtBob = null;
                    d.okAtCaller = null;
                    d.from.send(
                            d.from.invite(
                                    d.callId,
                                    d.fromTag,
                                    uri,
                                    lines == 0 ? null : sdp(d.from, lines),
                                    TestUa.branch(),
                                    d.cseq));
                }
                case 2 -> { // bob answers what he received last
                    SipRequest inv = lastInvite(bob);
                    if (inv != null) {
                        d.invAtBob = inv;
                        int[] st = {180, 183, 200, 486};
                        int s = st[in.next(4)];
                        bob.reply(
                                bob.answer(
                                        inv,
                                        s,
                                        null,
                                        "bt",
                                        s == 200 || s == 183 ? bob.sdp() : null));
                    }
                }
                case 3 -> { // the caller ACKs its last 2xx
                    SipResponse ok = lastOk(d.from);
                    if (ok != null) {
                        d.okAtCaller = ok;
                        d.from.send(inDialog(d.from, "ACK", ok, d.cseq, null));
                    }
                }
                case 4, 5 -> { // BYE or re-INVITE from p, with the dialog's tags
                    String method = op == 4 ? "BYE" : "INVITE";
                    String body = op == 5 ? sdp(p, 1 + in.next(3)) : null;
                    if (p == bob && d.invAtBob != null) {
                        bob.send(
                                bob.inDialog(
                                        method,
                                        TestUa.target(d.invAtBob),
                                        d.invAtBob.all(HeaderNames.RECORD_ROUTE),
                                        d.invAtBob.first(HeaderNames.TO) + ";tag=bt",
                                        d.invAtBob.first(HeaderNames.FROM),
                                        d.invAtBob.callId(),
                                        10 + d.cseq++,
                                        body,
                                        TestUa.branch()));
                    } else if (d.okAtCaller != null) {
                        p.send(inDialog(p, method, d.okAtCaller, ++d.cseq, body));
                    }
                }
                case 6 -> { // CANCEL of the last INVITE (from p: the caller or not)
                    if (d.callId != null) {
                        p.send(
                                "CANCEL sip:bob@127.0.0.1:"
                                        + port
                                        + " SIP/2.0\r\n"
                                        + p.via(TestUa.branch())
                                        + "Max-Forwards: 70\r\nFrom: <sip:a@x>;tag="
                                        + d.fromTag
                                        + "\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: "
                                        + d.callId
                                        + "\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n");
                    }
                }
                case 7 -> { // raw bytes
                    int n = in.next(64);
                    byte[] raw = Arrays.copyOfRange(in.d, in.i, Math.min(in.d.length, in.i + n));
                    in.i += raw.length;
                    p.sip.send(ByteBuffer.wrap(raw), proxy.localAddress());
                }
                case 8 -> // a tagged INVITE of no dialog
                        p.send(
                                p.inDialog(
                                        "INVITE",
                                        "sip:bob@127.0.0.1:" + port,
                                        List.of(),
                                        "<sip:a@x>;tag=x" + in.next(9),
                                        "<sip:bob@127.0.0.1>;tag=y" + in.next(9),
                                        "fz-tag-" + in.next(9),
                                        1,
                                        in.next(2) == 0 ? null : sdp(p, 1),
                                        TestUa.branch()));
                case 9 -> Thread.sleep(5 + in.next(100));
                default -> { // the callee's party drains (and answers BYEs it got)
                    for (TestUa u : parties) {
                        for (SipMessage m : u.drain(5)) {
                            if (m instanceof SipRequest r && r.is("BYE")) {
                                u.reply(u.answer(r, 200, null, null, null));
                            }
                        }
                    }
                }
            }
        }
        // what is still in flight reaches the proxy; then the timers end what the sequence left:
        // early calls (timer C), answered ones (RTP timeout)
        Thread.sleep(200);
        long end = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < end
                && (proxy.activeCalls() > 0
                        || !plane.relays().isEmpty()
                        || plane.admission("sip").ports() > 0
                        || proxy.sourceLeases() > 0)) {
            for (TestUa u : parties) {
                u.drain(20);
            }
        }
        assertEquals(0, proxy.handlerErrors(), "a message's handling threw");
        assertEquals(0, proxy.activeCalls(), "calls left");
        assertEquals(List.of(), plane.relays(), "relays left");
        assertEquals(0, plane.admission("sip").ports(), "ports still reserved");
        assertEquals(0, plane.admission("sip").groups(), "groups still reserved");
        assertEquals(0, proxy.sourceLeases(), "per-source call slots still held");
    }

    static String sdp(TestUa u, int lines) throws Exception {
        StringBuilder b =
                new StringBuilder(
                        "v=0\r\no=- 1 1 IN IP4 "
                                + u.host
                                + "\r\ns=-\r\nc=IN IP4 "
                                + u.host
                                + "\r\nt=0 0\r\n");
        for (int i = 0; i < lines; i++) {
            b.append("m=audio ").append(u.rtpPort() + 2 * i).append(" RTP/AVP 0\r\n");
        }
        return b.toString();
    }

    static SipRequest lastInvite(TestUa u) throws Exception {
        SipRequest last = null;
        for (SipMessage m : u.drain(80)) {
            if (m instanceof SipRequest r && r.is("INVITE")) {
                last = r;
            }
        }
        return last;
    }

    static SipResponse lastOk(TestUa u) throws Exception {
        SipResponse last = null;
        for (SipMessage m : u.drain(80)) {
            if (m instanceof SipResponse r
                    && r.status() == 200
                    && "INVITE".equals(r.cseq().method())) {
                last = r;
            }
        }
        return last;
    }

    static String inDialog(TestUa u, String method, SipResponse ok, int cseq, String body)
            throws Exception {
        List<String> routes = new ArrayList<>(ok.all(HeaderNames.RECORD_ROUTE));
        Collections.reverse(routes);
        return u.inDialog(
                method,
                TestUa.target(ok),
                routes,
                ok.first(HeaderNames.FROM),
                ok.first(HeaderNames.TO),
                ok.callId(),
                cseq,
                body,
                TestUa.branch());
    }
}
