package io.msm.bpf.maps;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The Java side's idea of a C struct: its name, size, and the byte offset and size of every member.
 * It is the one source of truth for a codec: codecs resolve their field handles from it once, into
 * static final ints ({@code private static final int SPORT = LAYOUT.u16("sport")}), and read and
 * write only through them. {@code LayoutMatchesBtfTest} compares every layout with the struct of
 * the same name in the compiled object's BTF (the compiler's own record, as cilium's alignchecker
 * does), so neither the C struct nor a codec can drift alone.
 *
 * <p>A handle names the access width the codec uses ({@link #u32} for a putInt/getInt): resolving
 * it throws if the member has another size, so a codec cannot read a member with the wrong width
 * either.
 */
public final class StructLayout {
    /** A member: where it starts and how many bytes it takes; a pad is always zero. */
    public record Member(String name, int offset, int size, boolean pad) {}

    private final String name;
    private final int size;
    private final Map<String, Member> members;

    /** Members a codec resolved a handle for (see {@link #unresolved()}). */
    private final Set<String> resolved = ConcurrentHashMap.newKeySet();

    private StructLayout(String name, int size, Map<String, Member> members) {
        this.name = name;
        this.size = size;
        this.members = Collections.unmodifiableMap(members);
    }

    /** struct("msm_x", 16).u32("a", 0).pad("pad", 4, 4).u64("b", 8).build() */
    public static Builder struct(String name, int size) {
        return new Builder(name, size);
    }

    public String name() {
        return name;
    }

    public int size() {
        return size;
    }

    /** Every member in declaration order. */
    public Map<String, Member> members() {
        return members;
    }

    /** Member name to byte offset, in declaration order. */
    public Map<String, Integer> offsets() {
        Map<String, Integer> m = new LinkedHashMap<>();
        members.forEach((n, mem) -> m.put(n, mem.offset()));
        return m;
    }

    /** Offset of a member of any size (prefer the typed handles below). */
    public int off(String member) {
        return member(member).offset();
    }

    /** Size in bytes of a member. */
    public int sizeOf(String member) {
        return member(member).size();
    }

    /** Offset of a one-byte member (__u8, char). */
    public int u8(String member) {
        return handle(member, 1);
    }

    /** Offset of a two-byte member (__u16). */
    public int u16(String member) {
        return handle(member, 2);
    }

    /** Offset of a four-byte member (__u32, an enum). */
    public int u32(String member) {
        return handle(member, 4);
    }

    /** Offset of an eight-byte member (__u64). */
    public int u64(String member) {
        return handle(member, 8);
    }

    /** Offset of an array member of {@code count} elements of {@code elemSize} bytes. */
    public int array(String member, int elemSize, int count) {
        return handle(member, elemSize * count);
    }

    /** Offset of a byte array (or char array) member of n bytes. */
    public int bytes(String member, int n) {
        return handle(member, n);
    }

    /** Offset of a member that is the struct {@code inner} describes. */
    public int nested(String member, StructLayout inner) {
        return handle(member, inner.size());
    }

    /** Offset of a member that is an array of {@code count} structs {@code inner} describes. */
    public int nestedArray(String member, StructLayout inner, int count) {
        return handle(member, inner.size() * count);
    }

    /**
     * Members (other than pads) no handle was resolved for: a codec that does not take all its
     * offsets from this layout, or a layout member its codec forgot. Meaningful once the codec's
     * class is initialised.
     */
    public Set<String> unresolved() {
        Set<String> s = new TreeSet<>();
        members.values().stream()
                .filter(m -> !m.pad() && !resolved.contains(m.name()))
                .forEach(m -> s.add(m.name()));
        return s;
    }

    private int handle(String member, int width) {
        Member m = member(member);
        if (m.size() != width) {
            throw new IllegalStateException(
                    "struct "
                            + name
                            + " member "
                            + member
                            + " is "
                            + m.size()
                            + " bytes, the codec accesses "
                            + width);
        }
        resolved.add(member);
        return m.offset();
    }

    private Member member(String member) {
        Member m = members.get(member);
        if (m == null) {
            throw new IllegalArgumentException("struct " + name + " has no member " + member);
        }
        return m;
    }

    @Override
    public String toString() {
        return "struct " + name;
    }

    /** Members in declaration order, as in the C struct. */
    public static final class Builder {
        private final String name;
        private final int size;
        private final Map<String, Member> members = new LinkedHashMap<>();

        private Builder(String name, int size) {
            this.name = name;
            this.size = size;
        }

        public Builder u8(String member, int offset) {
            return member(member, offset, 1);
        }

        public Builder u16(String member, int offset) {
            return member(member, offset, 2);
        }

        public Builder u32(String member, int offset) {
            return member(member, offset, 4);
        }

        public Builder u64(String member, int offset) {
            return member(member, offset, 8);
        }

        /** An array (or nested struct) member of {@code size} bytes. */
        public Builder member(String member, int offset, int size) {
            return add(new Member(member, offset, size, false));
        }

        /**
         * Explicit padding: checked against BTF like any member; always zero, so a codec need not
         * name it.
         */
        public Builder pad(String member, int offset, int size) {
            return add(new Member(member, offset, size, true));
        }

        private Builder add(Member m) {
            if (members.putIfAbsent(m.name(), m) != null) {
                throw new IllegalArgumentException(
                        "struct " + name + ": member " + m.name() + " listed twice");
            }
            if (m.offset() < 0 || m.size() <= 0 || m.offset() + m.size() > size) {
                throw new IllegalArgumentException(
                        "struct "
                                + name
                                + ": member "
                                + m.name()
                                + " at "
                                + m.offset()
                                + " ("
                                + m.size()
                                + " bytes) does not fit in "
                                + size
                                + " bytes");
            }
            return this;
        }

        public StructLayout build() {
            return new StructLayout(name, size, members);
        }
    }
}
