package io.msm.agent.net.netlink;

/**
 * A neighbour-table entry (RTM_NEWNEIGH): its NUD state bits and link-layer address (null when none
 * yet).
 */
public record Neighbour(int ifindex, int state, byte[] lladdr) {
    public static final int NUD_INCOMPLETE = 0x01;
    public static final int NUD_REACHABLE = 0x02;
    public static final int NUD_STALE = 0x04;
    public static final int NUD_FAILED = 0x20;
    public static final int NUD_PERMANENT = 0x80;

    /** Has an address packets can be sent to now (not FAILED, not still INCOMPLETE). */
    public boolean usable() {
        return lladdr != null && lladdr.length > 0 && (state & (NUD_FAILED | NUD_INCOMPLETE)) == 0;
    }
}
