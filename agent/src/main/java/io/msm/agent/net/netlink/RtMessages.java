package io.msm.agent.net.netlink;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The rtnetlink messages msm sends and reads, as bytes (include/uapi/linux/ netlink.h, rtnetlink.h,
 * if_link.h, neighbour.h). Pure functions, so the layouts are tested without a kernel; {@link
 * RtNetlink} does the I/O.
 *
 * <p>Every length in an answer is checked before it is used: a short or inconsistent message is a
 * {@link NetlinkException}, never an exception from a buffer or a wrong value.
 */
final class RtMessages {
    static final ByteOrder ORDER = ByteOrder.nativeOrder();

    static final int NLMSG_HDRLEN = 16;
    static final int NLMSG_ERROR = 2;
    static final int NLMSG_DONE = 3;
    static final int RTM_NEWLINK = 16;
    static final int RTM_DELLINK = 17;
    static final int RTM_GETLINK = 18;
    static final int RTM_NEWROUTE = 24;
    static final int RTM_GETROUTE = 26;
    static final int RTM_NEWNEIGH = 28;
    static final int RTM_GETNEIGH = 30;
    static final int RTM_NEWTFILTER = 44;
    static final int RTM_GETTFILTER = 46;

    static final int NLM_F_REQUEST = 0x1;
    static final int NLM_F_MULTI = 0x2;
    static final int NLM_F_DUMP_INTR = 0x10;
    static final int NLM_F_DUMP = 0x300;

    static final int AF_INET = 2;
    static final int AF_INET6 = 10;

    static final int RTMSG_LEN = 12;
    static final int RTA_DST = 1;
    static final int RTA_OIF = 4;
    static final int RTA_GATEWAY = 5;
    static final int RTA_PREFSRC = 7;
    static final int RTA_VIA = 18;

    static final int IFINFOMSG_LEN = 16;
    static final int IFLA_ADDRESS = 1;
    static final int IFLA_IFNAME = 3;

    static final int NDMSG_LEN = 12;
    static final int NDA_DST = 1;
    static final int NDA_LLADDR = 2;

    static final int TCMSG_LEN = 20;

    /**
     * clsact's ingress and egress hooks as a filter's parent (TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_*)).
     */
    static final int TC_PARENT_CLSACT_INGRESS = 0xFFFFFFF2;

    static final int TC_PARENT_CLSACT_EGRESS = 0xFFFFFFF3;

    /** Attribute types without the NLA_F_NESTED / NLA_F_NET_BYTEORDER bits. */
    private static final int NLA_TYPE_MASK = 0x3fff;

    private RtMessages() {}

    /** One message of an answer: its header fields and a view of what follows the header. */
    record Message(int type, int flags, int seq, ByteBuffer payload) {}

    /** struct sockaddr_nl joining multicast groups (RTMGRP_* bits). */
    static byte[] sockaddrNl(int groups) {
        return ByteBuffer.allocate(12)
                .order(ORDER)
                .putShort((short) 16)
                .putShort((short) 0)
                .putInt(0)
                .putInt(groups)
                .array();
    }

    // ------------------------------------------------------------- requests

    /** RTM_GETROUTE for one destination: the route the kernel would use for a packet to dst. */
    static byte[] routeGet(int seq, InetAddress dst) {
        byte[] a = dst.getAddress();
        ByteBuffer b = header(RTM_GETROUTE, NLM_F_REQUEST, seq, RTMSG_LEN + attrLen(a.length));
        b.put((byte) family(dst)).put((byte) (a.length * 8)); // rtm_family, rtm_dst_len
        b.position(
                b.position()
                        + RTMSG_LEN
                        - 2); // src_len, tos, table, protocol, scope, type, flags: 0
        attr(b, RTA_DST, a);
        return b.array();
    }

    /** RTM_GETLINK of one interface by index. */
    static byte[] linkGet(int seq, int ifindex) {
        ByteBuffer b = header(RTM_GETLINK, NLM_F_REQUEST, seq, IFINFOMSG_LEN);
        b.putInt(NLMSG_HDRLEN + 4, ifindex);
        return b.array();
    }

    /** RTM_GETLINK dump: every interface of the namespace. */
    static byte[] linkDump(int seq) {
        return header(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq, IFINFOMSG_LEN).array();
    }

