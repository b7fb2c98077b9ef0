package io.msm.bpf.libbpf;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/** The few libc calls the datapath needs that the JDK does not offer. */
public interface LibC {
    int O_RDONLY = 0;
    int O_CLOEXEC = 0x80000;
    int CLONE_NEWNET = 0x40000000;
    int AF_NETLINK = 16;
    int SOCK_RAW = 3;
    int SOCK_CLOEXEC = 0x80000;
    int SOL_SOCKET = 1;
    int SO_RCVTIMEO = 20;

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

    /** Sockets the JDK cannot open (netlink, for routes, links and neighbours). */
    int socket(int domain, int type, int protocol);

    @ssize_t
    long send(int fd, @In byte[] buf, @size_t long len, int flags);

    @ssize_t
    long recv(int fd, @Out byte[] buf, @size_t long len, int flags);

    int setsockopt(int fd, int level, int optname, @In byte[] optval, int optlen);

    int bind(int fd, @In byte[] addr, int addrlen);

    /** Formats a va_list handed to a callback (libbpf's print function). */
    int vsnprintf(Pointer buf, @size_t long size, Pointer fmt, Pointer args);
}
