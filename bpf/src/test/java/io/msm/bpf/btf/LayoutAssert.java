package io.msm.bpf.btf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.msm.bpf.maps.StructLayout;

/** A Java mirror of a C struct against the struct in an object's BTF. */
public final class LayoutAssert {
    private LayoutAssert() {}

    public static void matches(BtfStructs btf, StructLayout java) {
        BtfStructs.Struct c =
                btf.struct(java.name())
                        .orElseThrow(
                                () ->
                                        new AssertionError(
                                                "struct "
                                                        + java.name()
                                                        + " is not in the object's BTF"));
        assertEquals(c.size(), java.size(), "sizeof(struct " + java.name() + ")");
        assertEquals(c.offsets(), java.offsets(), "members and offsets of struct " + java.name());
    }
}
