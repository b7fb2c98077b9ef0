package io.msm.bpf.intercept;

import io.msm.bpf.btf.BtfStructs;
import io.msm.bpf.maps.StructLayout;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The Java mirrors of the interception object's structs have the sizes and
 * member offsets of msm_intercept.bpf.o's BTF; the target is written as the
 * kernel compares it (address in network order, port in host order).
 */
class InterceptLayoutMatchesBtfTest {
    static BtfStructs btf;
    static Path obj;

    @BeforeAll
    static void parse() throws Exception {
        obj = Files.createTempFile("msm_intercept", ".bpf.o");
        Files.write(obj, ConnectRedirect.objectBytes());
        btf = BtfStructs.parse(obj);
    }

    @AfterAll
    static void close() throws Exception {
        btf.close();
        Files.deleteIfExists(obj);
    }

    static Stream<StructLayout> layouts() {
        return Stream.of(InterceptKey.LAYOUT, InterceptTarget.LAYOUT, InterceptOrig.LAYOUT, InterceptStats.LAYOUT);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("layouts")
    void javaMatchesC(StructLayout java) {
        BtfStructs.Struct c = btf.struct(java.name())
                .orElseThrow(() -> new AssertionError("struct " + java.name() + " is not in the object's BTF"));
        assertEquals(c.size(), java.size(), "sizeof(struct " + java.name() + ")");
        assertEquals(c.offsets(), java.offsets(), "members and offsets of struct " + java.name());
    }

    @Test
    void targetBytesAreWhatTheProgramCompares() throws Exception {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder());
        InterceptTarget t = InterceptTarget.of(new InetSocketAddress(InetAddress.getByName("10.1.2.3"), 8554));
        InterceptTarget.CODEC.write(b, 0, t);
        byte[] raw = new byte[8];
        b.get(0, raw);
        ByteBuffer expect = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder());
        expect.put(new byte[] {10, 1, 2, 3}).putShort((short) 8554).putShort((short) 0);
        assertArrayEquals(expect.array(), raw);
        assertEquals(t, InterceptTarget.CODEC.read(b, 0));
    }
}
