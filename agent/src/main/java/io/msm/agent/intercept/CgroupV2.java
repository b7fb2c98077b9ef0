package io.msm.agent.intercept;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified
 * on systemd's hybrid layout (where systemd mirrors its slices, kubepods.slice included, into the
 * v2 tree).
 */
public final class CgroupV2 {
    private CgroupV2() {}

    /** The first cgroup2 mount in mountsText (/proc/self/mounts), /sys/fs/cgroup preferred. */
    public static Optional<Path> mountPoint(String mountsText) {
        Path best = null;
        for (String line : mountsText.split("\n")) {
            String[] f = line.split(" ");
            if (f.length >= 3 && "cgroup2".equals(f[2])) {
                Path p = Path.of(f[1].replace("\\040", " "));
                if (p.equals(Path.of("/sys/fs/cgroup"))) {
                    return Optional.of(p);
                }
                if (best == null) {
                    best = p;
                }
            }
        }
        return Optional.ofNullable(best);
    }

    /** The cgroup v2 mount of this process's mount namespace. */
    public static Optional<Path> mountPoint() {
        try {
            return mountPoint(Files.readString(Path.of("/proc/self/mounts")));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * The mount point, or an error that says what to do: interception attaches to pod cgroups,
     * which only cgroup v2 has.
     */
    public static Path require() {
        return mountPoint()
                .orElseThrow(
                        () ->
                                new IllegalStateException(
                                        "no cgroup v2 hierarchy is mounted (checked /proc/self/mounts): pod interception needs cgroup v2 — "
                                                + "boot the node with systemd.unified_cgroup_hierarchy=1, mount the host's /sys/fs/cgroup into "
                                                + "the agent, or set kubernetes.intercept.cgroup-root"));
    }

    /** The cgroup v2 directory of a process (from /proc/PID/cgroup, line "0::/path"). */
    public static Optional<Path> ofProcess(Path root, long pid) {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"));
            for (String l : lines) {
                if (l.startsWith("0::")) {
                    String rel = l.substring(3);
                    return Optional.of(rel.equals("/") ? root : root.resolve(rel.substring(1)));
                }
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }
}
