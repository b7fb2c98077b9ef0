package io.msm.agent.sip.call;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The state file that lets answered calls survive an agent restart: one JSON document, rewritten
 * shortly after each change, the latest snapshot winning. Writes run on their own thread; the proxy
 * hands over immutable snapshots.
 *
 * <p>The file holds dialog identifiers (Call-ID, tags, CSeq, route sets) that would let a reader
 * forge in-dialog requests, so it is owner-only (0600): the temp file is created 0600, and an
 * existing file readable by others is tightened at start (with a warning). A write is atomic and
 * durable: temp file, fsync, rename over the file, fsync of the directory — a crash at any point
 * leaves the old file or the new one, whole.
 */
public final class CallStore implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CallStore.class);
    public static final int VERSION = 1;
    static final long DELAY_MS = 50;
    static final Set<PosixFilePermission> OWNER_ONLY =
            EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);

    private final Path file;
    private final ScheduledExecutorService writer =
            Executors.newSingleThreadScheduledExecutor(
                    r -> {
                        Thread t = new Thread(r, "msm-sip-state");
                        t.setDaemon(true);
                        return t;
                    });
    private final Object lock = new Object();

    @GuardedBy("lock")
    private ObjectNode pending;

    @GuardedBy("lock")
    private boolean scheduled;

    private volatile String lastError;

    public CallStore(Path file) {
        this.file = file;
    }

    public Path file() {
        return file;
    }

    /**
     * The answered calls of the file (empty if there is none); bad records are skipped and logged.
     */
    public List<Call> load() {
        tighten();
        if (!Files.exists(file)) {
            return List.of();
        }
        JsonNode root;
        try {
            root = CallCodec.JSON.readTree(Files.readString(file));
        } catch (IOException e) {
            log.warn(
                    "SIP state file {} unreadable ({}): starting without the calls it held; their kernel entries "
                            + "are removed after datapath.orphan-grace",
                    file,
                    e.getMessage());
            return List.of();
        }
        if (root.path("version").asInt() != VERSION) {
            log.warn(
                    "SIP state file {} has version {}, this msm writes {}: ignored",
                    file,
                    root.path("version").asInt(),
                    VERSION);
            return List.of();
        }
        List<Call> out = new ArrayList<>();
        for (JsonNode c : root.path("calls")) {
            try {
                out.add(CallCodec.fromJson(c));
            } catch (RuntimeException e) {
                log.warn("SIP state file {}: skipping a call record: {}", file, e.getMessage());
            }
        }
        return out;
    }

    /** Save these calls soon (the latest snapshot wins). */
    public void save(List<ObjectNode> calls) {
        ObjectNode root = CallCodec.JSON.createObjectNode();
        root.put("version", VERSION);
        root.put("written_ms", System.currentTimeMillis());
        ArrayNode a = root.putArray("calls");
        calls.forEach(a::add);
        synchronized (lock) {
            pending = root;
            if (scheduled) {
                return;
            }
            scheduled = true;
        }
        writer.schedule(this::flush, DELAY_MS, TimeUnit.MILLISECONDS);
    }

    private void flush() {
        ObjectNode root;
        synchronized (lock) {
            root = pending;
            pending = null;
            scheduled = false;
        }
        if (root != null) {
            write(root);
        }
    }

    /**
     * At start: the file, if any, readable or writable by others is made owner-only (it was written
     * by an older msm, or copied in); a temp file left by a crash mid-write is removed.
     */
    void tighten() {
        try {
            Files.deleteIfExists(temp());
        } catch (IOException e) {
            log.debug("cannot remove {}: {}", temp(), e.toString());
        }
        if (!Files.exists(file)) {
            return;
        }
        try {
            Set<PosixFilePermission> p = Files.getPosixFilePermissions(file);
            if (!OWNER_ONLY.containsAll(p)) {
                Files.setPosixFilePermissions(file, OWNER_ONLY);
                log.warn(
                        "SIP state file {} was {} (it holds dialog tags that let a reader forge "
                                + "in-dialog requests): made 0600",
                        file,
                        PosixFilePermissions.toString(p));
            }
        } catch (UnsupportedOperationException e) {
            log.debug("{}: no POSIX permissions on this file system", file);
        } catch (IOException e) {
            log.warn(
                    "SIP state file {} may be readable by others and cannot be made 0600: {}",
                    file,
                    e.toString());
        }
    }

    Path temp() {
        return file.resolveSibling(file.getFileName() + ".tmp");
    }

    /** The temp file, created owner-only, written and fsync'd (a crash after it: the old file). */
    Path writeTemp(byte[] data) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        Path tmp = temp();
        Files.deleteIfExists(tmp); // a leftover may have other permissions: create anew
        Set<StandardOpenOption> opts =
                EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        FileChannel ch;
        try {
            FileAttribute<Set<PosixFilePermission>> attr =
                    PosixFilePermissions.asFileAttribute(OWNER_ONLY);
            ch = FileChannel.open(tmp, opts, attr);
        } catch (UnsupportedOperationException e) {
            ch = FileChannel.open(tmp, opts);
        }
        try (FileChannel c = ch) {
            ByteBuffer b = ByteBuffer.wrap(data);
            while (b.hasRemaining()) {
                c.write(b);
            }
            c.force(true);
        }
        return tmp;
    }

    /** Rename the temp file over the state file and fsync the directory (the rename is durable). */
    void publish(Path tmp) throws IOException {
        try {
            Files.move(
                    tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
        Path dir = file.toAbsolutePath().getParent();
        if (dir != null) {
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            } catch (IOException e) {
                log.debug("fsync of {}: {}", dir, e.toString()); // not every file system allows it
            }
        }
    }

    private void write(ObjectNode root) {
        try {
            publish(
                    writeTemp(
                            CallCodec.JSON
                                    .writerWithDefaultPrettyPrinter()
                                    .writeValueAsBytes(root)));
            if (lastError != null) {
                log.info("SIP state file {} written again", file);
                lastError = null;
            }
        } catch (IOException e) {
            String msg = e.toString();
            if (!msg.equals(lastError)) {
                log.warn(
                        "cannot write the SIP state file {} ({}): calls will not survive a restart; check that the "
                                + "directory exists and is writable, or set sip.state-file",
                        file,
                        msg);
            }
            lastError = msg;
        }
    }

    /** Write what is pending now and stop. */
    @Override
    public void close() {
        writer.shutdown();
        try {
            writer.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        flush();
    }
}
