package io.msm.cli.source;

import io.msm.bpf.Bpffs;
import io.msm.bpf.attach.TcIngress;
import io.msm.bpf.attach.Xdp;
import io.msm.bpf.attach.XdpMode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.annotations.Out;

/** This machine, as seen from the calling thread's network namespace. */
public final class LiveHost implements Host {
    /** if_indextoname(3): asks the kernel through a socket, so it sees the caller's namespace. */
    public interface IfNames {
        Pointer if_indextoname(int ifindex, @Out Pointer name);
    }

    private static volatile IfNames ifNames;

    @Override
    public String kernel() {
        return read("/proc/sys/kernel/ostype", System.getProperty("os.name"))
                + " "
                + read("/proc/sys/kernel/osrelease", System.getProperty("os.version"))
                + " "
                + System.getProperty("os.arch");
    }

    private static String read(String path, String fallback) {
        try {
            return Files.readString(Path.of(path), StandardCharsets.US_ASCII).trim();
        } catch (IOException e) {
            return fallback;
        }
    }

    @Override
    public long monotonicNs() {
        return System.nanoTime(); // CLOCK_MONOTONIC on Linux, as bpf_ktime_get_ns()
    }

    @Override
    public Optional<String> ifname(int ifindex) {
        IfNames lib = ifNames;
        if (lib == null) {
            lib = LibraryLoader.create(IfNames.class).load("c");
            ifNames = lib;
        }
        jnr.ffi.Runtime rt = jnr.ffi.Runtime.getRuntime(lib);
        Pointer buf = Memory.allocateDirect(rt, 16, true); // IF_NAMESIZE
        Pointer r = lib.if_indextoname(ifindex, buf);
        if (r == null) {
            return Optional.empty();
        }
        return Optional.of(buf.getString(0, 16, StandardCharsets.US_ASCII));
    }

    @Override
    public Optional<Integer> tcProgId(int ifindex, int handle, int priority) {
        return TcIngress.query(ifindex, handle, priority);
    }

    @Override
    public int xdpProgId(int ifindex, boolean generic) {
        return Xdp.queryId(ifindex, generic ? XdpMode.GENERIC : XdpMode.NATIVE);
    }

    @Override
    public PinScan scanPins(Path dir) {
        return scan(dir);
    }

    static PinScan scan(Path dir) {
        List<String> expected = PinnedDatapath.expectedPins();
        boolean onBpffs = Bpffs.isBpffs(dir);
        try {
            if (!Files.readAttributes(dir, BasicFileAttributes.class).isDirectory()) {
                return new PinScan(false, false, onBpffs, List.of(), expected);
            }
        } catch (AccessDeniedException e) {
            return new PinScan(true, true, onBpffs, List.of(), List.of());
        } catch (IOException e) {
            return new PinScan(false, false, onBpffs, List.of(), expected);
        }
        List<String> present = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (String name : expected) {
            (Files.exists(dir.resolve(name)) ? present : missing).add(name);
        }
        return new PinScan(true, false, onBpffs, present, missing);
    }
}
