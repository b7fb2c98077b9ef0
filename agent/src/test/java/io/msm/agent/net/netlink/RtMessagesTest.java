package io.msm.agent.net.netlink;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.net.netlink.RtMessages.Message;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The rtnetlink layouts, both ways, without a kernel (the kernel side: kernel-tests
 * NextHopsNamespaceTest).
 */
class RtMessagesTest {

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(RtMessages.ORDER);
    }

    @Test
    void routeRequestCarriesTheDestinationAsAFullLengthRtaDst() throws Exception {
        byte[] r = RtMessages.routeGet(7, InetAddress.getByName("10.1.2.3"));
        ByteBuffer b = le(r);
        assertEquals(16 + 12 + 8, r.length);
        assertEquals(r.length, b.getInt(0), "nlmsg_len");
        assertEquals(RtMessages.RTM_GETROUTE, b.getShort(4));
        assertEquals(RtMessages.NLM_F_REQUEST, b.getShort(6), "a get, not a dump");
        assertEquals(7, b.getInt(8), "seq");
        assertEquals(RtMessages.AF_INET, r[16], "rtm_family");
        assertEquals(32, r[17], "rtm_dst_len");
        assertEquals(8, b.getShort(28), "rta_len");
        assertEquals(RtMessages.RTA_DST, b.getShort(30));
        assertArrayEquals(new byte[] {10, 1, 2, 3}, Arrays.copyOfRange(r, 32, 36));

        byte[] r6 = RtMessages.routeGet(8, InetAddress.getByName("2001:db8::1"));
        assertEquals(16 + 12 + 20, r6.length);
        assertEquals(RtMessages.AF_INET6, r6[16]);
        assertEquals((byte) 128, r6[17]);
    }

    @Test
    void neighbourRequestNamesFamilyInterfaceAndAddress() throws Exception {
        byte[] r = RtMessages.neighGet(3, InetAddress.getByName("192.168.7.9"), 42);
        ByteBuffer b = le(r);
        assertEquals(16 + 12 + 8, r.length);
        assertEquals(RtMessages.RTM_GETNEIGH, b.getShort(4));
        assertEquals(RtMessages.AF_INET, r[16]);
        assertEquals(42, b.getInt(20), "ndm_ifindex");
        assertEquals(0, b.getShort(24), "ndm_state must be 0 in a get");
        assertEquals(RtMessages.NDA_DST, b.getShort(30));
        assertArrayEquals(new byte[] {(byte) 192, (byte) 168, 7, 9}, Arrays.copyOfRange(r, 32, 36));
    }

    @Test
    void linkRequestsAskOneByIndexOrDumpAll() {
        ByteBuffer one = le(RtMessages.linkGet(5, 17));
        assertEquals(32, one.getInt(0));
        assertEquals(RtMessages.NLM_F_REQUEST, one.getShort(6));
        assertEquals(17, one.getInt(20), "ifi_index");
        ByteBuffer all = le(RtMessages.linkDump(6));
        assertEquals(RtMessages.NLM_F_REQUEST | RtMessages.NLM_F_DUMP, all.getShort(6));
        assertEquals(0, all.getInt(20));
    }

    // ------------------------------------------------------------ answers

    /** Builds answers the way the kernel lays them out. */
    private static final class Answer {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Answer message(int type, int seq, byte[] fixed, byte[]... attrs) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            body.writeBytes(fixed);
            for (byte[] a : attrs) {
                body.writeBytes(a);
            }
            int len = 16 + body.size();
            ByteBuffer h = ByteBuffer.allocate(16).order(RtMessages.ORDER);
            h.putInt(len)
                    .putShort((short) type)
                    .putShort((short) RtMessages.NLM_F_MULTI)
                    .putInt(seq)
                    .putInt(0);
            out.writeBytes(h.array());
            out.writeBytes(body.toByteArray());
            out.writeBytes(new byte[RtMessages.align(len) - len]);
            return this;
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    private static byte[] attr(int type, byte[] payload) {
        ByteBuffer b =
                ByteBuffer.allocate(RtMessages.align(4 + payload.length)).order(RtMessages.ORDER);
        b.putShort((short) (4 + payload.length)).putShort((short) type).put(payload);
        return b.array();
    }

    private static byte[] u32(int v) {
        return ByteBuffer.allocate(4).order(RtMessages.ORDER).putInt(v).array();
    }

    private static byte[] rtmsg(int family, int type) {
        byte[] m = new byte[12];
        m[0] = (byte) family;
        m[1] = 32;
        m[7] = (byte) type;
        return m;
    }

    private static byte[] ifinfomsg(int arphrd, int index, int flags) {
        return ByteBuffer.allocate(16)
                .order(RtMessages.ORDER)
                .put((byte) 0)
                .put((byte) 0)
                .putShort((short) arphrd)
                .putInt(index)
                .putInt(flags)
                .putInt(0)
                .array();
    }

    private static byte[] ndmsg(int ifindex, int state) {
        return ByteBuffer.allocate(12)
                .order(RtMessages.ORDER)
                .put((byte) 2)
                .put((byte) 0)
                .putShort((short) 0)
                .putInt(ifindex)
                .putShort((short) state)
                .put((byte) 0)
                .put((byte) 1)
                .array();
    }

    private static Message only(byte[] datagram) throws NetlinkException {
        List<Message> ms = RtMessages.split(datagram, datagram.length);
        assertEquals(1, ms.size());
        return ms.get(0);
    }

    @Test
    void routeAnswerGivesTypeInterfaceGatewayAndSource() throws Exception {
        byte[] d =
                new Answer()
                        .message(
                                RtMessages.RTM_NEWROUTE,
                                9,
                                rtmsg(2, Route.RTN_UNICAST),
                                attr(RtMessages.RTA_DST, new byte[] {10, 9, 0, 5}),
                                attr(RtMessages.RTA_OIF, u32(4)),
                                attr(RtMessages.RTA_GATEWAY, new byte[] {10, 0, 0, 1}),
                                attr(RtMessages.RTA_PREFSRC, new byte[] {10, 0, 0, 2}))
                        .bytes();
        Message m = only(d);
        assertEquals(9, m.seq());
        Route r = RtMessages.route(m);
        assertEquals(4, r.oif());
        assertFalse(r.local());
        assertEquals(InetAddress.getByName("10.0.0.1"), r.gateway());
        assertEquals(InetAddress.getByName("10.0.0.2"), r.preferredSource());
    }

    @Test
    void onLinkAndLocalRoutesHaveNoGateway() throws Exception {
        Route onLink =
                RtMessages.route(
                        only(
                                new Answer()
                                        .message(
                                                RtMessages.RTM_NEWROUTE,
                                                1,
                                                rtmsg(2, Route.RTN_UNICAST),
                                                attr(RtMessages.RTA_OIF, u32(3)))
                                        .bytes()));
        assertNull(onLink.gateway());
        assertNull(onLink.preferredSource());
        Route local =
                RtMessages.route(
                        only(
                                new Answer()
                                        .message(
                                                RtMessages.RTM_NEWROUTE,
                                                1,
                                                rtmsg(2, Route.RTN_LOCAL),
                                                attr(RtMessages.RTA_OIF, u32(1)))
                                        .bytes()));
        assertTrue(local.local());
    }

    @Test
    void anIpv6GatewayOfAnIpv4RouteComesFromRtaVia() throws Exception {
        byte[] via = new byte[18];
        ByteBuffer.wrap(via).order(RtMessages.ORDER).putShort((short) 10);
        byte[] v6 = InetAddress.getByName("fe80::1").getAddress();
        System.arraycopy(v6, 0, via, 2, 16);
        Route r =
                RtMessages.route(
                        only(
                                new Answer()
                                        .message(
                                                RtMessages.RTM_NEWROUTE,
                                                1,
                                                rtmsg(2, Route.RTN_UNICAST),
                                                attr(RtMessages.RTA_OIF, u32(3)),
                                                attr(RtMessages.RTA_VIA, via))
                                        .bytes()));
        assertEquals(InetAddress.getByName("fe80::1"), r.gateway());
    }

    @Test
    void linkAnswerGivesNameTypeFlagsAndAddress() throws Exception {
        byte[] mac = {2, 0, 0, 0, 0, 9};
        byte[] name = "veth-a\0".getBytes(StandardCharsets.US_ASCII);
        Link l =
                RtMessages.link(
                        only(
                                new Answer()
                                        .message(
                                                RtMessages.RTM_NEWLINK,
                                                1,
                                                ifinfomsg(
                                                        Link.ARPHRD_ETHER,
                                                        12,
                                                        Link.IFF_UP | 0x1000),
                                                attr(RtMessages.IFLA_ADDRESS, mac),
                                                attr(RtMessages.IFLA_IFNAME, name),
                                                attr(
                                                        RtMessages.IFLA_IFNAME | 0x8000,
                                                        "nested-flag-ignored\0"
                                                                .getBytes(
                                                                        StandardCharsets.US_ASCII)))
                                        .bytes()));
        assertEquals(12, l.index());
        assertEquals("veth-a", l.name(), "the first IFLA_IFNAME, without its NUL");
        assertTrue(l.up());
        assertTrue(l.ethernet());
        assertFalse(l.loopback());
        assertArrayEquals(mac, l.address());

        Link tun =
                RtMessages.link(
                        only(
                                new Answer()
                                        .message(
                                                RtMessages.RTM_NEWLINK,
                                                1,
                                                ifinfomsg(65534, 13, Link.IFF_UP),
                                                attr(
                                                        RtMessages.IFLA_IFNAME,
                                                        "tun0\0".getBytes(UTF_8)))
                                        .bytes()));
        assertFalse(tun.ethernet(), "ARPHRD_NONE without an address is not Ethernet");
        assertNull(tun.address());
    }

    @Test
    void neighbourAnswerGivesStateAndLinkLayerAddress() throws Exception {
        byte[] mac = {2, 0, 0, 0, 1, 2};
        byte[] d =
                new Answer()
                        .message(
                                RtMessages.RTM_NEWNEIGH,
                                4,
                                ndmsg(7, Neighbour.NUD_REACHABLE),
                                attr(RtMessages.NDA_DST, new byte[] {10, 0, 0, 7}),
                                attr(RtMessages.NDA_LLADDR, mac))
                        .bytes();
        Message m = only(d);
        Neighbour n = RtMessages.neighbour(m);
        assertEquals(7, n.ifindex());
        assertTrue(n.usable());
        assertArrayEquals(mac, n.lladdr());
        assertEquals(InetAddress.getByName("10.0.0.7"), RtMessages.neighbourDst(m));

        Neighbour failed =
                RtMessages.neighbour(
                        only(
                                new Answer()
                                        .message(
                                                RtMessages.RTM_NEWNEIGH,
                                                4,
                                                ndmsg(7, Neighbour.NUD_FAILED),
                                                attr(RtMessages.NDA_LLADDR, mac))
                                        .bytes()));
        assertFalse(failed.usable(), "a FAILED entry keeps its old address but must not be used");
        Neighbour incomplete =
                RtMessages.neighbour(
                        only(
                                new Answer()
                                        .message(
                                                RtMessages.RTM_NEWNEIGH,
                                                4,
                                                ndmsg(7, Neighbour.NUD_INCOMPLETE))
                                        .bytes()));
        assertFalse(incomplete.usable());
    }

    @Test
    void aDatagramSplitsIntoItsMessagesAndTheyOutliveTheReceiveBuffer() throws Exception {
        byte[] d =
                new Answer()
                        .message(
                                RtMessages.RTM_NEWLINK,
                                2,
                                ifinfomsg(1, 1, 1),
                                attr(RtMessages.IFLA_IFNAME, "a\0".getBytes(UTF_8)))
                        .message(
                                RtMessages.RTM_NEWLINK,
                                2,
                                ifinfomsg(1, 2, 1),
                                attr(RtMessages.IFLA_IFNAME, "bb\0".getBytes(UTF_8)))
                        .message(RtMessages.NLMSG_DONE, 2, u32(0))
                        .bytes();
        byte[] buf = Arrays.copyOf(d, 4096);
        List<Message> ms = RtMessages.split(buf, d.length);
        Arrays.fill(buf, (byte) 0x55); // the next recv() into the same buffer
        assertEquals(3, ms.size());
        assertEquals("a", RtMessages.link(ms.get(0)).name());
        assertEquals("bb", RtMessages.link(ms.get(1)).name());
        assertEquals(RtMessages.NLMSG_DONE, ms.get(2).type());
        assertEquals(0, RtMessages.doneError(ms.get(2)));
    }

    @Test
    void errorsCarryTheKernelsErrno() throws Exception {
        byte[] d =
                new Answer().message(RtMessages.NLMSG_ERROR, 5, u32(-101)).bytes(); // -ENETUNREACH
        assertEquals(101, RtMessages.error(only(d)));
        assertEquals(
                0,
                RtMessages.error(
                        only(new Answer().message(RtMessages.NLMSG_ERROR, 5, u32(0)).bytes())));
    }

    @Test
    void malformedAnswersAreRefusedNotMisread() throws Exception {
        byte[] good =
                new Answer()
                        .message(
                                RtMessages.RTM_NEWLINK,
                                1,
                                ifinfomsg(1, 3, 1),
                                attr(RtMessages.IFLA_IFNAME, "eth0\0".getBytes(UTF_8)))
                        .bytes();

        // a message longer than the datagram
        byte[] longer = good.clone();
        le(longer).putInt(0, good.length + 4);
        assertMalformed(() -> RtMessages.split(longer, longer.length));
        // a message shorter than its own header
        byte[] shorter = good.clone();
        le(shorter).putInt(0, 8);
        assertMalformed(() -> RtMessages.split(shorter, shorter.length));
        // stray bytes after the last message
        byte[] trailing = Arrays.copyOf(good, good.length + 6);
        assertMalformed(() -> RtMessages.split(trailing, trailing.length));
        // an attribute running past its message
        byte[] attrPast = good.clone();
        le(attrPast).putShort(32, (short) 200);
        assertMalformed(() -> RtMessages.link(only(attrPast)));
        // an attribute shorter than its own header
        byte[] attrShort = good.clone();
        le(attrShort).putShort(32, (short) 2);
        assertMalformed(() -> RtMessages.link(only(attrShort)));
        // a link message cut inside its ifinfomsg
        byte[] cut = new Answer().message(RtMessages.RTM_NEWLINK, 1, new byte[8]).bytes();
        assertMalformed(() -> RtMessages.link(only(cut)));
        // the wrong message for the question
        assertMalformed(() -> RtMessages.route(only(good)));
        // an address of a length no family has
        byte[] badGw =
                new Answer()
                        .message(
                                RtMessages.RTM_NEWROUTE,
                                1,
                                rtmsg(2, 1),
                                attr(RtMessages.RTA_GATEWAY, new byte[] {1, 2, 3}))
                        .bytes();
        assertMalformed(() -> RtMessages.route(only(badGw)));
        // an RTA_OIF that is not a u32
        byte[] badOif =
                new Answer()
                        .message(
                                RtMessages.RTM_NEWROUTE,
                                1,
                                rtmsg(2, 1),
                                attr(RtMessages.RTA_OIF, new byte[] {1, 2}))
                        .bytes();
        assertMalformed(() -> RtMessages.route(only(badOif)));
        // an error message without its errno
        byte[] shortErr = new Answer().message(RtMessages.NLMSG_ERROR, 1, new byte[0]).bytes();
        assertMalformed(() -> RtMessages.error(only(shortErr)));
    }

    private interface Parse {
        void run() throws NetlinkException;
    }

    private static void assertMalformed(Parse p) {
        NetlinkException e = assertThrows(NetlinkException.class, p::run);
        assertTrue(e.getMessage().startsWith("malformed netlink answer"), e.getMessage());
        assertEquals(0, e.errno());
    }
}
