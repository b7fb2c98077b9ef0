package io.msm.agent.datapath;

import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * net.core.netdev_max_backlog: a fanned-out packet's clones all queue on the CPU's backlog before
 * the veth peers drain it, so a group larger than the limit (default 1000) silently loses copies.
 * The agent raises it and says so.
 */
public final class Backlog {
    private static final Logger log = LoggerFactory.getLogger(Backlog.class);
    static final String PATH = "/proc/sys/net/core/netdev_max_backlog";

    private Backlog() {}

    /** Raise to at least min (0: leave alone); returns the value in force. */
    public static long ensureAtLeast(long min) {
        try {
            long cur = Long.parseLong(Sysfs.read(PATH));
            if (min > 0 && cur < min) {
                Sysfs.write(PATH, Long.toString(min));
                log.info(
                        "raised net.core.netdev_max_backlog from {} to {}: each fanned-out packet queues one clone "
                                + "per subscriber on the CPU backlog",
                        cur,
                        min);
                return min;
            }
            return cur;
        } catch (IOException | NumberFormatException e) {
            log.warn(
                    "cannot read/raise net.core.netdev_max_backlog ({}); large fan-out groups may lose copies",
                    e.getMessage());
            return -1;
        }
    }

    /**
     * Packets dropped because a CPU backlog was full, all CPUs (column 2 of
     * /proc/net/softnet_stat).
     */
    public static long softnetDrops() {
        try {
            long sum = 0;
            for (String line : Sysfs.read("/proc/net/softnet_stat").split("\n")) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 1) {
                    sum += Long.parseLong(f[1], 16);
                }
            }
            return sum;
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }
}
