package io.msm.agent.datapath;

import java.io.IOException;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * net.core.netdev_max_backlog: a fanned-out packet's clones all queue on the CPU's backlog before
 * the veth peers drain it, so a group larger than the limit (default 1000) silently loses copies.
 * The agent raises it and says so. In a container /proc/sys is read-only (the runtime mounts it so
 * unless privileged): there the node sets it (the chart's privileged bpffs init container does, or
 * a sysctl.d file), and the agent says so once, as information, not as a warning on every start.
 */
public final class Backlog {
    private static final Logger log = LoggerFactory.getLogger(Backlog.class);
    static final String PATH = "/proc/sys/net/core/netdev_max_backlog";

    private Backlog() {}

    /** What {@link #ensure} found and did: the value in force (-1: unknown) and what to log. */
    record Outcome(long value, Level level, String message) {}

    /** Raise to at least min (0: leave alone); returns the value in force (-1: unknown). */
    public static long ensureAtLeast(long min) {
        Outcome o = ensure(Path.of(PATH), min);
        if (o.message() != null) {
            log.atLevel(o.level()).log(o.message());
        }
        return o.value();
    }

    static Outcome ensure(Path path, long min) {
        long cur;
        try {
            cur = Long.parseLong(Sysfs.read(path.toString()));
        } catch (IOException | NumberFormatException e) {
            if (e instanceof IOException
                    && String.valueOf(e.getMessage()).contains("No such file")) {
                // a global sysctl: only the node's own network namespace shows it
                return new Outcome(
                        -1,
                        Level.INFO,
                        "net.core.netdev_max_backlog is not visible in this network namespace (it is "
                                + "the node's, set in its initial namespace): make it at least "
                                + min
                                + " there, or fan-out groups larger than it may lose copies");
            }
            return new Outcome(
                    -1,
                    Level.WARN,
                    "cannot read net.core.netdev_max_backlog ("
                            + e.getMessage()
                            + "); large fan-out groups may lose copies");
        }
        if (min <= 0 || cur >= min) {
            return new Outcome(cur, Level.DEBUG, null);
        }
        try {
            Sysfs.write(path.toString(), Long.toString(min));
            return new Outcome(
                    min,
                    Level.INFO,
                    "raised net.core.netdev_max_backlog from "
                            + cur
                            + " to "
                            + min
                            + ": each fanned-out packet queues one clone per subscriber on the CPU backlog");
        } catch (IOException e) {
            String known = knownReason(e);
            return new Outcome(
                    cur,
                    known != null ? Level.INFO : Level.WARN,
                    "net.core.netdev_max_backlog is "
                            + cur
                            + ", below "
                            + min
                            + ", and "
                            + (known != null ? known : "cannot be raised (" + e.getMessage() + ")")
                            + ": set it on the node (sysctl -w net.core.netdev_max_backlog="
                            + min
                            + "; the Helm chart's init container does with bpffs.mount=true), "
                            + "or fan-out groups of more than "
                            + cur
                            + " subscribers may lose copies");
        }
    }

    /**
     * Why a write to /proc/sys failed when the reason is an expected one (null otherwise):
     * read-only in a container, or not permitted without CAP_NET_ADMIN.
     */
    static String knownReason(IOException e) {
        String m = String.valueOf(e.getMessage());
        if (m.contains("Read-only file system")) {
            return "/proc/sys is read-only here (a container that is not privileged)";
        }
        if (m.contains("Permission denied") || m.contains("Operation not permitted")) {
            return "this process may not write it (it needs root or CAP_NET_ADMIN)";
        }
        return null;
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
