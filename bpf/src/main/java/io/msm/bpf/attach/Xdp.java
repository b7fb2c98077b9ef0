package io.msm.bpf.attach;

import io.msm.bpf.BpfException;
import io.msm.bpf.libbpf.Errno;
import io.msm.bpf.libbpf.Native;
import io.msm.bpf.libbpf.Opts;
import java.util.Locale;
import jnr.ffi.byref.IntByReference;

/**
 * XDP attachment through netlink (bpf_xdp_attach). Never replaces another program: attaching where
 * a foreign program sits fails, and detaching only removes the program given as "expected".
 */
public final class Xdp {
    public static final int XDP_FLAGS_UPDATE_IF_NOEXIST = 1;
    public static final int XDP_FLAGS_SKB_MODE = 2;
    public static final int XDP_FLAGS_DRV_MODE = 4;
    public static final int XDP_FLAGS_REPLACE = 16;

    private Xdp() {}

    public record Attached(int ifindex, XdpMode mode, int progId) {}

    /**
     * Attach progFd. {@code expectedOldFd} is the program allowed to be replaced (msm's previous
     * one) or -1 for "only if nothing is attached".
     */
    public static Attached attach(int ifindex, int progFd, XdpMode mode, int expectedOldFd) {
        if (mode == XdpMode.AUTO) {
            try {
                return attach(ifindex, progFd, XdpMode.NATIVE, expectedOldFd);
            } catch (BpfException e) {
                if (e.errno() == Errno.EOPNOTSUPP || e.errno() == Errno.EINVAL) {
                    return attach(ifindex, progFd, XdpMode.GENERIC, expectedOldFd);
                }
                throw e;
            }
        }
        Native n = Native.get();
        int flags = mode.flag();
        int rc;
        if (expectedOldFd >= 0) {
            rc =
                    n.bpf.bpf_xdp_attach(
                            ifindex,
                            progFd,
                            flags | XDP_FLAGS_REPLACE,
                            Opts.xdpAttachOpts(n, expectedOldFd));
        } else {
            rc = n.bpf.bpf_xdp_attach(ifindex, progFd, flags | XDP_FLAGS_UPDATE_IF_NOEXIST, null);
        }
        if (rc < 0) {
            if (-rc == Errno.EBUSY || -rc == Errno.EEXIST) {
                throw new BpfException(
                        "ifindex "
                                + ifindex
                                + " already has an XDP program (id "
                                + queryId(ifindex, mode)
                                + ") that is not msm's; msm will not replace it — detach it or run msm without XDP",
                        rc);
            }
            String hint = BpfException.hintFor(rc);
            throw new BpfException(
                    "attach XDP ("
                            + mode.name().toLowerCase(Locale.ROOT)
                            + ") on ifindex "
                            + ifindex
                            + ": "
                            + n.describe(rc)
                            + (hint != null ? " — " + hint : ""),
                    rc);
        }
        return new Attached(ifindex, mode, queryId(ifindex, mode));
    }

    /** Program id attached in that mode (AUTO: any mode), 0 if none. */
    public static int queryId(int ifindex, XdpMode mode) {
        Native n = Native.get();
        IntByReference id = new IntByReference();
        int rc = n.bpf.bpf_xdp_query_id(ifindex, mode.flag(), id);
        if (rc < 0) {
            return 0;
        }
        return id.intValue();
    }

    /** Detach expectedFd from ifindex in mode; false if it was not attached there. */
    public static boolean detach(int ifindex, XdpMode mode, int expectedFd) {
        Native n = Native.get();
        int rc =
                n.bpf.bpf_xdp_detach(
                        ifindex,
                        mode.flag() | XDP_FLAGS_REPLACE,
                        Opts.xdpAttachOpts(n, expectedFd));
        if (rc < 0) {
            int e = -rc;
            if (e == Errno.EEXIST || e == Errno.ENOENT || e == Errno.ENODEV || e == Errno.EINVAL) {
                return false;
            }
            throw new BpfException(
                    "detach XDP from ifindex " + ifindex + ": " + n.describe(rc), rc);
        }
        return true;
    }
}
