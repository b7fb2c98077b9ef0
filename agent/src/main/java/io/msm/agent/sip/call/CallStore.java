package io.msm.agent.sip.call;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The state file that lets answered calls survive an agent restart: one JSON document, rewritten
 * (temp file + rename, so a crash never leaves half a file) shortly after each change, the latest
 * snapshot winning. Writes run on their own thread; the proxy hands over immutable snapshots.
 */
public final class CallStore implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CallStore.class);
    public static final int VERSION = 1;
    static final long DELAY_MS = 50;

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

    private void write(ObjectNode root) {
        try {
            Path dir = file.toAbsolutePath().getParent();
            if (dir != null) {
                Files.createDirectories(dir);
            }
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.write(
                    tmp, CallCodec.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
            try {
                Files.move(
                        tmp,
                        file,
                        StandardCopyOption.REPLACE_EXISTING,
                        StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
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
