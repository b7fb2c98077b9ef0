package io.msm.agent.sip.call;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The state file holds dialog tags: owner-only (0600), replaced atomically (temp file, fsync,
 * rename, fsync of the directory), and a file readable by others is tightened at start.
 */
class CallStoreTest {
    @TempDir Path dir;

    static String perms(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    static void waitFor(BooleanSupplier c) throws Exception {
        long end = System.nanoTime() + 3_000_000_000L;
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out");
            }
            Thread.sleep(10);
        }
    }

    ObjectNode call(String id) {
        ObjectNode n = CallCodec.JSON.createObjectNode();
        n.put("call_id", id);
        return n;
    }

    @Test
    void writtenOwnerOnlyWithNoTempFileLeft() throws Exception {
        Path f = dir.resolve("sub/sip-state.json");
        try (CallStore s = new CallStore(f)) {
            s.save(List.of(call("c1")));
            waitFor(() -> Files.exists(f));
            assertEquals("rw-------", perms(f));
            assertTrue(Files.readString(f).contains("\"c1\""));
            assertFalse(Files.exists(s.temp()), "the temp file was renamed");
            s.save(List.of(call("c2")));
            waitFor(
                    () -> {
                        try {
                            return Files.readString(f).contains("\"c2\"");
                        } catch (Exception e) {
                            return false;
                        }
                    });
            assertEquals("rw-------", perms(f), "still 0600 after a rewrite");
        }
    }

    @Test
    void aCrashBeforeTheRenameLeavesTheOldFileWhole() throws Exception {
        Path f = dir.resolve("sip-state.json");
        CallStore s = new CallStore(f);
        Path tmp = s.writeTemp("{\"version\":1,\"calls\":[]}".getBytes(StandardCharsets.UTF_8));
        s.publish(tmp);
        String before = Files.readString(f);
        // the next write dies half-way: only the temp file has the (partial) new content
        Path partial = s.writeTemp("{\"version\":1,\"ca".getBytes(StandardCharsets.UTF_8));
        assertEquals(s.temp(), partial);
        assertEquals("rw-------", perms(partial), "the temp file is owner-only from its creation");
        assertEquals(before, Files.readString(f), "the state file is untouched");
        // the restarted agent reads the old file and removes the leftover
        CallStore again = new CallStore(f);
        assertEquals(0, again.load().size());
        assertFalse(Files.exists(again.temp()), "the leftover temp file is removed at start");
        // a leftover temp file made by someone else with wide permissions is not reused
        Files.writeString(again.temp(), "x");
        Files.setPosixFilePermissions(again.temp(), PosixFilePermissions.fromString("rw-rw-rw-"));
        again.publish(again.writeTemp(before.getBytes(StandardCharsets.UTF_8)));
        assertEquals("rw-------", perms(f));
        s.close();
        again.close();
    }

    @Test
    void aWorldReadableFileIsTightenedAtStart() throws Exception {
        Path f = dir.resolve("sip-state.json");
        Files.writeString(f, "{\"version\":1,\"calls\":[]}");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
        try (CallStore s = new CallStore(f)) {
            assertEquals(0, s.load().size());
            assertEquals("rw-------", perms(f));
        }
    }
}
