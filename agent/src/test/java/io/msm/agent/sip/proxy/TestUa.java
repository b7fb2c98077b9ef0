package io.msm.agent.sip.proxy;

import io.msm.agent.sip.message.HeaderNames;
import io.msm.agent.sip.message.NameAddr;
import io.msm.agent.sip.message.SipMessage;
import io.msm.agent.sip.message.SipParser;
import io.msm.agent.sip.message.SipRequest;
import io.msm.agent.sip.message.SipResponse;
import io.msm.agent.sip.sdp.Sdp;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A scripted SIP user agent on loopback UDP for the proxy tests: builds requests and responses by
 * hand (so the tests see every header), receives and parses, and owns a media socket.
 */
final class TestUa implements AutoCloseable {
    static final InetAddress LO = InetAddress.getLoopbackAddress();
    private static final AtomicInteger SEQ = new AtomicInteger();

    final String user;
    final DatagramChannel sip;
    final DatagramChannel rtp;
    final DatagramChannel rtcp;
    final InetSocketAddress proxy;
    final List<SipMessage> seen = new ArrayList<>();

    /** the address the UA's sockets are bound to (another loopback address: another source) */
    final InetAddress at;

    final String host;

    TestUa(String user, InetSocketAddress proxy) throws Exception {
        this(user, proxy, LO);
    }

    TestUa(String user, InetSocketAddress proxy, InetAddress at) throws Exception {
        this.user = user;
        this.proxy = proxy;
        this.at = at;
        this.host = at.getHostAddress();
        sip = DatagramChannel.open().bind(new InetSocketAddress(at, 0));
        sip.configureBlocking(false);
        // an RTP/RTCP pair: RTCP on RTP + 1, retried until both ports are free
        DatagramChannel a = null;
        DatagramChannel b = null;
        for (int i = 0; i < 50 && b == null; i++) {
            a = DatagramChannel.open().bind(new InetSocketAddress(at, 0));
            int p = ((InetSocketAddress) a.getLocalAddress()).getPort();
            if (p % 2 == 0 && p < 65535) {
                try {
                    b = DatagramChannel.open().bind(new InetSocketAddress(at, p + 1));
                    continue;
                } catch (Exception e) {
                    // taken
                }
            }
            a.close();
        }
        rtp = a;
        rtcp = b;
        rtp.configureBlocking(false);
        rtcp.configureBlocking(false);
    }

    InetSocketAddress sipAddr() throws Exception {
        return (InetSocketAddress) sip.getLocalAddress();
    }

    int sipPort() throws Exception {
        return sipAddr().getPort();
    }

    int rtpPort() throws Exception {
        return ((InetSocketAddress) rtp.getLocalAddress()).getPort();
    }

    InetSocketAddress rtpAddr() throws Exception {
        return (InetSocketAddress) rtp.getLocalAddress();
    }

    String contact() throws Exception {
        return "<sip:" + user + "@" + host + ":" + sipPort() + ">";
    }

    static String branch() {
        return "z9hG4bK-test-" + SEQ.incrementAndGet() + "-" + System.nanoTime();
    }

    String via(String branch) throws Exception {
        return "Via: SIP/2.0/UDP " + host + ":" + sipPort() + ";branch=" + branch + ";rport\r\n";
    }

    void send(String text) throws Exception {
        sendTo(text, proxy);
    }

