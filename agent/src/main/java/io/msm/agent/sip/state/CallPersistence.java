package io.msm.agent.sip.state;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.msm.agent.sip.call.Call;
import io.msm.agent.sip.call.CallCodec;
import io.msm.agent.sip.call.CallMetrics;
import io.msm.agent.sip.call.CallStore;
import io.msm.agent.sip.call.CallTable;
import io.msm.agent.sip.call.MediaSession;
import io.msm.agent.sip.media.MediaAnchor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answered calls survive an agent restart: they are written to the state file (sip.state-file)
 * whenever one is answered, changes or ends, and restored, relays re-opened on their ports, before
 * the proxy listens. Without a state file, nothing is kept. Proxy thread only.
 */
public final class CallPersistence implements CallTable.Listener, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CallPersistence.class);

    /** null: calls are not kept */
    private final CallStore store;

    private final CallTable calls;
    private final MediaAnchor media;
    private final CallMetrics metrics;

    /**
     * the state file holds calls (or did when the agent started): an empty list must be written
     * over it
     */
    private boolean stored;

    /** restoring: the calls are written once, at the end */
    private boolean restoring;

    private int restored;

    public CallPersistence(
            Path stateFile, CallTable calls, MediaAnchor media, CallMetrics metrics) {
        this.store = stateFile == null ? null : new CallStore(stateFile);
        this.calls = calls;
        this.media = media;
        this.metrics = metrics;
    }

    /** The state file, or null when calls are not kept. */
    public Path file() {
        return store == null ? null : store.file();
    }

    /** Calls restored from the state file at start. */
    public int restored() {
        return restored;
    }

    @Override
    public void answered(Call c) {
        if (!restoring) {
            persist();
        }
    }

    @Override
    public void changed(Call c) {
        persist();
    }

    @Override
    public void ended(Call c, String reason) {
        persist();
    }

    /**
     * Write the answered calls now (the store writes them shortly after, latest snapshot winning).
     */
    public void persist() {
        if (store == null) {
            return;
        }
        List<ObjectNode> out = new ArrayList<>();
        for (Call c : calls.all()) {
            if (c.answered()) {
                out.add(CallCodec.toJson(c));
            }
        }
        if (out.isEmpty() && !stored) {
            return; // never had a call to keep: leave the file system alone
        }
        store.save(out);
        stored = !out.isEmpty();
    }

    /**
     * Proxy thread, before listening: the answered calls of the state file, relays re-opened on
     * their ports.
     */
    public void restore() {
        if (store == null) {
            return;
        }
        List<Call> loaded = store.load();
        stored = !loaded.isEmpty();
        restoring = true;
        try {
            for (Call c : loaded) {
                if (!c.answered()) {
                    continue;
                }
                MediaSession m;
                try {
                    m = media.reopen(c);
                } catch (Exception e) {
                    Throwable cause = e.getCause() != null ? e.getCause() : e;
                    log.warn(
                            "call {} from the state file not restored: {} (its kernel entries are removed after "
                                    + "datapath.orphan-grace)",
                            c.callId(),
                            cause.getMessage());
                    metrics.ended("restart_lost");
                    continue;
                }
                c.media(m);
                calls.add(c);
                calls.answered(c); // the watchdog watches it
                restored++;
            }
        } finally {
            restoring = false;
        }
        if (!loaded.isEmpty()) {
            log.info(
                    "restored {} of {} call(s) from {}: their media relays are open again",
                    restored,
                    loaded.size(),
                    store.file());
        }
        persist();
    }

    @Override
    public void close() {
        if (store != null) {
            store.close();
        }
    }
}
