package io.msm.bpf.testrun;

import io.msm.bpf.BpfException;
import io.msm.bpf.libbpf.Native;
import io.msm.bpf.libbpf.Opts;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * BPF_PROG_TEST_RUN: run a loaded program on a packet without a network — packet in, verdict and
 * packet out. The kernel builds an skb (TC) or xdp_buff (XDP) from the bytes in the calling
 * thread's network namespace.
 */
public final class ProgTestRun {
    private ProgTestRun() {}

    /**
     * @param retval the program's return value (TC_ACT_* / XDP_*)
     * @param packet the packet as the program left it
     * @param durationNs average run time per repetition
     */
    public record Result(int retval, byte[] packet, long durationNs) {}

    public static Result run(int progFd, byte[] packet) {
        return run(progFd, packet, 1);
    }

    /**
     * Run {@code repeat} times, for timing. The kernel does not restore the packet between
     * repetitions: a program that rewrites it (the fan-out) sees its own output from the second run
     * on — time such programs one run per call.
     */
    public static Result run(int progFd, byte[] packet, int repeat) {
        return run(progFd, packet, repeat, 0);
    }

    /** struct __sk_buff: mark is the first field a test run may set (len and pkt_type stay 0). */
    private static final int SKB_MARK_OFF = 8;

    /**
     * As {@link #run(int, byte[], int)}, with the skb's mark set to {@code mark} (TC programs; 0:
     * none). The fan-out takes {@code MSM_MARK_INJECTED} as "the agent injects this packet".
     */
    public static Result run(int progFd, byte[] packet, int repeat, int mark) {
        return run(progFd, packet, repeat, mark, 0);
    }

    /** struct __sk_buff: ingress_ifindex (a test run may set it; the skb's skb_iif). */
    private static final int SKB_INGRESS_IFINDEX_OFF = 36;

    /**
     * As {@link #run(int, byte[], int, int)}, with the skb's ingress interface set (0: none), for
     * programs that look routes up from where the packet came in (bpf_fib_lookup).
     */
    public static Result run(int progFd, byte[] packet, int repeat, int mark, int ingressIfindex) {
        Native n = Native.get();
        int outCap = packet.length + 512;
        Pointer in = Memory.allocateDirect(n.runtime, Math.max(packet.length, 1));
        in.put(0, packet, 0, packet.length);
        Pointer out = Memory.allocateDirect(n.runtime, outCap, true);
        Pointer opts = Memory.allocateDirect(n.runtime, Opts.TEST_RUN_SIZE, true);
        opts.putLong(0, Opts.TEST_RUN_SIZE);
        opts.putPointer(Opts.TR_DATA_IN, in);
        opts.putPointer(Opts.TR_DATA_OUT, out);
        opts.putInt(Opts.TR_DATA_SIZE_IN, packet.length);
        opts.putInt(Opts.TR_DATA_SIZE_OUT, outCap);
        opts.putInt(Opts.TR_REPEAT, Math.max(1, repeat));
        if (ingressIfindex != 0) {
            Pointer ctx = Memory.allocateDirect(n.runtime, SKB_INGRESS_IFINDEX_OFF + 4, true);
            ctx.putInt(SKB_MARK_OFF, mark);
            ctx.putInt(SKB_INGRESS_IFINDEX_OFF, ingressIfindex);
            opts.putPointer(Opts.TR_CTX_IN, ctx);
            opts.putInt(Opts.TR_CTX_SIZE_IN, SKB_INGRESS_IFINDEX_OFF + 4);
        } else if (mark != 0) {
            Pointer ctx = Memory.allocateDirect(n.runtime, SKB_MARK_OFF + 4, true);
            ctx.putInt(SKB_MARK_OFF, mark);
            opts.putPointer(Opts.TR_CTX_IN, ctx);
            opts.putInt(Opts.TR_CTX_SIZE_IN, SKB_MARK_OFF + 4);
        }
        int rc = n.bpf.bpf_prog_test_run_opts(progFd, opts);
        if (rc < 0) {
            String hint = BpfException.hintFor(rc);
            throw new BpfException(
                    "BPF_PROG_TEST_RUN failed: "
                            + n.describe(rc)
                            + (hint != null ? " — " + hint : ""),
                    rc);
        }
        int outLen = Math.min(opts.getInt(Opts.TR_DATA_SIZE_OUT), outCap);
        byte[] result = new byte[outLen];
        out.get(0, result, 0, outLen);
        return new Result(
                opts.getInt(Opts.TR_RETVAL),
                result,
                Integer.toUnsignedLong(opts.getInt(Opts.TR_DURATION)));
    }
}
