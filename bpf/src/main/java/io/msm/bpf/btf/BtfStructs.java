package io.msm.bpf.btf;

import io.msm.bpf.BpfException;
import io.msm.bpf.libbpf.Native;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import jnr.ffi.Pointer;

/**
 * Reads struct layouts (size, member byte offsets) from a BPF object's BTF — the compiler's own
 * record of the C structs, used to prove the Java mirrors match.
 */
public final class BtfStructs implements AutoCloseable {
    private static final int BTF_KIND_STRUCT = 4;

    /** A struct as BTF describes it. */
    public record Struct(String name, int size, Map<String, Integer> offsets) {}

    private final Native n;
    private final Pointer btf;

    private BtfStructs(Native n, Pointer btf) {
        this.n = n;
        this.btf = btf;
    }

    /** Parse the .BTF section of an ELF object file. */
    public static BtfStructs parse(Path elf) {
        Native n = Native.get();
        Pointer btf = n.bpf.btf__parse(elf.toString(), null);
        if (btf == null) {
            int e = n.lastErrno();
            throw new BpfException("cannot read BTF from " + elf + ": " + n.describe(e), e);
        }
        return new BtfStructs(n, btf);
    }

    /**
     * Parse the BTF of an object held in memory (e.g. a classpath resource); name is for messages.
     */
    public static BtfStructs parse(String name, byte[] elf) {
        Path tmp = null;
        try {
            tmp = Files.createTempFile(name, ".bpf.o");
            Files.write(tmp, elf);
            return parse(tmp); // libbpf reads the whole file: it can go at once
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot write " + name + " to a temporary file: " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a temporary file
                }
            }
        }
    }

    public Optional<Struct> struct(String name) {
        int id = n.bpf.btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT);
        if (id < 0) {
            return Optional.empty();
        }
        Pointer t = n.bpf.btf__type_by_id(btf, id);
        int info = t.getInt(4);
        int vlen = info & 0xffff;
        boolean kindFlag = (info >>> 31) != 0;
        int size = t.getInt(8);
        Map<String, Integer> offsets = new LinkedHashMap<>();
        for (int i = 0; i < vlen; i++) {
            long m = 12L + 12L * i;
            String member = n.bpf.btf__name_by_offset(btf, t.getInt(m));
            int bitOff = t.getInt(m + 8);
            if (kindFlag) {
                bitOff &= 0xffffff; // low 24 bits: offset, high 8: bitfield size
            }
            offsets.put(member, bitOff / 8);
        }
        return Optional.of(new Struct(name, size, offsets));
    }

    @Override
    public void close() {
        n.bpf.btf__free(btf);
    }
}
