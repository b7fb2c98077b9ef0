package io.msm.cli.render;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class UnitsTest {
    @Test
    void bytesUseDecimalPrefixes() {
        assertEquals("0 B", Units.bytes(0));
        assertEquals("999 B", Units.bytes(999));
        assertEquals("1.0 kB", Units.bytes(1000));
        assertEquals("1.5 kB", Units.bytes(1500));
        assertEquals("999.9 kB", Units.bytes(999_900));
        assertEquals(
                "1.0 MB",
                Units.bytes(999_960)); // rounds up into the next prefix, never "1000.0 kB"
        assertEquals("34.5 MB", Units.bytes(34_500_000));
        assertEquals("2.0 GB", Units.bytes(2_000_000_000L));
        assertEquals("9.2 TB", Units.bytes(9_200_000_000_000L));
    }

    @Test
    void ratesInPacketsAndBitsPerSecond() {
        assertEquals("0 pps", Units.pps(0));
        assertEquals("50 pps", Units.pps(50.2));
        assertEquals("1.5 kpps", Units.pps(1500));
        assertEquals("800 bit/s", Units.bitrate(100));
        assertEquals("64.0 kbit/s", Units.bitrate(8000));
        assertEquals("2.5 Mbit/s", Units.bitrate(312_500));
    }

    @Test
    void durationsFromMillisecondsToDays() {
        assertEquals("-", Units.duration(-1));
        assertEquals("0 ms", Units.duration(0));
        assertEquals("999 ms", Units.duration(999));
        assertEquals("1.0 s", Units.duration(1000));
        assertEquals("59.9 s", Units.duration(59_999));
        assertEquals("1m00s", Units.duration(60_000));
        assertEquals("3m05s", Units.duration(185_000));
        assertEquals("2h03m", Units.duration((2 * 3600 + 3 * 60 + 59) * 1000L));
        assertEquals("4d02h", Units.duration((4 * 86400 + 2 * 3600) * 1000L));
    }

    @Test
    void millisAndShares() {
        assertEquals("0.00 ms", Units.millis(0));
        assertEquals("12.35 ms", Units.millis(12.345_6));
        assertEquals("3 (0.30%)", Units.countOf(3, 1000));
        assertEquals("3", Units.countOf(3, 0));
        assertEquals("12.5%", Units.percent(12.5));
    }

    @Test
    void fixedDecimalsRoundHalfUp() {
        assertEquals("0.01", Units.fixed(0.005, 2));
        assertEquals("-1.3", Units.fixed(-1.25, 1));
        assertEquals("0.0", Units.fixed(-0.01, 1), "no negative zero");
        assertEquals("2", Units.fixed(2.4, 0));
        assertEquals("10.050", Units.fixed(10.0495, 3));
        assertEquals("123456789.1", Units.fixed(123_456_789.06, 1));
    }
}
