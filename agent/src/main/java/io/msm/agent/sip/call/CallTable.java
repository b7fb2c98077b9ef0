package io.msm.agent.sip.call;

import io.msm.agent.sip.message.SipMessage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The calls in progress, keyed by Call-ID and the caller's tag, and what happens to them: answered,
 * changed, ended. The watchdog, the media anchoring, the metrics and the state file listen here, so
 * none of them needs the proxy to end a call or to see the answered ones.
 *
 * <p>Proxy thread only, except {@link #active()} (a metric, read anywhere).
 */
public final class CallTable {
    /** What follows a call's life; every method runs on the proxy thread. */
    public interface Listener {
        /** The call is up (a 2xx, or restored from the state file). */
        default void answered(Call c) {}

        /** An answered call's media changed (a re-INVITE or UPDATE was answered). */
        default void changed(Call c) {}

        /** The call ended; {@code reason} is null for a call that was never answered. */
        default void ended(Call c, String reason) {}
    }

    private final Map<String, Call> calls = new HashMap<>();
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private volatile int active;

    /** Listeners are told in the order they were added. */
    public void listen(Listener l) {
        listeners.add(l);
    }

    public static String key(String callId, String callerTag) {
        return callId + "|" + callerTag;
    }

    public static String key(Call c) {
        return key(c.callId, c.callerTag);
    }

    /**
     * A call set up by an INVITE with this Call-ID and From tag (a new one, or its retransmission).
     */
    public boolean has(String callId, String fromTag) {
        return calls.containsKey(key(callId, fromTag));
    }

    public Call get(String key) {
        return calls.get(key);
    }

    /**
     * The call a message belongs to: by its From tag (from the caller), else its To tag (from the
     * callee).
     */
    public Call find(SipMessage m) {
        String id = m.callId();
        Call c = calls.get(key(id, m.from().tag()));
        if (c == null && m.to().tag() != null) {
            c = calls.get(key(id, m.to().tag()));
        }
        return c;
    }

    public void add(Call c) {
        calls.put(key(c), c);
        active = calls.size();
    }

    /** Calls in progress now (set up or answered). */
    public int size() {
        return calls.size();
    }

    /** As {@link #size()}, for other threads. */
    public int active() {
        return active;
    }

    /** A copy: the calls in progress now. */
    public List<Call> all() {
        return new ArrayList<>(calls.values());
    }

    /** The call is now answered (its state set by {@link Call#answer}): tell the listeners. */
    public void answered(Call c) {
        listeners.forEach(l -> l.answered(c));
    }

    /** An answered call's media changed: tell the listeners. */
    public void changed(Call c) {
        listeners.forEach(l -> l.changed(c));
    }

    /** End a call (once): out of the table, then the listeners free what it held. */
    public void end(Call c, String reason) {
        if (!c.active()) {
            return;
        }
        c.end();
        calls.remove(key(c), c);
        active = calls.size();
        listeners.forEach(l -> l.ended(c, reason));
    }

    /** End every call (tests; as BYEs would). */
    public void endAll(String reason) {
        all().forEach(c -> end(c, reason));
    }
}