    /** RTM_GETNEIGH of one entry (kernel 5.0 and later): addr on ifindex. */
    static byte[] neighGet(int seq, InetAddress addr, int ifindex) {
        byte[] a = addr.getAddress();
        ByteBuffer b = header(RTM_GETNEIGH, NLM_F_REQUEST, seq, NDMSG_LEN + attrLen(a.length));
        b.put((byte) family(addr));
        b.putInt(NLMSG_HDRLEN + 4, ifindex);
        b.position(NLMSG_HDRLEN + NDMSG_LEN);
        attr(b, NDA_DST, a);
        return b.array();
    }

    /** RTM_GETNEIGH dump of one family (for kernels without the single-entry get). */
    static byte[] neighDump(int seq, int family) {
        ByteBuffer b = header(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, seq, NDMSG_LEN);
        b.put((byte) family);
        return b.array();
    }

    /** RTM_GETTFILTER dump: the tc filters of one interface under one parent (a clsact hook). */
    static byte[] filterDump(int seq, int ifindex, int parent) {
        ByteBuffer b = header(RTM_GETTFILTER, NLM_F_REQUEST | NLM_F_DUMP, seq, TCMSG_LEN);
        b.putInt(NLMSG_HDRLEN + 4, ifindex).putInt(NLMSG_HDRLEN + 12, parent);
        return b.array();
    }

    private static ByteBuffer header(int type, int flags, int seq, int bodyLen) {
        int len = NLMSG_HDRLEN + bodyLen;
        ByteBuffer b = ByteBuffer.allocate(len).order(ORDER);
        b.putInt(len).putShort((short) type).putShort((short) flags).putInt(seq).putInt(0);
        return b;
    }

    private static int attrLen(int payload) {
        return align(4 + payload);
    }

    private static void attr(ByteBuffer b, int type, byte[] payload) {
        b.putShort((short) (4 + payload.length)).putShort((short) type).put(payload);
        b.position(align(b.position()));
    }

    static int align(int n) {
        return (n + 3) & ~3;
    }

    static int family(InetAddress a) {
        return a instanceof Inet4Address ? AF_INET : AF_INET6;
    }

    // -------------------------------------------------------------- answers

    /**
     * The messages in the first len bytes of buf (one datagram); they keep a copy, buf may be
     * reused.
     */
    static List<Message> split(byte[] buf, int len) throws NetlinkException {
        List<Message> out = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(Arrays.copyOf(buf, len)).order(ORDER);
        int off = 0;
        while (len - off >= NLMSG_HDRLEN) {
            int mlen = b.getInt(off);
            if (mlen < NLMSG_HDRLEN || mlen > len - off) {
                throw bad(
                        "message length "
                                + Integer.toUnsignedString(mlen)
                                + " at offset "
                                + off
                                + " of "
                                + len);
            }
            int type = b.getShort(off + 4) & 0xffff;
            int flags = b.getShort(off + 6) & 0xffff;
            int seq = b.getInt(off + 8);
            ByteBuffer payload =
                    b.duplicate()
                            .order(ORDER)
                            .position(off + NLMSG_HDRLEN)
                            .limit(off + mlen)
                            .slice()
                            .order(ORDER);
            out.add(new Message(type, flags, seq, payload));
            off += align(mlen);
        }
        if (off < len) {
            throw bad((len - off) + " trailing bytes after the last message");
        }
        return out;
    }

    /** The errno (positive) an NLMSG_ERROR carries; 0 is an acknowledgement. */
    static int error(Message m) throws NetlinkException {
        if (m.payload().remaining() < 4) {
            throw bad("error message of " + m.payload().remaining() + " bytes");
        }
        return -m.payload().getInt(0);
    }

    /** The error a dump's NLMSG_DONE carries (0 when none, or when the kernel put no int there). */
    static int doneError(Message m) {
        return m.payload().remaining() >= 4 ? -m.payload().getInt(0) : 0;
    }

    static Route route(Message m) throws NetlinkException {
        expect(m, RTM_NEWROUTE, RTMSG_LEN);
        ByteBuffer p = m.payload();
        int family = p.get(0) & 0xff;
        int type = p.get(7) & 0xff;
        Map<Integer, ByteBuffer> a = attrs(p, RTMSG_LEN);
        InetAddress gw =
                a.containsKey(RTA_GATEWAY) ? address(a.get(RTA_GATEWAY), "RTA_GATEWAY") : null;
        if (gw == null && a.containsKey(RTA_VIA)) {
            ByteBuffer via = a.get(RTA_VIA); // struct rtvia: u16 family, then the address
            if (via.remaining() < 2) {
                throw bad("RTA_VIA of " + via.remaining() + " bytes");
            }
            gw = address(via.position(2).slice(), "RTA_VIA");
        }
        InetAddress src =
                a.containsKey(RTA_PREFSRC) ? address(a.get(RTA_PREFSRC), "RTA_PREFSRC") : null;
        int oif = a.containsKey(RTA_OIF) ? u32(a.get(RTA_OIF), "RTA_OIF") : 0;
        if (family != AF_INET && family != AF_INET6) {
            throw bad("route of address family " + family);
        }
        return new Route(type, oif, gw, src);
    }

