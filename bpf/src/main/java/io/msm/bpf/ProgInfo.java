package io.msm.bpf;

import io.msm.bpf.libbpf.Native;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * What the kernel says about a loaded program (struct bpf_prog_info).
 *
 * @param verifiedInsns the verifier's "processed N insns" for this program
 * @param runTimeNs total run time (only counted with kernel.bpf_stats_enabled=1)
 * @param runCount runs (idem)
 */
public record ProgInfo(
        int type,
        int id,
        String name,
        int xlatedLen,
        int verifiedInsns,
        long runTimeNs,
        long runCount) {
    private static final int SIZE = 232;

    public static ProgInfo of(int fd) {
        Native n = Native.get();
        Pointer buf = Memory.allocateDirect(n.runtime, SIZE, true);
        Pointer len = Memory.allocateDirect(n.runtime, 4, true);
        len.putInt(0, SIZE);
        int rc = n.bpf.bpf_obj_get_info_by_fd(fd, buf, len);
        if (rc < 0) {
            throw new BpfException(
                    "bpf_obj_get_info_by_fd(prog fd " + fd + "): " + n.describe(rc), rc);
        }
        byte[] name = new byte[16];
        buf.get(64, name, 0, 16);
        int z = 0;
        while (z < 16 && name[z] != 0) {
            z++;
        }
        int got = len.getInt(0);
        int verified = got >= 220 ? buf.getInt(216) : 0;
        long runTime = got >= 200 ? buf.getLong(192) : 0;
        long runCnt = got >= 208 ? buf.getLong(200) : 0;
        return new ProgInfo(
                buf.getInt(0),
                buf.getInt(4),
                new String(name, 0, z, StandardCharsets.US_ASCII),
                buf.getInt(20),
                verified,
                runTime,
                runCnt);
    }

    /** Info for a program id; empty if the id no longer exists. */
    public static Optional<ProgInfo> byId(int id) {
        Native n = Native.get();
        int fd = n.bpf.bpf_prog_get_fd_by_id(id);
        if (fd < 0) {
            return Optional.empty();
        }
        try {
            return Optional.of(of(fd));
        } finally {
            n.libc.close(fd);
        }
    }
}
