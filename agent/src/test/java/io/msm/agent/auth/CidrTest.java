package io.msm.agent.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CidrTest {
    static InetAddress a(String s) throws Exception {
        return InetAddress.getByName(s);
    }

    @ParameterizedTest(name = "{1} in {0}: {2}")
    @CsvSource({
        "10.1.0.0/16, 10.1.255.7, true",
        "10.1.0.0/16, 10.2.0.1, false",
        "10.1.2.3, 10.1.2.3, true",
        "10.1.2.3, 10.1.2.4, false",
        "0.0.0.0/0, 203.0.113.9, true",
        "10.1.0.0/16, ::ffff:10.1.0.9, true",
        "fd00::/8, fd12::1, true",
        "fd00::/8, fe80::1, false",
        "fd00::/8, 10.0.0.1, false",
        "10.0.0.0/8, fd00::1, false",
        "10.1.2.255/24, 10.1.2.1, true",
    })
    void membership(String prefix, String address, boolean in) throws Exception {
        assertEquals(in, Cidr.parse(prefix).contains(a(address)));
    }

    @ParameterizedTest(name = "refused: [{0}]")
    @CsvSource(
            delimiter = '|',
            value = {
                "10.0.0.0/33",
                "fd00::/129",
                "10.0.0.0/x",
                "example.com",
                "''",
                "10.0.0.0/-1",
            })
    void badPrefixesAreRefusedWithTheReason(String s) {
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> Cidr.parse(s));
        assertTrue(e.getMessage().contains("'" + s + "'"), e.getMessage());
    }

    @Test
    void anEmptySetTrustsNobodyAndErrorsNameTheEntry() throws Exception {
        assertFalse(CidrSet.NONE.contains(a("127.0.0.1")));
        CidrSet s = CidrSet.parse(List.of("127.0.0.0/8", "fd00::/8"));
        assertTrue(s.contains(a("127.0.0.1")));
        assertFalse(s.contains(a("192.0.2.1")));
        IllegalArgumentException e =
                assertThrows(
                        IllegalArgumentException.class,
                        () -> CidrSet.parse(List.of("10.0.0.0/8", "nope")));
        assertTrue(e.getMessage().startsWith("[1]: "), e.getMessage());
        assertEquals("10.1.0.0/16", Cidr.parse("10.1.2.3/16").toString());
    }
}
