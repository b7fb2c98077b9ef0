package io.msm.agent.net.netlink;

/**
 * A network interface as RTM_NEWLINK describes it: index, name, hardware type (ARPHRD_*), flags
 * (IFF_*) and link-layer address (null when it has none).
 */
public record Link(int index, String name, int type, int flags, byte[] address) {
    public static final int ARPHRD_ETHER = 1;
    public static final int ARPHRD_LOOPBACK = 772;
    public static final int IFF_UP = 0x1;

    public boolean up() {
        return (flags & IFF_UP) != 0;
    }

    public boolean loopback() {
        return type == ARPHRD_LOOPBACK;
    }

    /** An Ethernet interface with a 6-byte address (not tun, wireguard, ip tunnels). */
    public boolean ethernet() {
        return type == ARPHRD_ETHER && address != null && address.length == 6;
    }
}
