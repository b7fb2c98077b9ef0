package io.msm.agent.sip.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A seeded mutation storm against the running proxy: thousands of broken variants of real messages
 * (bit flips, cuts, repeated and oversized headers, garbage) from one UA; afterwards the proxy
 * still registers and connects a call with media, and nothing the storm started is left open.
 */
class SipProxyMutationTest {
    static final long SEED = 20261127L;
    static final int MESSAGES = 3000;

    @Test
    void aStormOfBrokenMessagesLeavesTheProxyWorking() throws Exception {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        UserspaceMediaPlane plane = new UserspaceMediaPlane(new PortTable.Range(43000, 43999), 1);
        EventLoopGroup group = Transport.group(1, "test-sip");
        SipSettings cfg =
                ConfigLoader.parseYaml(
                                "sip: {state-file: '', max-message-bytes: 2048, trusted: [127.0.0.1/32], "
                                        + "timers: {t1: 20ms, t2: 100ms, t4: 100ms}}",
                                ConfigLoader.Overrides.NONE)
                        .sip();
        SipProxy proxy =
                new SipProxy(cfg, new InetSocketAddress(TestUa.LO, 0), plane, registry, group);
        proxy.start();
        try (TestUa storm = new TestUa("storm", proxy.localAddress());
                TestUa alice = new TestUa("alice", proxy.localAddress());
                TestUa bob = new TestUa("bob", proxy.localAddress())) {
            int port = proxy.localAddress().getPort();
            List<String> seeds =
                    List.of(
                            storm.invite(
                                    "m1",
                                    "t1",
                                    "sip:nobody@127.0.0.1:" + port,
                                    storm.sdp(),
                                    TestUa.branch(),
                                    1),
                            storm.invite(
                                            "m2",
                                            "t2",
                                            "sip:nobody@127.0.0.1:" + port,
                                            null,
                                            TestUa.branch(),
                                            7)
                                    .replace(
                                            "Max-Forwards: 70",
                                            "Route: <sip:127.0.0.1:"
                                                    + port
                                                    + ";lr>\r\nMax-Forwards: 70"),
                            "REGISTER sip:127.0.0.1:"
                                    + port
                                    + " SIP/2.0\r\n"
                                    + storm.via(TestUa.branch())
                                    + "From: <sip:x@127.0.0.1>;tag=r\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: r\r\nCSeq: 1 REGISTER\r\n"
                                    + "Contact: <sip:x@127.0.0.1:9>;expires=60\r\nContent-Length: 0\r\n\r\n",
                            "SIP/2.0 200 OK\r\n"
                                    + storm.via("z9hG4bK-msm-0000000000000000-x.1")
                                    + "From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n"
                                    + "Content-Length: 0\r\n\r\n",
                            "BYE sip:a@127.0.0.1:9 SIP/2.0\r\n"
                                    + storm.via(TestUa.branch())
                                    + "From: <sip:a@h>;tag=1\r\n"
                                    + "To: <sip:b@h>;tag=2\r\nCall-ID: c\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n");
            Random rnd = new Random(SEED);
            for (int i = 0; i < MESSAGES; i++) {
                byte[] m =
                        mutate(
                                seeds.get(rnd.nextInt(seeds.size()))
                                        .getBytes(StandardCharsets.UTF_8),
                                rnd);
                storm.sip.send(ByteBuffer.wrap(m), proxy.localAddress());
                if (i % 200 == 0) {
                    storm.drain(5);
                }
            }
            List<SipMessage> answers = storm.drain(500);
            long refused =
                    answers.stream()
                            .filter(
                                    x ->
                                            x instanceof SipResponse r
                                                    && (r.status() == 400 || r.status() == 513))
                            .count();
            assertTrue(refused > 0, "some broken messages were answered 400/513");
            assertTrue(
                    registry.scrape().contains("msm_sip_bad_messages_total{reason=\"malformed\"}"));

            // the proxy still works: register, call, media, BYE
            bob.send(
                    "REGISTER sip:127.0.0.1:"
                            + port
                            + " SIP/2.0\r\n"
                            + bob.via(TestUa.branch())
                            + "From: <sip:bob@127.0.0.1>;tag=r\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: rb\r\nCSeq: 1 REGISTER\r\n"
                            + "Contact: "
                            + bob.contact()
                            + "\r\nContent-Length: 0\r\n\r\n");
            bob.expectResponse(200, 3000);
            alice.send(
                    alice.invite(
                            "after",
                            "a",
                            "sip:bob@127.0.0.1:" + port,
                            alice.sdp(),
                            TestUa.branch(),
                            1));
            SipRequest inv = bob.expectRequest("INVITE", 3000);
            bob.reply(bob.answer(inv, 200, null, "b", bob.sdp()));
            SipResponse ok = alice.expectResponse(200, 3000);
            for (int i = 1; i <= 5; i++) {
                alice.rtp.send(ByteBuffer.wrap(TestUa.rtpPacket(i)), TestUa.mediaOf(ok));
                Thread.sleep(20);
            }
            // every packet, the first included; the relay's event loop may still be busy with what
            // the
            // storm set up, hence the time allowed
            assertEquals(5, TestUa.count(bob.rtp, 5, 8000, null), "media flows after the storm");
            bob.send(
                    bob.inDialog(
                            "BYE",
                            TestUa.target(inv),
                            inv.all(HeaderNames.RECORD_ROUTE),
                            ok.first(HeaderNames.TO),
                            inv.first(HeaderNames.FROM),
                            "after",
                            1,
                            null,
                            TestUa.branch()));
            alice.reply(alice.answer(alice.expectRequest("BYE", 3000), 200, null, null, null));
            bob.expectResponse(200, 3000);
            // whatever the storm set up has timed out (timer B = 64 * 20 ms) and is closed
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while ((proxy.activeCalls() > 0 || !plane.relays().isEmpty())
                    && System.nanoTime() < end) {
                Thread.sleep(20);
            }
            assertEquals(0, proxy.activeCalls());
            assertEquals(0, plane.relays().size(), "no ports left open");
        } finally {
            proxy.close();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            plane.close();
        }
    }

