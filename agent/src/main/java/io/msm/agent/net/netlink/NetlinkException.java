package io.msm.agent.net.netlink;

/** A netlink request the kernel refused (errno set) or an answer we could not read (errno 0). */
public final class NetlinkException extends Exception {
    private static final long serialVersionUID = 1L;

    private final int errno;

    public NetlinkException(String message, int errno) {
        super(message);
        this.errno = errno;
    }

    /** The kernel's errno (positive), or 0 when the answer itself was bad. */
    public int errno() {
        return errno;
    }
}
