package io.msm.agent.datapath;

import io.msm.agent.net.netlink.NetlinkException;
import io.msm.agent.net.netlink.RtNetlink;

/**
 * Whether a clsact qdisc still holds any filter, msm's or anybody's (asked over rtnetlink, as tc(8)
 * does).
 */
final class ClsactFilters {
    private ClsactFilters() {}

    /** True only when both hooks are known to be empty: when in doubt the qdisc is kept. */
    static boolean empty(int ifindex) {
        try (RtNetlink nl = RtNetlink.open()) {
            if (nl.link(ifindex).isEmpty()) {
                return false; // gone, and its qdisc with it
            }
            return !nl.hasFilters(ifindex, RtNetlink.CLSACT_INGRESS)
                    && !nl.hasFilters(ifindex, RtNetlink.CLSACT_EGRESS);
        } catch (NetlinkException e) {
            return false;
        }
    }
}
