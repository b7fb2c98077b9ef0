package io.msm.bpf.attach;

import io.msm.bpf.BpfException;
import io.msm.bpf.libbpf.Errno;
import io.msm.bpf.libbpf.Native;
import io.msm.bpf.libbpf.Opts;
import java.util.Optional;
import jnr.ffi.Pointer;

/**
 * A direct-action BPF filter on an interface's clsact ingress hook, through libbpf's netlink TC API
 * (Linux 6.1 has no TCX links). msm's filter is identified by its handle and priority; only that
 * filter is ever replaced or removed, never another program's.
 */
public final class TcIngress {
    /** Handle of msm's filters ("MSM"). */
    public static final int DEFAULT_HANDLE = 0x4d534d;

    /** Priority of msm's filters: first on the hook. */
    public static final int DEFAULT_PRIORITY = 1;

    private TcIngress() {}

    /** Result of {@link #attach}: whether this call created the clsact qdisc. */
    public record Attached(int ifindex, int progId, boolean createdQdisc) {}

    /**
     * Attach progFd at (handle, priority) on ifindex's ingress. If a filter is already at that slot
     * it is replaced only when {@code replace} is true (the caller checked it is msm's); otherwise
     * EEXIST is an error.
     */
    public static Attached attach(
            int ifindex, int progFd, int handle, int priority, boolean replace) {
        Native n = Native.get();
        Pointer hook = Opts.tcHook(n, ifindex, Opts.BPF_TC_INGRESS);
        int rc = n.bpf.bpf_tc_hook_create(hook);
        boolean created = rc == 0;
        if (rc < 0 && -rc != Errno.EEXIST) {
            throw fail(n, "create clsact qdisc on ifindex " + ifindex, rc);
        }
        Pointer opts =
                Opts.tcOpts(n, progFd, replace ? Opts.BPF_TC_F_REPLACE : 0, handle, priority);
        rc = n.bpf.bpf_tc_attach(hook, opts);
        if (rc < 0) {
            if (created) {
                n.bpf.bpf_tc_hook_destroy(
                        Opts.tcHook(n, ifindex, Opts.BPF_TC_INGRESS | Opts.BPF_TC_EGRESS));
            }
            if (-rc == Errno.EEXIST) {
                throw new BpfException(
                        "ifindex "
                                + ifindex
                                + " already has a TC ingress filter at handle 0x"
                                + Integer.toHexString(handle)
                                + " priority "
                                + priority
                                + " that is not msm's; choose another priority",
                        rc);
            }
            throw fail(n, "attach TC ingress filter on ifindex " + ifindex, rc);
        }
        return new Attached(ifindex, opts.getInt(Opts.TC_OPTS_PROG_ID), created);
    }

    /**
     * Make sure ifindex has a clsact qdisc; true if this call created it. (Querying a hook without
     * one makes the kernel complain on stderr.)
     */
    public static boolean ensureClsact(int ifindex) {
        Native n = Native.get();
        int rc = n.bpf.bpf_tc_hook_create(Opts.tcHook(n, ifindex, Opts.BPF_TC_INGRESS));
        if (rc < 0 && -rc != Errno.EEXIST) {
            throw fail(n, "create clsact qdisc on ifindex " + ifindex, rc);
        }
        return rc == 0;
    }

    /** The program id at (handle, priority) on ifindex's ingress, if any. */
    public static Optional<Integer> query(int ifindex, int handle, int priority) {
        Native n = Native.get();
        Pointer hook = Opts.tcHook(n, ifindex, Opts.BPF_TC_INGRESS);
        Pointer opts = Opts.tcOpts(n, 0, 0, handle, priority);
        int rc = n.bpf.bpf_tc_query(hook, opts);
        if (rc < 0) {
            int e = -rc;
            if (e == Errno.ENOENT || e == Errno.EINVAL || e == Errno.ENODEV) {
                return Optional.empty();
            }
            throw fail(n, "query TC ingress filter on ifindex " + ifindex, rc);
        }
        return Optional.of(opts.getInt(Opts.TC_OPTS_PROG_ID));
    }

    /** Remove the filter at (handle, priority); false if there was none. */
    public static boolean detach(int ifindex, int handle, int priority) {
        Native n = Native.get();
        Pointer hook = Opts.tcHook(n, ifindex, Opts.BPF_TC_INGRESS);
        Pointer opts = Opts.tcOpts(n, 0, 0, handle, priority);
        int rc = n.bpf.bpf_tc_detach(hook, opts);
        if (rc < 0) {
            int e = -rc;
            if (e == Errno.ENOENT || e == Errno.EINVAL || e == Errno.ENODEV) {
                return false;
            }
            throw fail(n, "detach TC ingress filter on ifindex " + ifindex, rc);
        }
        return true;
    }

    /**
     * Delete the clsact qdisc (and with it every filter on it). Only for a qdisc msm created and on
     * which msm's filter was the only one.
     */
    public static void destroyQdisc(int ifindex) {
        Native n = Native.get();
        int rc =
                n.bpf.bpf_tc_hook_destroy(
                        Opts.tcHook(n, ifindex, Opts.BPF_TC_INGRESS | Opts.BPF_TC_EGRESS));
        if (rc < 0 && -rc != Errno.ENOENT && -rc != Errno.EINVAL && -rc != Errno.ENODEV) {
            throw fail(n, "delete clsact qdisc on ifindex " + ifindex, rc);
        }
    }

    private static BpfException fail(Native n, String what, int rc) {
        String hint = BpfException.hintFor(rc);
        return new BpfException(
                what + ": " + n.describe(rc) + (hint != null ? " — " + hint : ""), rc);
    }
}
