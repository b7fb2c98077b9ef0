package io.msm.bpf;

import io.msm.bpf.libbpf.Errno;

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
        switch (Math.abs(errno)) {
            case Errno.EPERM:
            case Errno.EACCES:
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
}
