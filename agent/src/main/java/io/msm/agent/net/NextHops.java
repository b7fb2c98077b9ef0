package io.msm.agent.net;

import io.msm.agent.net.netlink.Link;
import io.msm.agent.net.netlink.Neighbour;
import io.msm.agent.net.netlink.NetlinkException;
import io.msm.agent.net.netlink.Route;
import io.msm.agent.net.netlink.RtNetlink;
import java.net.InetAddress;
import java.util.Optional;

/**
 * Resolves a destination to its {@link NextHop} from the kernel's routing, link and neighbour
 * tables (over rtnetlink): the answer the kernel itself would use, so the rewritten copies go where
 * a socket's packets would.
 */
public final class NextHops {
    /** Thrown when a destination cannot be served by the kernel fan-out. */
    public static final class Unresolved extends Exception {
        private static final long serialVersionUID = 1L;

        public Unresolved(String message) {
            super(message);
        }
    }

    private NextHops() {}

    /**
     * Resolve dst. {@code probe} is run when the neighbour is not known yet (it should send
     * something to dst so the kernel resolves it); we then wait up to {@code waitMs} for the entry.
     * Asked over netlink in the calling thread's network namespace.
     */
    public static NextHop resolve(InetAddress dst, Runnable probe, long waitMs) throws Unresolved {
        String to = dst.getHostAddress();
        try (RtNetlink nl = RtNetlink.open()) {
            Route route = nl.route(dst).orElseThrow(() -> new Unresolved("no route to " + to));
            Link link =
                    nl.link(route.oif())
                            .orElseThrow(
                                    () ->
                                            new Unresolved(
                                                    "the route to "
                                                            + to
                                                            + " leaves by interface "
                                                            + route.oif()
                                                            + ", which is gone"));
            if (route.local() || link.loopback()) {
                return new NextHop(
                        dst,
                        link.name(),
                        link.index(),
                        route.preferredSource(),
                        new byte[6],
                        new byte[6],
                        true);
            }
            if (!link.ethernet()) {
                throw new Unresolved(
                        "route to "
                                + to
                                + " leaves by "
                                + link.name()
                                + ", which has no Ethernet address (tunnel?): served from userspace");
            }
            InetAddress hop = route.gateway() != null ? route.gateway() : dst;
            Optional<Neighbour> nb = usable(nl.neighbour(hop, link.index()));
            if (nb.isEmpty()) {
                if (probe != null) {
                    probe.run();
                }
                long end = System.nanoTime() + waitMs * 1_000_000;
                while (nb.isEmpty() && System.nanoTime() < end) {
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                    nb = usable(nl.neighbour(hop, link.index()));
                }
            }
            if (nb.isEmpty()) {
                throw new Unresolved(
                        "no neighbour entry for "
                                + hop.getHostAddress()
                                + " on "
                                + link.name()
                                + " after "
                                + waitMs
                                + " ms (unreachable?)");
            }
            return new NextHop(
                    dst,
                    link.name(),
                    link.index(),
                    route.preferredSource(),
                    link.address(),
                    nb.get().lladdr(),
                    false);
        } catch (NetlinkException e) {
            throw new Unresolved("cannot find the next hop to " + to + ": " + e.getMessage());
        }
    }

    private static Optional<Neighbour> usable(Optional<Neighbour> n) {
        return n.filter(Neighbour::usable).filter(x -> x.lladdr().length == 6);
    }
}
