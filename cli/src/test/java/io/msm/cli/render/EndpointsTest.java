package io.msm.cli.render;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import java.net.UnknownHostException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EndpointsTest {
    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "10.0.0.1|5004|10.0.0.1:5004",
                "255.255.255.255|65535|255.255.255.255:65535",
                "2001:db8:0:0:0:0:0:1|5004|[2001:db8::1]:5004",
                "0:0:0:0:0:0:0:1|1|[::1]:1",
                "0:0:0:0:0:0:0:0|9|[::]:9",
                "fe80:0:0:0:0:0:0:0|9|[fe80::]:9",
                "2001:db8:0:1:1:1:1:1|9|[2001:db8:0:1:1:1:1:1]:9", // one zero group stays
                "2001:0:0:1:0:0:0:1|9|[2001:0:0:1::1]:9", // the longest run is compressed
                "2001:db8:0:0:1:0:0:1|9|[2001:db8::1:0:0:1]:9", // the first of two equal runs
                "2001:DB8:00AB:0:0:0:0:0ff|9|[2001:db8:ab::ff]:9"
            }) // lower case, no leading zeros
    void formatsAsIpAndSsDo(String addr, int port, String expected) throws UnknownHostException {
        assertEquals(expected, Endpoints.hostPort(InetAddress.getByName(addr), port));
    }
}
