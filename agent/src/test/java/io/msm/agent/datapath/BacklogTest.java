package io.msm.agent.datapath;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.event.Level;

class BacklogTest {
    @TempDir Path dir;

    private Path sysctl(String value) throws IOException {
        Path p = dir.resolve("netdev_max_backlog");
        Files.writeString(p, value + "\n", StandardCharsets.UTF_8);
        return p;
    }

    @Test
    void highEnoughIsLeftAloneSilently() throws IOException {
        Path p = sysctl("200000");
        Backlog.Outcome o = Backlog.ensure(p, 100_000);
        assertEquals(200_000, o.value());
        assertNull(o.message());
        assertEquals("200000", Files.readString(p, StandardCharsets.UTF_8).strip());
    }

    @Test
    void zeroLeavesItAlone() throws IOException {
        Backlog.Outcome o = Backlog.ensure(sysctl("1000"), 0);
        assertEquals(1000, o.value());
        assertNull(o.message());
    }

    @Test
    void lowIsRaisedAndSaidOnce() throws IOException {
        Path p = sysctl("1000");
        Backlog.Outcome o = Backlog.ensure(p, 100_000);
        assertEquals(100_000, o.value());
        assertEquals(Level.INFO, o.level());
        assertTrue(o.message().contains("from 1000 to 100000"), o.message());
        assertEquals("100000", Files.readString(p, StandardCharsets.UTF_8).strip());
    }

    @Test
    void aReadOnlyProcSysIsAKnownReasonNotAWarning() {
        // what FileOutputStream says on a container's read-only /proc/sys
        String known =
                Backlog.knownReason(
                        new FileNotFoundException(
                                "/proc/sys/net/core/netdev_max_backlog (Read-only file system)"));
        assertNotNull(known);
        assertTrue(known.contains("read-only"), known);
        assertNotNull(
                Backlog.knownReason(
                        new FileNotFoundException(
                                "/proc/sys/net/core/netdev_max_backlog (Permission denied)")));
        assertNull(Backlog.knownReason(new IOException("No space left on device")));
    }

    @Test
    void aSysctlMissingInThisNetworkNamespaceIsKnownNotAWarning() {
        // net.core.netdev_max_backlog exists only in the initial network namespace
        Backlog.Outcome o = Backlog.ensure(dir.resolve("missing"), 100_000);
        assertEquals(-1, o.value());
        assertEquals(Level.INFO, o.level());
        assertTrue(o.message().contains("not visible in this network namespace"), o.message());
    }

    @Test
    void anUnreadableValueIsAWarning() throws IOException {
        Backlog.Outcome o = Backlog.ensure(sysctl("not a number"), 100_000);
        assertEquals(-1, o.value());
        assertEquals(Level.WARN, o.level());
        assertTrue(o.message().startsWith("cannot read"), o.message());
    }
}
