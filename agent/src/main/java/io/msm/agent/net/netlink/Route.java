package io.msm.agent.net.netlink;

import java.net.InetAddress;

/**
 * The kernel's answer to "how would a packet to dst leave?" (RTM_GETROUTE, what {@code ip route
 * get} prints): the route type (RTN_*), the egress interface, the gateway (null when dst is
 * on-link) and the source address a socket would pick (null when the route has none).
 */
public record Route(int type, int oif, InetAddress gateway, InetAddress preferredSource) {
    public static final int RTN_UNICAST = 1;
    public static final int RTN_LOCAL = 2;

    public boolean local() {
        return type == RTN_LOCAL;
    }
}
