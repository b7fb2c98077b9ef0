package io.msm.agent.sip.sdp;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A session description (RFC 4566) as far as media anchoring needs it — connection addresses (c=),
 * media sections (m=), RTCP ports (a=rtcp, RFC 3605), rtcp-mux (RFC 5761) and the direction
 * attributes — with every other line kept verbatim, so {@link #anchor} changes only what it must.
 *
 * <p>Parsing is strict and bounded: {@code <type>=<value>} lines with a lower-case letter type, v=0
 * first, at most {@link #MAX_LINES} lines and {@link #MAX_MEDIA} media sections, no control
 * characters.
 */
public final class Sdp {
    public static final int MAX_LINES = 512;
    public static final int MAX_MEDIA = 16;
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    /**
     * c=&lt;nettype&gt; &lt;addrtype&gt; &lt;address&gt; (a multicast TTL or count stays in {@code
     * address}).
     */
    public record Connection(String netType, String addrType, String address) {
        /** The address as an IPv4/IPv6 literal, or null for names and multicast forms. */
        public InetAddress literal() {
            return Sdp.literal(addrType, address);
        }

        /** c=IN IP4 0.0.0.0: the RFC 2543 way to put a stream on hold. */
        public boolean unspecified() {
            return "0.0.0.0".equals(address) || "::".equals(address);
        }

        @Override
        public String toString() {
            return "c=" + netType + " " + addrType + " " + address;
        }
    }

    /** One m= section. Line indexes point into the description's lines (m= line, end exclusive). */
    public record Media(
            String type,
            int port,
            int portCount,
            String proto,
            List<String> formats,
            Connection connection,
            Integer rtcpPort,
            Connection rtcpConnection,
            Direction direction,
            boolean rtcpMux,
            int firstLine,
            int endLine) {
        /** Port 0: the stream is rejected or disabled (RFC 3264 section 5.1, 6). */
        public boolean disabled() {
            return port == 0;
        }
    }

    /** Where the node takes one stream: its RTP port (RTCP is the next one). */
    public record Anchor(int rtpPort, int rtcpPort) {}

    private final List<String> lines;
    private final Connection sessionConnection;
    private final Direction sessionDirection;
    private final List<Media> media;

    private Sdp(
            List<String> lines,
            Connection sessionConnection,
            Direction sessionDirection,
            List<Media> media) {
        this.lines = lines;
        this.sessionConnection = sessionConnection;
        this.sessionDirection = sessionDirection;
        this.media = media;
    }

    public static Sdp parse(byte[] body) throws SdpException {
        String text;
        try {
            text =
                    StandardCharsets.UTF_8
                            .newDecoder()
                            .onMalformedInput(CodingErrorAction.REPORT)
                            .onUnmappableCharacter(CodingErrorAction.REPORT)
                            .decode(ByteBuffer.wrap(body))
                            .toString();
        } catch (CharacterCodingException e) {
            throw new SdpException("SDP is not UTF-8");
        }
        String[] raw = text.split("\r?\n", -1);
        List<String> lines = new ArrayList<>();
        for (String l : raw) {
            if (!l.isEmpty()) {
                lines.add(l);
            }
        }
        if (lines.size() > MAX_LINES) {
            throw new SdpException("SDP has more than " + MAX_LINES + " lines");
        }
        if (lines.isEmpty() || !lines.get(0).equals("v=0")) {
            throw new SdpException("SDP must start with v=0");
        }
        Connection sessionC = null;
        Direction sessionDir = null;
        List<Media> media = new ArrayList<>();
        MediaBuilder cur = null;
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            if (l.length() < 2 || l.charAt(1) != '=' || l.charAt(0) < 'a' || l.charAt(0) > 'z') {
                throw new SdpException("SDP line " + (i + 1) + " is not <type>=<value>");
            }
            for (int k = 0; k < l.length(); k++) {
                char ch = l.charAt(k);
                if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
                    throw new SdpException("control character in SDP line " + (i + 1));
                }
            }
            char type = l.charAt(0);
            String v = l.substring(2);
            switch (type) {
                case 'm' -> {
                    if (cur != null) {
                        media.add(cur.build(i));
                    }
                    if (media.size() >= MAX_MEDIA) {
                        throw new SdpException(
                                "SDP has more than " + MAX_MEDIA + " media sections");
                    }
                    cur = MediaBuilder.parse(v, i);
                }
                case 'c' -> {
                    Connection c = connection(v, i);
                    if (cur == null) {
                        if (sessionC != null) {
                            throw new SdpException("two session-level c= lines");
                        }
                        sessionC = c;
                    } else if (cur.connection == null) {
                        cur.connection = c;
                    } // several c= in one section (layered multicast): the first one counts
                }
                case 'a' -> {
                    Direction d = Direction.of(v.trim());
                    if (d != null) {
                        if (cur == null) {
                            sessionDir = d;
                        } else {
                            cur.direction = d;
                        }
                    } else if (cur != null && v.startsWith("rtcp:")) {
                        cur.rtcp(v.substring(5).trim(), i);
                    } else if (cur != null && v.trim().equals("rtcp-mux")) {
                        cur.rtcpMux = true;
                    }
                }
                default -> {}
            }
        }
        if (cur != null) {
            media.add(cur.build(lines.size()));
        }
        return new Sdp(List.copyOf(lines), sessionC, sessionDir, List.copyOf(media));
    }

    private static Connection connection(String v, int line) throws SdpException {
        String[] p = v.trim().split(" +");
        if (p.length != 3
                || !p[0].equals("IN")
                || !(p[1].equals("IP4") || p[1].equals("IP6"))
                || p[2].isEmpty()
                || p[2].length() > 255) {
            throw new SdpException(
                    "SDP line " + (line + 1) + ": c= must be 'IN IP4|IP6 <address>'");
        }
        return new Connection(p[0], p[1], p[2]);
    }

    static InetAddress literal(String addrType, String a) {
        try {
            if ("IP4".equals(addrType) && IPV4.matcher(a).matches()) {
                for (String part : a.split("\\.")) {
                    if (Integer.parseInt(part) > 255) {
                        return null;
                    }
                }
                return InetAddress.getByName(a);
            }
            if ("IP6".equals(addrType) && a.indexOf(':') >= 0 && a.matches("[0-9A-Fa-f:.]+")) {
                return InetAddress.getByName(a);
            }
        } catch (UnknownHostException e) {
            return null;
        }
        return null;
    }

    private static final class MediaBuilder {
        String type;
        int port;
        int count = 1;
        String proto;
        List<String> formats;
        Connection connection;
        Integer rtcpPort;
        Connection rtcpConnection;
        Direction direction;
        boolean rtcpMux;
        int first;

        static MediaBuilder parse(String v, int line) throws SdpException {
            String[] p = v.trim().split(" +");
            if (p.length < 4) {
                throw new SdpException(
                        "SDP line " + (line + 1) + ": m= needs <media> <port> <proto> <fmt>...");
            }
            MediaBuilder b = new MediaBuilder();
            b.first = line;
            b.type = p[0];
            String port = p[1];
            int slash = port.indexOf('/');
            if (slash >= 0) {
                b.count = number(port.substring(slash + 1), 1, 65535, line, "port count");
                port = port.substring(0, slash);
            }
            b.port = number(port, 0, 65535, line, "port");
            b.proto = p[2];
            b.formats = List.of(p).subList(3, p.length);
            return b;
        }

        void rtcp(String v, int line) throws SdpException {
            String[] p = v.split(" +");
            rtcpPort = number(p[0], 1, 65535, line, "a=rtcp port");
            if (p.length == 4) {
                rtcpConnection = connection(p[1] + " " + p[2] + " " + p[3], line);
            } else if (p.length != 1) {
                throw new SdpException(
                        "SDP line " + (line + 1) + ": a=rtcp:<port> [IN IP4|IP6 <address>]");
            }
        }

        Media build(int end) {
            return new Media(
                    type,
                    port,
                    count,
                    proto,
                    formats,
                    connection,
                    rtcpPort,
                    rtcpConnection,
                    direction,
                    rtcpMux,
                    first,
                    end);
        }
    }

    private static int number(String s, int min, int max, int line, String what)
            throws SdpException {
        if (s.isEmpty() || s.length() > 5 || !s.chars().allMatch(Character::isDigit)) {
            throw new SdpException("SDP line " + (line + 1) + ": bad " + what);
        }
        int n = Integer.parseInt(s);
        if (n < min || n > max) {
            throw new SdpException("SDP line " + (line + 1) + ": " + what + " out of range");
        }
        return n;
    }

    public List<Media> media() {
        return media;
    }

    public List<String> lines() {
        return lines;
    }

    /** The connection that applies to media section i (its own c=, else the session's). */
    public Connection connection(int i) {
        Connection c = media.get(i).connection();
        return c != null ? c : sessionConnection;
    }

    /** The direction of section i (its own attribute, else the session's, else sendrecv). */
    public Direction direction(int i) {
        Direction d = media.get(i).direction();
        return d != null ? d : sessionDirection != null ? sessionDirection : Direction.SENDRECV;
    }

    /**
     * Where the describing party receives RTP of section i: null when the section is disabled or on
     * hold (c= 0.0.0.0).
     *
     * @throws SdpException when the address is a name, multicast or missing
     */
    public InetSocketAddress rtp(int i) throws SdpException {
        Media m = media.get(i);
        if (m.disabled()) {
            return null;
        }
        Connection c = connection(i);
        if (c == null) {
            throw new SdpException(
                    "media section " + (i + 1) + " has no c= line (nor has the session)");
        }
        if (c.unspecified()) {
            return null;
        }
        InetAddress a = c.literal();
        if (a == null || a.isMulticastAddress()) {
            throw new SdpException(
                    "media section "
                            + (i + 1)
                            + ": c= address '"
                            + c.address()
                            + "' is not a unicast IP literal; msm anchors unicast media only");
        }
        return new InetSocketAddress(a, m.port());
    }

    /**
     * Where the party receives RTCP of section i: a=rtcp, else RTP + 1 (RTP's port with rtcp-mux in
     * use).
     */
    public InetSocketAddress rtcp(int i, boolean muxAgreed) throws SdpException {
        InetSocketAddress rtp = rtp(i);
        if (rtp == null) {
            return null;
        }
        Media m = media.get(i);
        if (muxAgreed) {
            return rtp;
        }
        if (m.rtcpPort() != null) {
            InetAddress a = rtp.getAddress();
            if (m.rtcpConnection() != null) {
                a = m.rtcpConnection().literal();
                if (a == null) {
                    throw new SdpException(
                            "media section " + (i + 1) + ": a=rtcp address is not an IP literal");
                }
            }
            return new InetSocketAddress(a, m.rtcpPort());
        }
        return new InetSocketAddress(rtp.getAddress(), rtp.getPort() + 1);
    }

    /**
     * This description with media taken through the node: every c= names {@code node} (a stream on
     * hold keeps 0.0.0.0), each anchored section's m= port and a=rtcp name the node's ports, and
     * ICE candidates are removed (they would lead the peers around the anchor).
     *
     * @param anchors one per media section; null keeps a section as it is (disabled ones)
     */
    public byte[] anchor(Inet4Address node, List<Anchor> anchors) {
        if (anchors.size() != media.size()) {
            throw new IllegalArgumentException(
                    anchors.size() + " anchors for " + media.size() + " media sections");
        }
        String nodeC = "c=IN IP4 " + node.getHostAddress();
        StringBuilder sb = new StringBuilder(lines.size() * 32);
        int sessionEnd = media.isEmpty() ? lines.size() : media.get(0).firstLine();
        for (int i = 0; i < sessionEnd; i++) {
            String l = lines.get(i);
            if (l.startsWith("c=")) {
                l = nodeC;
            }
            if (!ice(l)) {
                sb.append(l).append("\r\n");
            }
        }
        for (int k = 0; k < media.size(); k++) {
            Media m = media.get(k);
            Anchor a = anchors.get(k);
            if (a == null) {
                for (int i = m.firstLine(); i < m.endLine(); i++) {
                    sb.append(lines.get(i)).append("\r\n");
                }
                continue;
            }
            Connection eff = connection(k);
            boolean hold = eff != null && eff.unspecified();
            sb.append("m=")
                    .append(m.type())
                    .append(' ')
                    .append(a.rtpPort())
                    .append(m.portCount() > 1 ? "/" + m.portCount() : "")
                    .append(' ')
                    .append(m.proto())
                    .append(' ')
                    .append(String.join(" ", m.formats()))
                    .append("\r\n");
            int i = m.firstLine() + 1;
            while (i < m.endLine() && lines.get(i).startsWith("i=")) {
                sb.append(lines.get(i++)).append("\r\n");
            }
            // RFC 4566 order: m=, i=, c=; a section on hold keeps its 0.0.0.0
            if (hold) {
                sb.append("c=IN ")
                        .append(eff.addrType())
                        .append(' ')
                        .append(eff.address())
                        .append("\r\n");
            } else if (m.connection() != null || sessionConnection == null) {
                sb.append(nodeC).append("\r\n");
            }
            for (; i < m.endLine(); i++) {
                String l = lines.get(i);
                if (l.startsWith("c=") || ice(l)) {
                    continue;
                }
                if (l.startsWith("a=rtcp:")) {
                    // a=rtcp naming the RTP port itself means RTCP is multiplexed there: keep it so
                    int port =
                            m.rtcpPort() != null && m.rtcpPort() == m.port()
                                    ? a.rtpPort()
                                    : a.rtcpPort();
                    l =
                            "a=rtcp:"
                                    + port
                                    + (m.rtcpConnection() != null ? " " + nodeC.substring(2) : "");
                }
                sb.append(l).append("\r\n");
            }
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static boolean ice(String l) {
        return l.startsWith("a=candidate:")
                || l.startsWith("a=remote-candidates")
                || l.startsWith("a=ice-")
                || l.equals("a=end-of-candidates");
    }
}
