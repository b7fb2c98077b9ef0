package io.msm.bpf.libbpf;

import jnr.ffi.Pointer;
import jnr.ffi.types.size_t;

/** The few libc calls the datapath needs that the JDK does not offer. */
public interface LibC {
    int O_RDONLY = 0;
    int O_CLOEXEC = 0x80000;
    int CLONE_NEWNET = 0x40000000;

    int if_nametoindex(String name);
    Pointer if_indextoname(int ifindex, Pointer buf);
    int open(String path, int flags);
    int close(int fd);
    int setns(int fd, int nstype);
    int mount(String source, String target, String fstype, long flags, Pointer data);
    String strerror(int errnum);
    int getpid();
    int gettid();
    long read(int fd, Pointer buf, @size_t long count);

    /** Formats a va_list handed to a callback (libbpf's print function). */
    int vsnprintf(Pointer buf, @size_t long size, Pointer fmt, Pointer args);
}
