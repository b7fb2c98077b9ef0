package io.msm.bpf;

import io.msm.bpf.libbpf.Native;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The BPF filesystem where msm pins its maps and programs. */
public final class Bpffs {
    public static final String DEFAULT_ROOT = "/sys/fs/bpf";

    private Bpffs() {}

    /** True if path lies on a mounted bpf filesystem. */
    public static boolean isBpffs(Path path) {
        Path abs = path.toAbsolutePath().normalize();
        String best = null;
        String bestType = null;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
                String[] f = line.split(" ");
                if (f.length < 3) {
                    continue;
                }
                String mnt = f[1].replace("\\040", " ");
                if (abs.startsWith(mnt) && (best == null || mnt.length() > best.length())) {
                    best = mnt;
                    bestType = f[2];
                }
            }
        } catch (IOException e) {
            return false;
        }
        return "bpf".equals(bestType);
    }

    /**
     * Make dir usable for pins: mount bpffs on /sys/fs/bpf if dir is below it and nothing is
     * mounted there, then create dir.
     */
    public static Path ensure(String dir) {
        Path p = Path.of(dir).toAbsolutePath().normalize();
        if (!isBpffs(p)) {
            Path root = Path.of(DEFAULT_ROOT);
            if (p.startsWith(root) && !isBpffs(root)) {
                int rc = Native.get().libc.mount("bpf", DEFAULT_ROOT, "bpf", 0, null);
                if (rc != 0) {
                    int e = Native.get().lastErrno();
                    throw new BpfException(
                            "cannot mount bpffs on "
                                    + DEFAULT_ROOT
                                    + ": "
                                    + Native.get().describe(e)
                                    + " — mount it (mount -t bpf bpf /sys/fs/bpf) or run as root",
                            e);
                }
            }
            if (!isBpffs(p)) {
                throw new BpfException(
                        dir
                                + " is not on a bpf filesystem: use a directory under a bpffs mount "
                                + "(default "
                                + DEFAULT_ROOT
                                + "/msm)");
            }
        }
        try {
            Files.createDirectories(p);
        } catch (IOException e) {
            throw new BpfException("cannot create " + p + ": " + e.getMessage(), e);
        }
        return p;
    }

    /** Remove pins below dir (files first, then the directory); missing is fine. */
    public static void removeTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (var s = Files.walk(dir)) {
            List<Path> all = s.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList();
            for (Path q : all) {
                Files.deleteIfExists(q);
            }
        } catch (IOException e) {
            throw new BpfException("cannot remove pins under " + dir + ": " + e.getMessage(), e);
        }
    }
}