    /** One to four mutations of a message: flips, cuts, repeats, inserts, oversizing. */
    static byte[] mutate(byte[] in, Random rnd) {
        byte[] b = in.clone();
        int n = 1 + rnd.nextInt(4);
        for (int k = 0; k < n; k++) {
            switch (rnd.nextInt(7)) {
                case 0 -> b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
                case 1 -> b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
                case 2 -> b = Arrays.copyOf(b, 1 + rnd.nextInt(b.length));
                case 3 -> {
                    int at = rnd.nextInt(b.length);
                    int len = Math.min(b.length - at, 1 + rnd.nextInt(40));
                    byte[] out = new byte[b.length + len];
                    System.arraycopy(b, 0, out, 0, at + len);
                    System.arraycopy(b, at, out, at + len, b.length - at);
                    b = out;
                }
                case 4 -> {
                    String s = new String(b, StandardCharsets.ISO_8859_1);
                    s =
                            s.replaceFirst(
                                    "\r\n", "\r\nX-Big: " + "y".repeat(rnd.nextInt(3000)) + "\r\n");
                    b = s.getBytes(StandardCharsets.ISO_8859_1);
                }
                case 5 -> {
                    String s = new String(b, StandardCharsets.ISO_8859_1);
                    String[] tokens = {
                        ":",
                        ";",
                        "<",
                        ">",
                        "\"",
                        ",",
                        "\r\n",
                        " ",
                        "@",
                        "SIP/2.0",
                        "0",
                        "99999999999",
                        "\u0000",
                        "[",
                        "]",
                        "z9hG4bK"
                    };
                    int at = rnd.nextInt(s.length());
                    s = s.substring(0, at) + tokens[rnd.nextInt(tokens.length)] + s.substring(at);
                    b = s.getBytes(StandardCharsets.ISO_8859_1);
                }
                default -> {
                    String s = new String(b, StandardCharsets.ISO_8859_1);
                    int nl = s.indexOf("\r\n");
                    int nl2 = nl < 0 ? -1 : s.indexOf("\r\n", nl + 2);
                    if (nl2 > 0) {
                        s =
                                s.substring(0, nl2)
                                        + s.substring(nl, nl2)
                                        + s.substring(nl2); // repeat a header
                    }
                    b = s.getBytes(StandardCharsets.ISO_8859_1);
                }
            }
            if (b.length == 0) {
                b = new byte[] {'x'};
            }
        }
        return b;
    }
}