    void sendTo(String text, InetSocketAddress to) throws Exception {
        sip.send(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), to);
    }

    void send(SipMessage m) throws Exception {
        sip.send(ByteBuffer.wrap(m.encode()), proxy);
    }

    /** The next SIP message within ms, or null. */
    SipMessage receive(long ms) throws Exception {
        long end = System.nanoTime() + ms * 1_000_000;
        ByteBuffer b = ByteBuffer.allocate(70000);
        while (System.nanoTime() < end) {
            SocketAddress from = sip.receive(b);
            if (from == null) {
                Thread.sleep(2);
                continue;
            }
            b.flip();
            byte[] d = new byte[b.remaining()];
            b.get(d);
            SipMessage m = SipParser.parse(d, 65535);
            seen.add(m);
            return m;
        }
        return null;
    }

    SipMessage expect(Predicate<SipMessage> p, String what, long ms) throws Exception {
        long end = System.nanoTime() + ms * 1_000_000;
        List<String> other = new ArrayList<>();
        while (System.nanoTime() < end) {
            SipMessage m = receive(Math.max(1, (end - System.nanoTime()) / 1_000_000));
            if (m == null) {
                break;
            }
            if (p.test(m)) {
                return m;
            }
            other.add(m.startLine());
        }
        throw new AssertionError(
                user + ": no " + what + " within " + ms + " ms (got " + other + ")");
    }

    SipRequest expectRequest(String method, long ms) throws Exception {
        return (SipRequest) expect(m -> m instanceof SipRequest r && r.is(method), method, ms);
    }

    SipResponse expectResponse(int status, long ms) throws Exception {
        return (SipResponse)
                expect(
                        m -> m instanceof SipResponse r && r.status() == status,
                        "status " + status,
                        ms);
    }

    /** Nothing but what p lets pass (retransmissions, 100s) for ms. */
    List<SipMessage> drain(long ms) throws Exception {
        List<SipMessage> out = new ArrayList<>();
        long end = System.nanoTime() + ms * 1_000_000;
        while (System.nanoTime() < end) {
            SipMessage m = receive(Math.max(1, (end - System.nanoTime()) / 1_000_000));
            if (m != null) {
                out.add(m);
            }
        }
        return out;
    }

    String sdp(int port, String direction, String addr) {
        return "v=0\r\no="
                + user
                + " 1 1 IN IP4 "
                + addr
                + "\r\ns=-\r\nc=IN IP4 "
                + addr
                + "\r\nt=0 0\r\n"
                + "m=audio "
                + port
                + " RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n"
                + (direction == null ? "" : "a=" + direction + "\r\n");
    }

    String sdp() throws Exception {
        return sdp(rtpPort(), null, host);
    }

    /** An INVITE to user@host through the proxy. */
    String invite(String callId, String fromTag, String toUri, String body, String branch, int cseq)
            throws Exception {
        return "INVITE "
                + toUri
                + " SIP/2.0\r\n"
                + via(branch)
                + "Max-Forwards: 70\r\n"
                + "From: <sip:"
                + user
                + "@"
                + host
                + ">;tag="
                + fromTag
                + "\r\n"
                + "To: <"
                + toUri
                + ">\r\n"
                + "Call-ID: "
                + callId
                + "\r\nCSeq: "
                + cseq
                + " INVITE\r\nContact: "
                + contact()
                + "\r\n"
                + (body == null ? "" : "Content-Type: application/sdp\r\n")
                + "Content-Length: "
                + (body == null ? 0 : body.getBytes(StandardCharsets.UTF_8).length)
                + "\r\n\r\n"
                + (body == null ? "" : body);
    }

    /** A response to a request received (Record-Route copied for dialogs, a To tag added). */
    SipResponse answer(SipRequest req, int status, String reason, String toTag, String sdp)
            throws Exception {
        SipResponse r = SipResponse.to(req, status, reason, toTag);
        for (String rr : req.all(HeaderNames.RECORD_ROUTE)) {
            r.add(HeaderNames.RECORD_ROUTE, rr);
        }
        if (status > 100 && status < 300) {
            r.add(HeaderNames.CONTACT, contact());
        }
        if (sdp != null) {
            r.add(HeaderNames.CONTENT_TYPE, "application/sdp");
            r.body(sdp.getBytes(StandardCharsets.UTF_8));
        }
        return r;
    }

    /** Send a response back to where the request came from (the top Via: the proxy). */
    void reply(SipResponse r) throws Exception {
        send(r);
    }

    /**
     * An in-dialog request built from the dialog as this UA knows it: the remote target, the route
     * set (reversed Record-Route for the caller).
     */
    String inDialog(
            String method,
            String target,
            List<String> routeSet,
            String from,
            String to,
            String callId,
            int cseq,
            String body,
            String branch)
            throws Exception {
        StringBuilder sb = new StringBuilder(method + " " + target + " SIP/2.0\r\n" + via(branch));
        for (String r : routeSet) {
            sb.append("Route: ").append(r).append("\r\n");
        }
        sb.append("Max-Forwards: 70\r\nFrom: ")
                .append(from)
                .append("\r\nTo: ")
                .append(to)
                .append("\r\nCall-ID: ")
                .append(callId)
                .append("\r\nCSeq: ")
                .append(cseq)
                .append(' ')
                .append(method.equals("ACK") ? "ACK" : method)
                .append("\r\nContact: ")
                .append(contact())
                .append("\r\n");
        if (body != null) {
            sb.append("Content-Type: application/sdp\r\n");
        }
        sb.append("Content-Length: ")
                .append(body == null ? 0 : body.getBytes(StandardCharsets.UTF_8).length)
                .append("\r\n\r\n")
                .append(body == null ? "" : body);
        return sb.toString();
    }

    static String target(SipMessage m) {
        return NameAddr.parse(m.first(HeaderNames.CONTACT)).uri();
    }

    static InetSocketAddress mediaOf(SipMessage m) throws Exception {
        return Sdp.parse(m.body()).rtp(0);
    }

    static byte[] rtpPacket(int seq) {
        ByteBuffer b = ByteBuffer.allocate(172);
        b.put((byte) 0x80).put((byte) 0).putShort((short) seq).putInt(seq * 160).putInt(0xABCD);
        return b.array();
    }

    /** Count datagrams arriving within ms; records the sources. */
    static int count(DatagramChannel c, int want, long ms, List<SocketAddress> from)
            throws Exception {
        int n = 0;
        long end = System.nanoTime() + ms * 1_000_000;
        ByteBuffer b = ByteBuffer.allocate(2048);
        while (n < want && System.nanoTime() < end) {
            SocketAddress f = c.receive(b);
            if (f == null) {
                Thread.sleep(2);
                continue;
            }
            if (from != null) {
                from.add(f);
            }
            n++;
            b.clear();
        }
        return n;
    }

    @Override
    public void close() throws IOException {
        sip.close();
        rtp.close();
        rtcp.close();
    }
}
