package io.msm.bpf;

import io.msm.bpf.libbpf.Errno;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A failed BPF operation: what was attempted, the errno, a hint a user can act on and, for program
 * loads, the verifier log.
 */
public class BpfException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int errno;
    private final String verifierLog;

    public BpfException(String message) {
        this(message, 0, null, null);
    }

    public BpfException(String message, Throwable cause) {
        this(message, 0, null, cause);
    }

    public BpfException(String message, int errno) {
        this(message, errno, null, null);
    }

    public BpfException(String message, int errno, String verifierLog, Throwable cause) {
        super(message, cause);
        this.errno = Math.abs(errno);
        this.verifierLog = verifierLog;
    }

    /** Positive errno, 0 when not from a system call. */
    public int errno() {
        return errno;
    }

    /** The verifier's log for a failed program load, else null. */
    public String verifierLog() {
        return verifierLog;
    }

    public boolean isPermissionDenied() {
        return errno == Errno.EPERM || errno == Errno.EACCES;
    }

    public boolean isNotFound() {
        return errno == Errno.ENOENT;
    }

    /** The hint for errors every BPF user meets. */
    public static String hintFor(int errno) {
        return hintFor(errno, procSelfStatus());
    }

    /**
     * The hint for errno, knowing this process's /proc/self/status (null: unknown): an EPERM under
     * a seccomp filter ("Seccomp: 2") is named as seccomp, since no capability fixes it.
     */
    static String hintFor(int errno, String procStatus) {
        switch (Math.abs(errno)) {
            case Errno.EPERM:
            case Errno.EACCES:
                if (Math.abs(errno) == Errno.EPERM && seccompFiltered(procStatus)) {
                    return SECCOMP_HINT;
                }
                return "needs root or CAP_BPF + CAP_NET_ADMIN (and CAP_PERFMON for some program types)";
            case Errno.ENOENT:
                return "not found";
            case Errno.ENODEV:
                return "no such network interface";
            case Errno.ENOMEM:
            case Errno.E2BIG:
                return "the kernel refused the size; lower the map sizes or raise RLIMIT_MEMLOCK on kernels before 5.11";
            default:
                return null;
        }
    }

    static final String SECCOMP_HINT =
            "blocked by a seccomp filter (this process has \"Seccomp: 2\" in /proc/self/status), "
                    + "not by missing capabilities: container runtimes' default seccomp profiles allow "
                    + "bpf() only with CAP_SYS_ADMIN. Run msm-agent with seccomp Unconfined (the chart's "
                    + "securityContext.seccompProfile, podman/docker --security-opt seccomp=unconfined) "
                    + "or a profile that allows bpf()";

    /** Whether status (the text of /proc/self/status) says a seccomp filter is on (mode 2). */
    static boolean seccompFiltered(String status) {
        if (status == null) {
            return false;
        }
        for (String line : status.split("\n")) {
            if (line.startsWith("Seccomp:")) {
                return line.substring("Seccomp:".length()).strip().equals("2");
            }
        }
        return false;
    }

    private static String procSelfStatus() {
        try {
            return Files.readString(Path.of("/proc/self/status"), StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
