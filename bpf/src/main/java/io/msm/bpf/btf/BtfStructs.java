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
 * Reads struct layouts (size, byte offset and size of every member) and enums from a BPF object's
 * BTF — the compiler's own record of the C types, used to prove the Java mirrors (layouts, codecs,
 * constants) match.
 */
public final class BtfStructs implements AutoCloseable {
    private static final int BTF_KIND_STRUCT = 4;
    private static final int BTF_KIND_ENUM = 6;
    private static final int BTF_KIND_ENUM64 = 19;

    /** A member as BTF describes it: byte offset and size. */
    public record Member(int offset, int size) {}

    /** A struct as BTF describes it; members in declaration order. */
    public record Struct(String name, int size, Map<String, Member> members) {
        public Map<String, Integer> offsets() {
            Map<String, Integer> m = new LinkedHashMap<>();
            members.forEach((n, mem) -> m.put(n, mem.offset()));
            return m;
        }
    }

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
        Map<String, Member> members = new LinkedHashMap<>();
        for (int i = 0; i < vlen; i++) {
            long m = 12L + 12L * i;
            String member = n.bpf.btf__name_by_offset(btf, t.getInt(m));
            long memberSize = n.bpf.btf__resolve_size(btf, t.getInt(m + 4));
            if (memberSize < 0) {
                throw new BpfException(
                        "cannot size member "
                                + member
                                + " of struct "
                                + name
                                + ": "
                                + n.describe((int) memberSize),
                        (int) -memberSize);
            }
            int bitOff = t.getInt(m + 8);
            if (kindFlag) {
                bitOff &= 0xffffff; // low 24 bits: offset, high 8: bitfield size
            }
            members.put(member, new Member(bitOff / 8, (int) memberSize));
        }
        return Optional.of(new Struct(name, size, members));
    }

    /**
     * The enumerators of {@code enum name}, in declaration order, or empty if BTF has no such enum.
     */
    public Optional<Map<String, Long>> enumeration(String name) {
        int id = n.bpf.btf__find_by_name_kind(btf, name, BTF_KIND_ENUM);
        if (id < 0) {
            id = n.bpf.btf__find_by_name_kind(btf, name, BTF_KIND_ENUM64);
        }
        return id < 0 ? Optional.empty() : Optional.of(enumerators(n.bpf.btf__type_by_id(btf, id)));
    }

    /** Every named enum of the object: enum name to its enumerators. */
    public Map<String, Map<String, Long>> enumerations() {
        Map<String, Map<String, Long>> all = new LinkedHashMap<>();
        int count = n.bpf.btf__type_cnt(btf);
        for (int id = 1; id < count; id++) {
            Pointer t = n.bpf.btf__type_by_id(btf, id);
            int kind = (t.getInt(4) >>> 24) & 0x1f;
            String name = n.bpf.btf__name_by_offset(btf, t.getInt(0));
            if ((kind == BTF_KIND_ENUM || kind == BTF_KIND_ENUM64)
                    && name != null
                    && !name.isEmpty()) {
                all.put(name, enumerators(t));
            }
        }
        return all;
    }

    private Map<String, Long> enumerators(Pointer t) {
        int info = t.getInt(4);
        int kind = (info >>> 24) & 0x1f;
        int vlen = info & 0xffff;
        boolean signed = (info >>> 31) != 0;
        Map<String, Long> values = new LinkedHashMap<>();
        for (int i = 0; i < vlen; i++) {
            if (kind == BTF_KIND_ENUM64) {
                long e = 12L + 12L * i; // name_off, val_lo32, val_hi32
                long v = (t.getInt(e + 4) & 0xffffffffL) | ((long) t.getInt(e + 8) << 32);
                values.put(n.bpf.btf__name_by_offset(btf, t.getInt(e)), v);
            } else {
                long e = 12L + 8L * i; // name_off, val
                int v = t.getInt(e + 4);
                values.put(
                        n.bpf.btf__name_by_offset(btf, t.getInt(e)), signed ? v : v & 0xffffffffL);
            }
        }
        return values;
    }

    @Override
    public void close() {
        n.bpf.btf__free(btf);
    }
}
