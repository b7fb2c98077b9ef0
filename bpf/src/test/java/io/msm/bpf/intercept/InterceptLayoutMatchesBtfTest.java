package io.msm.bpf.intercept;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.msm.bpf.btf.BtfStructs;
import io.msm.bpf.btf.LayoutAssert;
import io.msm.bpf.maps.StructLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Java mirrors of the interception object's structs have the sizes and member offsets and sizes
 * of msm_intercept.bpf.o's BTF, their codecs take every offset from those layouts, the shared
 * limits match, and the target is written as the kernel compares it (address in network order, port
 * in host order).
 */
class InterceptLayoutMatchesBtfTest {
    static BtfStructs btf;

    @BeforeAll
    static void parse() {
        btf = BtfStructs.parse("msm_intercept", ConnectRedirect.objectBytes());
    }

    @AfterAll
    static void close() {
        btf.close();
    }

    static Stream<StructLayout> layouts() {
        return Stream.of(
                InterceptKey.LAYOUT,
                InterceptTarget.LAYOUT,
                InterceptOrig.LAYOUT,
                InterceptStats.LAYOUT);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("layouts")
    void javaMatchesC(StructLayout java) {
        LayoutAssert.matches(btf, java);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("layouts")
    void codecTakesEveryOffsetFromTheLayout(StructLayout java) {
        LayoutAssert.codecUsesEveryMember(java);
    }

    @Test
    void sharedConstantsMatchC() {
        LayoutAssert.constant(
                btf, "msm_icpt_limits", "MSM_ICPT_MAX_PORTS", ConnectRedirect.MAX_PORTS);
        // the LRU of original destinations is sized in C only
        LayoutAssert.everyEnumeratorMirrored(
                btf, Set.of("MSM_ICPT_MAX_PORTS"), Set.of("MSM_ICPT_MAX_ORIG"));
    }

    @Test
    void targetBytesAreWhatTheProgramCompares() throws Exception {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder());
        InterceptTarget t =
                InterceptTarget.of(new InetSocketAddress(InetAddress.getByName("10.1.2.3"), 8554));
        InterceptTarget.CODEC.write(b, 0, t);
        byte[] raw = new byte[8];
        b.get(0, raw);
        ByteBuffer expect = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder());
        expect.put(new byte[] {10, 1, 2, 3}).putShort((short) 8554).putShort((short) 0);
        assertArrayEquals(expect.array(), raw);
        assertEquals(t, InterceptTarget.CODEC.read(b, 0));
    }
}
