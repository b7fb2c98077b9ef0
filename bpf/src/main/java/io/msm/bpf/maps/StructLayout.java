package io.msm.bpf.maps;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Java side's idea of a C struct: its name, size and the byte offset of every member. Codecs
 * read and write through these offsets, and {@code LayoutMatchesBtfTest} compares every layout with
 * the struct of the same name in the compiled object's BTF, so C and Java cannot drift apart.
 */
public final class StructLayout {
    private final String name;
    private final int size;
    private final Map<String, Integer> offsets;

    private StructLayout(String name, int size, Map<String, Integer> offsets) {
        this.name = name;
        this.size = size;
        this.offsets = Collections.unmodifiableMap(offsets);
    }

    /** of("msm_x", 16, "a", 0, "b", 8) */
    public static StructLayout of(String name, int size, Object... memberOffsets) {
        if (memberOffsets.length % 2 != 0) {
            throw new IllegalArgumentException("member/offset pairs expected");
        }
        Map<String, Integer> m = new LinkedHashMap<>();
        for (int i = 0; i < memberOffsets.length; i += 2) {
            m.put((String) memberOffsets[i], (Integer) memberOffsets[i + 1]);
        }
        return new StructLayout(name, size, m);
    }

    public String name() {
        return name;
    }

    public int size() {
        return size;
    }

    public Map<String, Integer> offsets() {
        return offsets;
    }

    public int off(String member) {
        Integer o = offsets.get(member);
        if (o == null) {
            throw new IllegalArgumentException(name + " has no member " + member);
        }
        return o;
    }
}
