package io.msm.bpf.libbpf;

import io.msm.bpf.BpfException;
import java.nio.charset.StandardCharsets;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads libbpf and libc once. A missing libbpf is reported with what to install instead of a
 * linkage error.
 */
public final class Native {
    private static volatile Native instance;

    public final LibBpf bpf;
    public final LibC libc;
    public final Runtime runtime;

    private Native(LibBpf bpf, LibC libc) {
        this.bpf = bpf;
        this.libc = libc;
        this.runtime = Runtime.getRuntime(bpf);
    }

    /** The loaded libraries; throws {@link BpfException} if libbpf is missing. */
    public static Native get() {
        Native n = instance;
        if (n != null) {
            return n;
        }
        synchronized (Native.class) {
            if (instance == null) {
                instance = load();
            }
            return instance;
        }
    }

    private static Native load() {
        LibBpf bpf;
        try {
            bpf =
                    LibraryLoader.create(LibBpf.class)
                            .search("/usr/lib/x86_64-linux-gnu")
                            .search("/usr/lib/aarch64-linux-gnu")
                            .search("/usr/lib64")
                            .search("/usr/lib")
                            .load("bpf");
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            throw new BpfException(
                    "cannot load libbpf ("
                            + e.getMessage()
                            + "): install libbpf1 (Debian/Ubuntu) or libbpf (Fedora), version 1.1 or newer",
                    e);
        }
        LibC libc = LibraryLoader.create(LibC.class).load("c");
        Native n = new Native(bpf, libc);
        n.routeLibbpfLog();
        return n;
    }

    private static final Logger LIBBPF_LOG = LoggerFactory.getLogger("libbpf");
    private LibBpf.PrintFn printFn; // strong reference: libbpf keeps only the native pointer

    /**
     * libbpf prints to stderr by default, including netlink's answers to probes we expect to fail
     * ("Cannot find specified filter chain"). Route its messages to the "libbpf" logger at DEBUG
     * (warnings too: every failure that matters reaches the caller as an exception with errno).
     */
    private void routeLibbpfLog() {
        printFn =
                (level, fmt, args) -> {
                    if (!LIBBPF_LOG.isDebugEnabled()) {
                        return 0;
                    }
                    Pointer buf = Memory.allocateDirect(runtime, 1024);
                    int len = libc.vsnprintf(buf, 1024, fmt, args);
                    String msg =
                            buf.getString(
                                            0,
                                            Math.max(0, Math.min(len, 1023)),
                                            StandardCharsets.UTF_8)
                                    .trim();
                    LIBBPF_LOG.debug("{}", msg);
                    return len;
                };
        bpf.libbpf_set_print(printFn);
    }

    /** errno of the calling thread after the last native call. */
    public int lastErrno() {
        return runtime.getLastError();
    }

    /** "Operation not permitted (EPERM)" style text for an errno value. */
    public String describe(int errno) {
        int e = Math.abs(errno);
        String name = Errno.name(e);
        String text = libc.strerror(e);
        return name == null ? text : text + " (" + name + ")";
    }
}
