package io.msm.bpf.attach;

import io.msm.bpf.BpfException;
import io.msm.bpf.libbpf.Errno;
import io.msm.bpf.libbpf.LibC;
import io.msm.bpf.libbpf.Native;
import java.nio.file.Path;
import java.util.Locale;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * A BPF program on a cgroup v2 hook, held by a BPF link (bpf_link_create, Linux 5.7+). A link,
 * unlike a plain BPF_PROG_ATTACH, is an object of its own: it can be pinned (the attachment
 * outlives the process), its program swapped atomically ({@link #update}), and detaching it removes
 * exactly this attachment — never another program on the same cgroup (links attach with
 * BPF_F_ALLOW_MULTI semantics).
 */
public final class CgroupLink {
    /** The cgroup hooks msm uses (enum bpf_attach_type). */
    public enum Hook {
        INET4_CONNECT(10),
        INET4_GETPEERNAME(29);

        private final int attachType;

        Hook(int attachType) {
            this.attachType = attachType;
        }

        public int attachType() {
            return attachType;
        }

        public static Hook ofAttachType(int t) {
            for (Hook h : values()) {
                if (h.attachType == t) {
                    return h;
                }
            }
            throw new IllegalArgumentException("not a hook msm uses: attach type " + t);
        }
    }

    /**
     * What the kernel says about a cgroup link; cgroupId 0 means the cgroup is gone (a defunct
     * link).
     */
    public record Info(int linkId, int progId, long cgroupId, int attachType) {
        public boolean defunct() {
            return cgroupId == 0;
        }
    }

    private CgroupLink() {}

    /** Attach progFd to the cgroup directory at hook; returns the new link's descriptor. */
    public static int attach(int progFd, Path cgroupDir, Hook hook) {
        Native n = Native.get();
        int cg = n.libc.open(cgroupDir.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC);
        if (cg < 0) {
            int e = n.lastErrno();
            throw new BpfException(
                    "cannot open cgroup "
                            + cgroupDir
                            + ": "
                            + n.describe(e)
                            + (e == Errno.ENOENT
                                    ? " — the pod's cgroup is gone, or cgroup v2 is not mounted there"
                                    : ""),
                    e);
        }
        try {
            int link = n.bpf.bpf_link_create(progFd, cg, hook.attachType(), null);
            if (link < 0) {
                String hint = BpfException.hintFor(link);
                throw new BpfException(
                        "attach "
                                + hook.name().toLowerCase(Locale.ROOT)
                                + " to cgroup "
                                + cgroupDir
                                + ": "
                                + n.describe(link)
                                + (hint != null ? " — " + hint : "")
                                + (-link == Errno.EBADF ? " (is it a cgroup v2 directory?)" : ""),
                        link);
            }
            return link;
        } finally {
            n.libc.close(cg);
        }
    }

    /** Swap the link's program atomically (a new agent's code, same attachment). */
    public static void update(int linkFd, int newProgFd) {
        Native n = Native.get();
        int rc = n.bpf.bpf_link_update(linkFd, newProgFd, null);
        if (rc < 0) {
            throw new BpfException(
                    "replace the program of cgroup link fd " + linkFd + ": " + n.describe(rc), rc);
        }
    }

    /** Detach the link's program now, whoever else holds the link. */
    public static void detach(int linkFd) {
        Native n = Native.get();
        int rc = n.bpf.bpf_link_detach(linkFd);
        if (rc < 0 && -rc != Errno.ENOLINK && -rc != Errno.ENOENT) {
            throw new BpfException("detach cgroup link fd " + linkFd + ": " + n.describe(rc), rc);
        }
    }

    /**
     * struct bpf_link_info for a cgroup link (type, id, prog_id, then the cgroup union at offset
     * 16).
     */
    public static Info info(int linkFd) {
        Native n = Native.get();
        int size = 64;
        Pointer buf = Memory.allocateDirect(n.runtime, size, true);
        Pointer len = Memory.allocateDirect(n.runtime, 4, true);
        len.putInt(0, size);
        int rc = n.bpf.bpf_obj_get_info_by_fd(linkFd, buf, len);
        if (rc < 0) {
            throw new BpfException(
                    "bpf_obj_get_info_by_fd(link fd " + linkFd + "): " + n.describe(rc), rc);
        }
        return new Info(buf.getInt(4), buf.getInt(8), buf.getLong(16), buf.getInt(24));
    }
}
