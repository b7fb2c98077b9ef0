package io.msm.agent.net.netlink;

import io.msm.agent.net.netlink.RtMessages.Message;
import io.msm.bpf.libbpf.LibC;
import io.msm.bpf.libbpf.Native;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A NETLINK_ROUTE socket: the kernel's routes, links and neighbours asked directly, as {@code ip
 * route get}, {@code ip link show} and {@code ip neigh get} do, without starting a process for each
 * question.
 *
 * <p>The socket belongs to the network namespace of the thread that opened it. Not thread-safe:
 * open one per task (a socket costs a few microseconds).
 */
public final class RtNetlink implements AutoCloseable {
    private static final int NETLINK_ROUTE = 0;
    private static final int MSG_TRUNC = 0x20;
    private static final int ENOENT = 2;
    private static final int ENODEV = 19;
    private static final int EINVAL = 22;
    private static final int EOPNOTSUPP = 95;
    private static final int EAGAIN = 11;
    private static final int EINTR = 4;
    private static final int ENOBUFS = 105;
    private static final int RTMGRP_LINK = 0x1;
    private static final int DUMP_RETRIES = 3;
    private static final int TIMEOUT_S = 5;

    private final Native n;
    private final int fd;
    private final byte[] buf = new byte[64 * 1024];
    private int seq;
    private boolean closed;

    private RtNetlink(Native n, int fd) {
        this.n = n;
        this.fd = fd;
    }

    /** Open a socket in the calling thread's network namespace. */
    public static RtNetlink open() throws NetlinkException {
        // the kernel answers as it is asked, but never wait for ever on a lost answer
        return open(TIMEOUT_S * 1000L, 0);
    }

    /**
     * A socket that hears of every link added, changed or removed in the calling thread's network
     * namespace (the RTMGRP_LINK multicast group), for {@link #awaitLinkChange}; it answers
     * requests too.
     */
    public static RtNetlink openLinkEvents(long pollMs) throws NetlinkException {
        return open(pollMs, RTMGRP_LINK);
    }

    private static RtNetlink open(long receiveTimeoutMs, int groups) throws NetlinkException {
        Native n = Native.get();
        int fd = n.libc.socket(LibC.AF_NETLINK, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0) {
            int e = n.lastErrno();
            throw new NetlinkException("cannot open a netlink socket: " + n.describe(e), e);
        }
        ByteBuffer tv =
                ByteBuffer.allocate(16)
                        .order(RtMessages.ORDER)
                        .putLong(receiveTimeoutMs / 1000)
                        .putLong(receiveTimeoutMs % 1000 * 1000);
        n.libc.setsockopt(fd, LibC.SOL_SOCKET, LibC.SO_RCVTIMEO, tv.array(), 16);
        if (groups != 0) {
            byte[] sa = RtMessages.sockaddrNl(groups);
            if (n.libc.bind(fd, sa, sa.length) != 0) {
                int e = n.lastErrno();
                n.libc.close(fd);
                throw new NetlinkException(
                        "cannot join the netlink link events: " + n.describe(e), e);
            }
        }
        return new RtNetlink(n, fd);
    }

    /**
     * Wait up to the socket's poll time for link events: true when a link was added, changed or
     * removed since the last call — or when events were lost (the socket overran), so the caller
     * must look again; false when nothing happened. Only for sockets from {@link #openLinkEvents}.
     */
    public boolean awaitLinkChange() throws NetlinkException {
        ensureOpen();
        while (true) {
            long rc = recvOnce();
            if (rc < 0) {
                int e = (int) -rc;
                if (e == EAGAIN) {
                    return false;
                }
                if (e == ENOBUFS) {
                    return true; // events were dropped: whatever they said, look again
                }
                throw new NetlinkException("cannot read link events: " + n.describe(e), e);
            }
            if (rc > buf.length) {
                return true; // too big to read whole: something changed
            }
            for (Message m : RtMessages.split(buf, (int) rc)) {
                if (m.type() == RtMessages.RTM_NEWLINK || m.type() == RtMessages.RTM_DELLINK) {
                    return true;
                }
            }
        }
    }

    /**
     * The route a packet to dst would take; empty when the kernel has none (unreachable,
     * prohibited).
     */
    public Optional<Route> route(InetAddress dst) throws NetlinkException {
        try {
            return Optional.of(
                    RtMessages.route(
                            single(
                                    RtMessages.routeGet(++seq, dst),
                                    "route to " + dst.getHostAddress())));
        } catch (NetlinkException e) {
            return switch (e.errno()) {
                case 101, 113, 1, 13 ->
                        Optional.empty(); // ENETUNREACH, EHOSTUNREACH, EPERM, EACCES (prohibit)
                default -> throw e;
            };
        }
    }

