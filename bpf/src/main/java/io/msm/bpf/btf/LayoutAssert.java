package io.msm.bpf.btf;

import io.msm.bpf.maps.StructLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The Java side against an object's BTF: a struct's layout (size, offset and size of every member),
 * its codec's use of the layout, and the constants both sides share. Failures are AssertionErrors
 * that name the struct and member (or the enum and enumerator) and give both values. Used by the
 * layout tests of every module that mirrors a C struct (bpf, bench, kernel-tests), hence here and
 * free of JUnit.
 */
public final class LayoutAssert {
    private LayoutAssert() {}

    private static void fail(String message) {
        throw new AssertionError(message);
    }

    /** The layout has the size, members, member offsets and member sizes of the struct in BTF. */
    public static void matches(BtfStructs btf, StructLayout java) {
        BtfStructs.Struct c =
                btf.struct(java.name())
                        .orElseThrow(
                                () ->
                                        new AssertionError(
                                                "struct "
                                                        + java.name()
                                                        + " is not in the object's BTF"));
        List<String> problems = new ArrayList<>();
        if (c.size() != java.size()) {
            problems.add(
                    "sizeof(struct "
                            + java.name()
                            + ") is "
                            + c.size()
                            + " in BTF, "
                            + java.size()
                            + " in Java");
        }
        c.members()
                .forEach(
                        (name, m) -> {
                            StructLayout.Member j = java.members().get(name);
                            if (j == null) {
                                problems.add(
                                        "struct "
                                                + java.name()
                                                + " member "
                                                + name
                                                + " (offset "
                                                + m.offset()
                                                + ", "
                                                + m.size()
                                                + " bytes) is missing from the Java layout");
                            } else if (j.offset() != m.offset() || j.size() != m.size()) {
                                problems.add(
                                        "struct "
                                                + java.name()
                                                + " member "
                                                + name
                                                + " is at offset "
                                                + m.offset()
                                                + ", "
                                                + m.size()
                                                + " bytes in BTF; at offset "
                                                + j.offset()
                                                + ", "
                                                + j.size()
                                                + " bytes in Java");
                            }
                        });
        for (String name : java.members().keySet()) {
            if (!c.members().containsKey(name)) {
                problems.add(
                        "struct "
                                + java.name()
                                + " member "
                                + name
                                + " is in the Java layout, not in BTF");
            }
        }
        if (!problems.isEmpty()) {
            fail(String.join("\n", problems));
        }
    }

    /**
     * The codec took a handle for every member but the pads: it reads and writes only through the
     * layout. Call once the codec's class is initialised (reading its LAYOUT field does that).
     */
    public static void codecUsesEveryMember(StructLayout java) {
        Set<String> missed = java.unresolved();
        if (!missed.isEmpty()) {
            fail(
                    "the codec of struct "
                            + java.name()
                            + " takes no offset from its layout for member(s) "
                            + missed);
        }
    }

    /** {@code enumerator} of {@code enum cEnum} in BTF has the Java value. */
    public static void constant(BtfStructs btf, String cEnum, String enumerator, long java) {
        Map<String, Long> c =
                btf.enumeration(cEnum)
                        .orElseThrow(
                                () ->
                                        new AssertionError(
                                                "enum " + cEnum + " is not in the object's BTF"));
        Long v = c.get(enumerator);
        if (v == null) {
            fail(
                    enumerator
                            + " is not in enum "
                            + cEnum
                            + " of the object's BTF (it has "
                            + c.keySet()
                            + ")");
        }
        if (v != java) {
            fail(enumerator + " (enum " + cEnum + ") is " + v + " in BTF, " + java + " in Java");
        }
    }

    /**
     * Every enumerator of the object's msm_* enums is one the Java side mirrors ({@code mirrored})
     * or one declared C-only ({@code cOnly}): a constant added in C alone fails here.
     */
    public static void everyEnumeratorMirrored(
            BtfStructs btf, Set<String> mirrored, Set<String> cOnly) {
        Set<String> unknown = new TreeSet<>();
        btf.enumerations().entrySet().stream()
                .filter(e -> e.getKey().startsWith("msm_"))
                .forEach(
                        e ->
                                e.getValue().keySet().stream()
                                        .filter(v -> !mirrored.contains(v) && !cOnly.contains(v))
                                        .forEach(
                                                v ->
                                                        unknown.add(
                                                                v + " (enum " + e.getKey() + ")")));
        if (!unknown.isEmpty()) {
            fail(
                    "enumerators in the object's BTF with no Java mirror: "
                            + unknown
                            + " — add a Java constant and a row to the test, or list them as C-only");
        }
    }
}
