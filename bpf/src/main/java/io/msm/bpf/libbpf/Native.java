package io.msm.bpf.libbpf;

import io.msm.bpf.BpfException;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;

/**
 * Loads libbpf and libc once. A missing libbpf is reported with what to
 * install instead of a linkage error.
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
            bpf = LibraryLoader.create(LibBpf.class)
                    .search("/usr/lib/x86_64-linux-gnu")
                    .search("/usr/lib/aarch64-linux-gnu")
                    .search("/usr/lib64")
                    .search("/usr/lib")
                    .load("bpf");
        } catch (UnsatisfiedLinkError | RuntimeException e) {
            throw new BpfException("cannot load libbpf (" + e.getMessage()
                    + "): install libbpf1 (Debian/Ubuntu) or libbpf (Fedora), version 1.1 or newer", e);
        }
        LibC libc = LibraryLoader.create(LibC.class).load("c");
        return new Native(bpf, libc);
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
