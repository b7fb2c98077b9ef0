package io.msm.bpf;

import io.msm.bpf.libbpf.Errno;
import io.msm.bpf.libbpf.Native;
import io.msm.bpf.libbpf.Opts;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * A BPF ELF object loaded through libbpf: open from bytes, size maps, reuse existing maps, load (a
 * verifier rejection throws with the verifier log), then hand out program and map descriptors.
 * Closing it closes the descriptors; pinned or attached programs stay in the kernel.
 */
public final class BpfObject implements AutoCloseable {
    private final Native n;
    private final Pointer object;

    @SuppressWarnings(
            "UnusedVariable") // libbpf reads the ELF image in place: the field keeps it alive
    private final Pointer image;

    private final Map<String, Integer> maps;
    private final Map<String, Integer> progs;

    private BpfObject(
            Native n,
            Pointer object,
            Pointer image,
            Map<String, Integer> maps,
            Map<String, Integer> progs) {
        this.n = n;
        this.object = object;
        this.image = image;
        this.maps = maps;
        this.progs = progs;
    }

    /** Bytes of a classpath resource (an object shipped in a jar). */
    public static byte[] resource(String path) {
        try (InputStream in = BpfObject.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new BpfException(
                        "BPF object " + path + " is not on the classpath: build with 'make build'");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new BpfException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    /** Options applied between open and load. */
    public record Settings(Map<String, Integer> maxEntries, Map<String, Integer> reuseFds) {
        public static final Settings NONE = new Settings(Map.of(), Map.of());
    }

    public static BpfObject load(String name, byte[] elf) {
        return load(name, elf, Settings.NONE);
    }

    public static BpfObject load(String name, byte[] elf, Settings settings) {
        Native n = Native.get();
        Opened o = open(n, name, elf);
        try {
            configure(n, o.object, settings);
            int rc = n.bpf.bpf_object__load(o.object);
            if (rc < 0) {
                n.bpf.bpf_object__close(o.object);
                throw loadFailure(n, name, elf, settings, rc);
            }
        } catch (BpfException e) {
            throw e;
        } catch (RuntimeException e) {
            n.bpf.bpf_object__close(o.object);
            throw e;
        }
        Map<String, Integer> maps = new LinkedHashMap<>();
        for (Pointer m = n.bpf.bpf_object__next_map(o.object, null);
                m != null;
                m = n.bpf.bpf_object__next_map(o.object, m)) {
            maps.put(n.bpf.bpf_map__name(m), n.bpf.bpf_map__fd(m));
        }
        Map<String, Integer> progs = new LinkedHashMap<>();
        for (Pointer p = n.bpf.bpf_object__next_program(o.object, null);
                p != null;
                p = n.bpf.bpf_object__next_program(o.object, p)) {
            progs.put(n.bpf.bpf_program__name(p), n.bpf.bpf_program__fd(p));
        }
        return new BpfObject(n, o.object, o.image, maps, progs);
    }

    private record Opened(Pointer object, Pointer image) {}

    private static Opened open(Native n, String name, byte[] elf) {
        Pointer image = Memory.allocateDirect(n.runtime, elf.length);
        image.put(0, elf, 0, elf.length);
        byte[] nameBytes = (name + "\0").getBytes(StandardCharsets.US_ASCII);
        Pointer cname = Memory.allocateDirect(n.runtime, nameBytes.length);
        cname.put(0, nameBytes, 0, nameBytes.length);
        Pointer obj = n.bpf.bpf_object__open_mem(image, elf.length, Opts.openOpts(n, cname));
        if (obj == null) {
            int e = n.lastErrno();
            throw new BpfException("cannot open BPF object " + name + ": " + n.describe(e), e);
        }
        return new Opened(obj, image);
    }

    private static void configure(Native n, Pointer obj, Settings s) {
        for (Map.Entry<String, Integer> e : s.maxEntries().entrySet()) {
            Pointer m = n.bpf.bpf_object__find_map_by_name(obj, e.getKey());
            if (m == null) {
                throw new BpfException("map " + e.getKey() + " missing from the BPF object");
            }
            int rc = n.bpf.bpf_map__set_max_entries(m, e.getValue());
            if (rc < 0) {
                throw new BpfException("cannot size map " + e.getKey() + ": " + n.describe(rc), rc);
            }
        }
        for (Map.Entry<String, Integer> e : s.reuseFds().entrySet()) {
            Pointer m = n.bpf.bpf_object__find_map_by_name(obj, e.getKey());
            if (m == null) {
                continue;
            }
            int rc = n.bpf.bpf_map__reuse_fd(m, e.getValue());
            if (rc < 0) {
                throw new BpfException(
                        "cannot reuse map " + e.getKey() + ": " + n.describe(rc), rc);
            }
        }
    }

    /** Load again with the verifier log on, so the exception says why. */
    private static BpfException loadFailure(Native n, String name, byte[] elf, Settings s, int rc) {
        String hint = BpfException.hintFor(rc);
        StringBuilder logs = new StringBuilder();
        Pointer obj = null;
        try {
            obj = open(n, name, elf).object;
            configure(n, obj, s);
            int size = 16 << 20;
            Map<String, Pointer> bufs = new LinkedHashMap<>();
            for (Pointer p = n.bpf.bpf_object__next_program(obj, null);
                    p != null;
                    p = n.bpf.bpf_object__next_program(obj, p)) {
                Pointer buf = Memory.allocateDirect(n.runtime, size, true);
                n.bpf.bpf_program__set_log_buf(p, buf, size);
                n.bpf.bpf_program__set_log_level(p, 1);
                bufs.put(n.bpf.bpf_program__name(p), buf);
            }
            n.bpf.bpf_object__load(obj);
            for (Map.Entry<String, Pointer> e : bufs.entrySet()) {
                String log = e.getValue().getString(0, size, StandardCharsets.UTF_8);
                if (!log.isBlank()) {
                    logs.append("--- verifier log of ")
                            .append(e.getKey())
                            .append(" (tail) ---\n")
                            .append(tail(log, 60))
                            .append('\n');
                }
            }
        } catch (RuntimeException ignored) {
            // the original error is what matters
        } finally {
            if (obj != null) {
                n.bpf.bpf_object__close(obj);
            }
        }
        if (logs.length() > 0 && Math.abs(rc) == Errno.EACCES) {
            // EACCES with a verifier log is a rejection, not a missing privilege
            hint =
                    "the kernel's verifier rejected a program (its log follows); this kernel may be older than "
                            + "msm supports (Linux 6.1+)";
        }
        String msg =
                "loading BPF object "
                        + name
                        + " failed: "
                        + n.describe(rc)
                        + (hint != null ? " — " + hint : "");
        return new BpfException(
                logs.length() > 0 ? msg + "\n" + logs : msg, rc, logs.toString(), null);
    }

    private static String tail(String log, int lines) {
        String[] all = log.split("\n");
        return String.join(
                "\n", Arrays.copyOfRange(all, Math.max(0, all.length - lines), all.length));
    }

    public int progFd(String name) {
        Integer fd = progs.get(name);
        if (fd == null) {
            throw new BpfException(
                    "program " + name + " is not in this object (has: " + progs.keySet() + ")");
        }
        return fd;
    }

    public int mapFd(String name) {
        Integer fd = maps.get(name);
        if (fd == null) {
            throw new BpfException(
                    "map " + name + " is not in this object (has: " + maps.keySet() + ")");
        }
        return fd;
    }

    public Map<String, Integer> maps() {
        return Map.copyOf(maps);
    }

    public List<String> programs() {
        return List.copyOf(progs.keySet());
    }

    @Override
    public void close() {
        n.bpf.bpf_object__close(object);
    }
}