    /** The interface with this index, or empty when there is none. */
    public Optional<Link> link(int ifindex) throws NetlinkException {
        try {
            return Optional.of(
                    RtMessages.link(single(RtMessages.linkGet(++seq, ifindex), "link " + ifindex)));
        } catch (NetlinkException e) {
            if (e.errno() == ENODEV || e.errno() == ENOENT) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /** Every interface of the namespace. */
    public List<Link> links() throws NetlinkException {
        List<Link> out = new ArrayList<>();
        for (Message m : dump(() -> RtMessages.linkDump(++seq), "links")) {
            out.add(RtMessages.link(m));
        }
        return out;
    }

    /**
     * The neighbour entry of addr on ifindex, or empty when the kernel has none. Kernels before 5.0
     * cannot answer for one entry; there the family's table is read and searched.
     */
    public Optional<Neighbour> neighbour(InetAddress addr, int ifindex) throws NetlinkException {
        try {
            return Optional.of(
                    RtMessages.neighbour(
                            single(
                                    RtMessages.neighGet(++seq, addr, ifindex),
                                    "neighbour " + addr.getHostAddress())));
        } catch (NetlinkException e) {
            if (e.errno() == ENOENT) {
                return Optional.empty();
            }
            if (e.errno() != EINVAL && e.errno() != EOPNOTSUPP) {
                throw e;
            }
        }
        int family = RtMessages.family(addr);
        for (Message m : dump(() -> RtMessages.neighDump(++seq, family), "neighbours")) {
            Neighbour nb = RtMessages.neighbour(m);
            if (nb.ifindex() == ifindex && addr.equals(RtMessages.neighbourDst(m))) {
                return Optional.of(nb);
            }
        }
        return Optional.empty();
    }

    /**
     * Whether an interface has any tc filter (of any kind, any owner) under a parent, e.g. {@link
     * #CLSACT_INGRESS}: whether {@code tc filter show dev D ingress} lists anything. An interface
     * without that qdisc has none.
     */
    public boolean hasFilters(int ifindex, int parent) throws NetlinkException {
        for (Message m :
                dump(
                        () -> RtMessages.filterDump(++seq, ifindex, parent),
                        "tc filters of " + ifindex)) {
            if (m.type() == RtMessages.RTM_NEWTFILTER) {
                return true;
            }
        }
        return false;
    }

    public static final int CLSACT_INGRESS = RtMessages.TC_PARENT_CLSACT_INGRESS;
    public static final int CLSACT_EGRESS = RtMessages.TC_PARENT_CLSACT_EGRESS;

    private interface RequestFactory {
        byte[] next();
    }

    /** Send a request and return its one answer (or throw the kernel's error). */
    private Message single(byte[] req, String what) throws NetlinkException {
        int want = send(req, what);
        while (true) {
            for (Message m : receive(what)) {
                if (m.seq() != want) {
                    continue; // a late answer to an earlier, abandoned request
                }
                if (m.type() == RtMessages.NLMSG_ERROR) {
                    int e = RtMessages.error(m);
                    throw new NetlinkException(
                            what
                                    + ": "
                                    + (e == 0 ? "acknowledged without an answer" : n.describe(e)),
                            e);
                }
                return m;
            }
        }
    }

    /** Send a dump request and collect its messages; retried when the table changed meanwhile. */
    private List<Message> dump(RequestFactory req, String what) throws NetlinkException {
        for (int attempt = 1; ; attempt++) {
            int want = send(req.next(), what);
            List<Message> out = new ArrayList<>();
            boolean interrupted = false;
            boolean done = false;
            while (!done) {
                for (Message m : receive(what)) {
                    if (m.seq() != want) {
                        continue;
                    }
                    interrupted |= (m.flags() & RtMessages.NLM_F_DUMP_INTR) != 0;
                    if (m.type() == RtMessages.NLMSG_ERROR) {
                        int e = RtMessages.error(m);
                        throw new NetlinkException("dump of " + what + ": " + n.describe(e), e);
                    }
                    if (m.type() == RtMessages.NLMSG_DONE) {
                        int e = RtMessages.doneError(m);
                        if (e != 0) {
                            throw new NetlinkException("dump of " + what + ": " + n.describe(e), e);
                        }
                        done = true;
                        break;
                    }
                    out.add(m);
                }
            }
            if (!interrupted) {
                return out;
            }
            if (attempt == DUMP_RETRIES) {
                throw new NetlinkException(
                        "dump of "
                                + what
                                + " interrupted by changes "
                                + DUMP_RETRIES
                                + " times in a row",
                        0);
            }
        }
    }

    private int send(byte[] req, String what) throws NetlinkException {
        ensureOpen();
        int s = ByteBuffer.wrap(req).order(RtMessages.ORDER).getInt(8);
        while (true) {
            long rc = n.libc.send(fd, req, req.length, 0);
            if (rc == req.length) {
                return s;
            }
            int e = n.lastErrno();
            if (rc < 0 && e == EINTR) {
                continue;
            }
            throw new NetlinkException(
                    "cannot ask the kernel for "
                            + what
                            + ": "
                            + (rc < 0 ? n.describe(e) : "short send of " + rc + " bytes"),
                    rc < 0 ? e : 0);
        }
    }

    /** One datagram into buf, EINTR retried: its whole length (MSG_TRUNC), or -errno. */
    private long recvOnce() {
        while (true) {
            long rc = n.libc.recv(fd, buf, buf.length, MSG_TRUNC);
            if (rc >= 0) {
                return rc;
            }
            int e = n.lastErrno();
            if (e != EINTR) {
                return -e;
            }
        }
    }

    private List<Message> receive(String what) throws NetlinkException {
        while (true) {
            long rc = recvOnce();
            if (rc < 0) {
                int e = (int) -rc;
                throw new NetlinkException(
                        e == EAGAIN
                                ? "no answer about " + what + " within " + TIMEOUT_S + " s"
                                : "cannot read the answer about " + what + ": " + n.describe(e),
                        e);
            }
            if (rc > buf.length) {
                throw new NetlinkException(
                        "the answer about "
                                + what
                                + " ("
                                + rc
                                + " bytes) is larger than "
                                + buf.length
                                + " bytes",
                        0);
            }
            return RtMessages.split(buf, (int) rc);
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("netlink socket closed");
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            n.libc.close(fd);
        }
    }
}
