package io.msm.agent.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LimitsTest {
    static SourceKey key(String a) throws Exception {
        return SourceKey.of(InetAddress.getByName(a));
    }

    @Test
    void ipv6SourcesCountPerSlash64AndMappedIpv4AsIpv4() throws Exception {
        assertEquals(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assertFalse(key("2001:db8:1:2::1").equals(key("2001:db8:1:3::1")));
        assertEquals(key("10.0.0.1"), key("::ffff:10.0.0.1"));
        assertEquals("2001:db8:1:2::/64", key("2001:db8:1:2::1").toString());
        assertEquals("10.0.0.1", key("10.0.0.1").toString());
    }

    @Test
    void aSourceCannotTakeMoreThanItsShareNorAllSourcesMoreThanTheTotal() throws Exception {
        SourceLimiter l = new SourceLimiter(2, 3);
        SourceLimiter.Admission a1 = l.acquire(key("10.0.0.1"));
        SourceLimiter.Admission a2 = l.acquire(key("10.0.0.1"));
        SourceLimiter.Admission a3 = l.acquire(key("10.0.0.1"));
        assertTrue(a1.admitted() && a2.admitted());
        assertEquals(SourceLimiter.Limit.PER_SOURCE, a3.refusedBy());
        assertNull(a3.lease());
        assertTrue(l.acquire(key("10.0.0.2")).admitted());
        assertEquals(SourceLimiter.Limit.TOTAL, l.acquire(key("10.0.0.3")).refusedBy());
        a1.lease().close();
        a1.lease().close(); // twice gives back once
        assertEquals(1, l.held(key("10.0.0.1")));
        assertEquals(2, l.total());
        assertTrue(l.acquire(key("10.0.0.3")).admitted());
    }

    @Test
    void aSourcesRateIsItsOwnAndTheTableIsBounded() throws Exception {
        AtomicLong now = new AtomicLong();
        SourceRate r = new SourceRate(2, 3, 10, now::get);
        for (int i = 0; i < 3; i++) {
            assertTrue(r.tryAcquire(key("10.0.0.1")), "burst " + i);
        }
        assertFalse(r.tryAcquire(key("10.0.0.1")));
        assertTrue(r.tryAcquire(key("10.0.0.2")), "another source has its own bucket");
        now.addAndGet(500_000_000L);
        assertTrue(r.tryAcquire(key("10.0.0.1")), "refilled at 2/s: one token after 0.5 s");
        assertFalse(r.tryAcquire(key("10.0.0.1")));
        for (int i = 0; i < 100; i++) {
            r.tryAcquire(key("10.1.0." + i));
        }
        assertEquals(10, r.tracked());
    }

    @Test
    void refusalsAreCountedPerReasonAndUnknownReasonsAreABug() {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        AtomicLong now = new AtomicLong();
        Refusals r = new Refusals(reg, "rtsp", Set.of("a", "b"), now::get);
        for (int i = 0; i < 1000; i++) {
            r.refuse("a", "x");
        }
        r.refuse("b", "y");
        assertEquals(
                1000,
                reg.get("msm.refused").tags("protocol", "rtsp", "reason", "a").counter().count());
        assertEquals(1, r.count("b"));
        assertThrows(IllegalArgumentException.class, () -> r.refuse("c", "z"));
    }
}