    static Link link(Message m) throws NetlinkException {
        expect(m, RTM_NEWLINK, IFINFOMSG_LEN);
        ByteBuffer p = m.payload();
        int type = p.getShort(2) & 0xffff;
        int index = p.getInt(4);
        int flags = p.getInt(8);
        Map<Integer, ByteBuffer> a = attrs(p, IFINFOMSG_LEN);
        String name = a.containsKey(IFLA_IFNAME) ? cString(a.get(IFLA_IFNAME)) : null;
        if (name == null || name.isEmpty()) {
            throw bad("link " + index + " without a name");
        }
        byte[] addr = a.containsKey(IFLA_ADDRESS) ? bytes(a.get(IFLA_ADDRESS)) : null;
        return new Link(index, name, type, flags, addr);
    }

    static Neighbour neighbour(Message m) throws NetlinkException {
        expect(m, RTM_NEWNEIGH, NDMSG_LEN);
        ByteBuffer p = m.payload();
        int ifindex = p.getInt(4);
        int state = p.getShort(8) & 0xffff;
        Map<Integer, ByteBuffer> a = attrs(p, NDMSG_LEN);
        byte[] ll = a.containsKey(NDA_LLADDR) ? bytes(a.get(NDA_LLADDR)) : null;
        return new Neighbour(ifindex, state, ll);
    }

    /** The destination of a neighbour entry (for filtering a dump); null when it has none. */
    static InetAddress neighbourDst(Message m) throws NetlinkException {
        expect(m, RTM_NEWNEIGH, NDMSG_LEN);
        ByteBuffer dst = attrs(m.payload(), NDMSG_LEN).get(NDA_DST);
        return dst == null ? null : address(dst, "NDA_DST");
    }

    /** The attributes after a fixed header of skip bytes, by type (the first of each type wins). */
    static Map<Integer, ByteBuffer> attrs(ByteBuffer p, int skip) throws NetlinkException {
        Map<Integer, ByteBuffer> out = new HashMap<>();
        int off = skip;
        int end = p.limit();
        while (end - off >= 4) {
            int len = p.getShort(off) & 0xffff;
            int type = p.getShort(off + 2) & NLA_TYPE_MASK;
            if (len < 4 || len > end - off) {
                throw bad(
                        "attribute "
                                + type
                                + " of length "
                                + len
                                + " at offset "
                                + off
                                + " of "
                                + end);
            }
            out.putIfAbsent(
                    type, p.duplicate().position(off + 4).limit(off + len).slice().order(ORDER));
            off += align(len);
        }
        return out;
    }

    private static void expect(Message m, int type, int fixed) throws NetlinkException {
        if (m.type() != type) {
            throw bad("message type " + m.type() + " where " + type + " was expected");
        }
        if (m.payload().remaining() < fixed) {
            throw bad(
                    "message type "
                            + type
                            + " of "
                            + m.payload().remaining()
                            + " bytes, shorter than its "
                            + fixed
                            + "-byte header");
        }
    }

    private static InetAddress address(ByteBuffer b, String what) throws NetlinkException {
        if (b.remaining() != 4 && b.remaining() != 16) {
            throw bad(what + " of " + b.remaining() + " bytes is not an IPv4 or IPv6 address");
        }
        try {
            return InetAddress.getByAddress(bytes(b));
        } catch (UnknownHostException e) {
            throw bad(what + ": " + e.getMessage());
        }
    }

    private static int u32(ByteBuffer b, String what) throws NetlinkException {
        if (b.remaining() != 4) {
            throw bad(what + " of " + b.remaining() + " bytes, not 4");
        }
        return b.getInt(0);
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    private static String cString(ByteBuffer b) {
        byte[] raw = bytes(b);
        int n = 0;
        while (n < raw.length && raw[n] != 0) {
            n++;
        }
        return new String(raw, 0, n, StandardCharsets.UTF_8);
    }

    private static NetlinkException bad(String what) {
        return new NetlinkException("malformed netlink answer: " + what, 0);
    }
}
