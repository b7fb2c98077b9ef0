package io.msm.agent.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class SourceFailuresTest {
    final AtomicLong now = new AtomicLong();
    final SourceFailures f =
            new SourceFailures(3, Duration.ofSeconds(60), Duration.ofSeconds(30), 4, now::get);

    static InetAddress a(int i) throws Exception {
        return InetAddress.getByAddress(new byte[] {10, 0, 0, (byte) i});
    }

    @Test
    void aSourceIsLockedOutAfterRepeatedFailuresUntilTheLockoutEnds() throws Exception {
        assertFalse(f.failed(a(1)));
        assertFalse(f.failed(a(1)));
        assertTrue(f.failed(a(1)), "the third failure locks");
        assertTrue(f.locked(a(1)));
        assertFalse(f.locked(a(2)), "other sources are not affected");
        f.succeeded(a(1));
        assertTrue(f.locked(a(1)), "a success does not lift a lockout");
        now.addAndGet(Duration.ofSeconds(31).toNanos());
        assertFalse(f.locked(a(1)));
    }

    @Test
    void failuresOutsideTheWindowAndASuccessReset() throws Exception {
        f.failed(a(1));
        f.failed(a(1));
        now.addAndGet(Duration.ofSeconds(61).toNanos());
        assertFalse(f.failed(a(1)), "the window started again");
        f.succeeded(a(1));
        assertFalse(f.failed(a(1)));
        assertFalse(f.failed(a(1)));
        assertTrue(f.failed(a(1)));
    }

    @Test
    void theTableIsBounded() throws Exception {
        for (int i = 0; i < 100; i++) {
            f.failed(a(i));
        }
        assertEquals(4, f.tracked());
    }
}
