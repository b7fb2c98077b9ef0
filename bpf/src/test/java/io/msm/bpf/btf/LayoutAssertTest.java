package io.msm.bpf.btf;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.bpf.Datapath;
import io.msm.bpf.maps.FanoutSub;
import io.msm.bpf.maps.Meta;
import io.msm.bpf.maps.StructLayout;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The checks of LayoutMatchesBtfTest can fail: deliberately wrong layouts and constants, fed to the
 * same assertions against the same object's BTF, fail with a message that names the struct and
 * member (or enum and enumerator).
 */
class LayoutAssertTest {
    static BtfStructs btf;

    @BeforeAll
    static void parse() {
        btf = BtfStructs.parse("msm", Datapath.objectBytes());
    }

    @AfterAll
    static void close() {
        btf.close();
    }

    /** struct msm_fanout_sub up to daddr; each test adds sport, dport and flags, right or wrong. */
    static StructLayout.Builder fanoutSub(int size) {
        return StructLayout.struct("msm_fanout_sub", size)
                .u32("ifindex", 0)
                .u32("sub_id", 4)
                .member("dmac", 8, 6)
                .member("smac", 14, 6)
                .u32("saddr", 20)
                .u32("daddr", 24);
    }

    static String failure(Runnable check) {
        return assertThrows(AssertionError.class, check::run).getMessage();
    }

    static void assertNames(String message, String... parts) {
        for (String p : parts) {
            assertTrue(message.contains(p), "the failure names '" + p + "': " + message);
        }
    }

    @Test
    void theRealLayoutPasses() {
        assertDoesNotThrow(() -> LayoutAssert.matches(btf, FanoutSub.LAYOUT));
        assertDoesNotThrow(
                () ->
                        LayoutAssert.matches(
                                btf,
                                fanoutSub(36)
                                        .u16("sport", 28)
                                        .u16("dport", 30)
                                        .u32("flags", 32)
                                        .build()));
    }

    @Test
    void swappedMembersFailNamingStructAndBothMembers() {
        StructLayout wrong =
                fanoutSub(36).u16("sport", 30).u16("dport", 28).u32("flags", 32).build();
        String m = failure(() -> LayoutAssert.matches(btf, wrong));
        assertNames(
                m,
                "struct msm_fanout_sub member sport is at offset 28, 2 bytes in BTF; at offset 30, 2 bytes in Java",
                "struct msm_fanout_sub member dport is at offset 30");
    }

    @Test
    void aMemberPastTheEndIsRefusedByTheBuilder() {
        String m =
                assertThrows(
                                IllegalArgumentException.class,
                                () ->
                                        fanoutSub(36)
                                                .u16("sport", 28)
                                                .u16("dport", 30)
                                                .u64("flags", 32))
                        .getMessage();
        assertNames(
                m, "struct msm_fanout_sub: member flags at 32 (8 bytes) does not fit in 36 bytes");
    }

    @Test
    void aMemberOfTheWrongSizeFails() {
        StructLayout wrong =
                fanoutSub(36).u32("sport", 28).u16("dport", 30).u32("flags", 32).build();
        assertNames(
                failure(() -> LayoutAssert.matches(btf, wrong)),
                "struct msm_fanout_sub member sport is at offset 28, 2 bytes in BTF; at offset 28, 4 bytes in Java");
    }

    @Test
    void aMissingMemberFails() {
        StructLayout wrong = fanoutSub(36).u16("sport", 28).u16("dport", 30).build();
        assertNames(
                failure(() -> LayoutAssert.matches(btf, wrong)),
                "struct msm_fanout_sub member flags (offset 32, 4 bytes) is missing from the Java layout");
    }

    @Test
    void aMemberCOnlyLacksFails() {
        StructLayout wrong =
                fanoutSub(40)
                        .u16("sport", 28)
                        .u16("dport", 30)
                        .u32("flags", 32)
                        .u32("ttl", 36)
                        .build();
        assertNames(
                failure(() -> LayoutAssert.matches(btf, wrong)),
                "sizeof(struct msm_fanout_sub) is 36 in BTF, 40 in Java",
                "struct msm_fanout_sub member ttl is in the Java layout, not in BTF");
    }

    @Test
    void aStructNotInTheObjectFails() {
        StructLayout wrong = StructLayout.struct("msm_no_such", 4).u32("x", 0).build();
        assertNames(
                failure(() -> LayoutAssert.matches(btf, wrong)),
                "struct msm_no_such is not in the object's BTF");
    }

    @Test
    void aCodecThatSkipsTheLayoutFails() {
        StructLayout layout =
                fanoutSub(36).u16("sport", 28).u16("dport", 30).u32("flags", 32).build();
        for (String member : new String[] {"ifindex", "sub_id", "saddr", "daddr", "flags"}) {
            layout.u32(member);
        }
        layout.bytes("dmac", 6);
        layout.u16("sport");
        // smac and dport written at literal offsets, say
        assertNames(
                failure(() -> LayoutAssert.codecUsesEveryMember(layout)),
                "the codec of struct msm_fanout_sub takes no offset from its layout for member(s) [dport, smac]");
    }

    @Test
    void aHandleOfTheWrongWidthIsRefusedWhenResolved() {
        StructLayout layout =
                fanoutSub(36).u16("sport", 28).u16("dport", 30).u32("flags", 32).build();
        String m =
                assertThrows(IllegalStateException.class, () -> layout.u32("sport")).getMessage();
        assertNames(m, "struct msm_fanout_sub member sport is 2 bytes, the codec accesses 4");
        m = assertThrows(IllegalArgumentException.class, () -> layout.u16("port")).getMessage();
        assertNames(m, "struct msm_fanout_sub has no member port");
    }

    @Test
    void aWrongConstantFailsNamingEnumAndEnumerator() {
        assertDoesNotThrow(
                () ->
                        LayoutAssert.constant(
                                btf, "msm_identity", "MSM_LAYOUT_VERSION", Meta.LAYOUT_VERSION));
        assertNames(
                failure(
                        () ->
                                LayoutAssert.constant(
                                        btf,
                                        "msm_identity",
                                        "MSM_LAYOUT_VERSION",
                                        Meta.LAYOUT_VERSION + 1)),
                "MSM_LAYOUT_VERSION (enum msm_identity) is "
                        + Meta.LAYOUT_VERSION
                        + " in BTF, "
                        + (Meta.LAYOUT_VERSION + 1)
                        + " in Java");
        assertNames(
                failure(() -> LayoutAssert.constant(btf, "msm_identity", "MSM_NO_SUCH", 1)),
                "MSM_NO_SUCH is not in enum msm_identity");
        assertNames(
                failure(() -> LayoutAssert.constant(btf, "msm_no_such", "MSM_X", 1)),
                "enum msm_no_such is not in the object's BTF");
    }

    @Test
    void aConstantAddedInCAloneFails() {
        assertNames(
                failure(() -> LayoutAssert.everyEnumeratorMirrored(btf, Set.of(), Set.of())),
                "MSM_LAYOUT_VERSION (enum msm_identity)",
                "MSM_MAX_SUBS (enum msm_fanout_limits)",
                "no Java mirror");
    }
}
