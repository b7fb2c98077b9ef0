package io.msm.bpf.libbpf;

import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * Hand-laid libbpf option structs (x86-64 and arm64 LP64 layouts; every struct starts with {@code
 * size_t sz}, which libbpf uses for forward and backward compatibility, so a shorter struct is
 * always accepted).
 */
public final class Opts {
    private Opts() {}

    /** struct bpf_tc_hook { size_t sz; int ifindex; enum attach_point; u32 parent; } */
    public static final int TC_HOOK_SIZE = 24;

    public static final int BPF_TC_INGRESS = 1;
    public static final int BPF_TC_EGRESS = 2;

    public static Pointer tcHook(Native n, int ifindex, int attachPoint) {
        Pointer p = Memory.allocateDirect(n.runtime, TC_HOOK_SIZE, true);
        p.putLong(0, TC_HOOK_SIZE);
        p.putInt(8, ifindex);
        p.putInt(12, attachPoint);
        p.putInt(16, 0);
        return p;
    }

    /**
     * struct bpf_tc_opts { size_t sz; int prog_fd; u32 flags; u32 prog_id; u32 handle; u32
     * priority; }
     */
    public static final int TC_OPTS_SIZE = 32;

    public static final int TC_OPTS_PROG_FD = 8;
    public static final int TC_OPTS_FLAGS = 12;
    public static final int TC_OPTS_PROG_ID = 16;
    public static final int TC_OPTS_HANDLE = 20;
    public static final int TC_OPTS_PRIORITY = 24;
    public static final int BPF_TC_F_REPLACE = 1;

    public static Pointer tcOpts(Native n, int progFd, int flags, int handle, int priority) {
        Pointer p = Memory.allocateDirect(n.runtime, TC_OPTS_SIZE, true);
        p.putLong(0, TC_OPTS_SIZE);
        p.putInt(TC_OPTS_PROG_FD, progFd);
        p.putInt(TC_OPTS_FLAGS, flags);
        p.putInt(TC_OPTS_PROG_ID, 0);
        p.putInt(TC_OPTS_HANDLE, handle);
        p.putInt(TC_OPTS_PRIORITY, priority);
        return p;
    }

    /** struct bpf_xdp_attach_opts { size_t sz; int old_prog_fd; } */
    public static Pointer xdpAttachOpts(Native n, int oldProgFd) {
        Pointer p = Memory.allocateDirect(n.runtime, 16, true);
        p.putLong(0, 16);
        p.putInt(8, oldProgFd);
        return p;
    }

    /**
     * struct bpf_test_run_opts { size_t sz; void *data_in; void *data_out; u32 data_size_in; u32
     * data_size_out; void *ctx_in; void *ctx_out; u32 ctx_size_in; u32 ctx_size_out; u32 retval;
     * int repeat; u32 duration; u32 flags; u32 cpu; u32 batch_size; }
     */
    public static final int TEST_RUN_SIZE = 80;

    public static final int TR_DATA_IN = 8;
    public static final int TR_DATA_OUT = 16;
    public static final int TR_DATA_SIZE_IN = 24;
    public static final int TR_DATA_SIZE_OUT = 28;
    public static final int TR_CTX_IN = 32;
    public static final int TR_CTX_OUT = 40;
    public static final int TR_CTX_SIZE_IN = 48;
    public static final int TR_CTX_SIZE_OUT = 52;
    public static final int TR_RETVAL = 56;
    public static final int TR_REPEAT = 60;
    public static final int TR_DURATION = 64;
    public static final int TR_FLAGS = 68;
    public static final int TR_CPU = 72;
    public static final int TR_BATCH_SIZE = 76;

    /** struct bpf_map_batch_opts { size_t sz; u64 elem_flags; u64 flags; } */
    public static Pointer batchOpts(Native n) {
        Pointer p = Memory.allocateDirect(n.runtime, 24, true);
        p.putLong(0, 24);
        return p;
    }

    /** struct bpf_object_open_opts: only sz and object_name are set. */
    public static final int OPEN_OPTS_SIZE = 16;

    public static Pointer openOpts(Native n, Pointer objectName) {
        Pointer p = Memory.allocateDirect(n.runtime, OPEN_OPTS_SIZE, true);
        p.putLong(0, OPEN_OPTS_SIZE);
        p.putPointer(8, objectName);
        return p;
    }
}
