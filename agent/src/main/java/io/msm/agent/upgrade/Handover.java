package io.msm.agent.upgrade;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.channel.Channel;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A seamless upgrade (as Envoy's hot restart and HAProxy's seamless reload do it): the running
 * agent listens on a unix socket; a new agent started with the same socket connects there before
 * binding anything, and the old one stops reading at a quiet point and passes its bound sockets
 * ({@link Sockets}), the established connections of each {@link Participant} and their state; the
 * new one adopts them, confirms, and the old one exits without touching what it passed. If the new
 * one does not confirm in time (or goes away), the old one goes on where it stopped.
 *
 * <p>Protocol (JSON, one object per line, on the control connection; descriptors on a second
 * connection):
 *
 * <pre>
 * new → old   {"op":"hello","version":1}
 * old → new   {"op":"state","token":T,"sockets":[{kind,address}...],"services":{name:{"state":..,"connections":n}}}
 *             or {"op":"error","error":"..."} (busy, stranger, bad request)
 * new → old   on a second connection: {"op":"fds","token":T}; old → new: the descriptors (SCM_RIGHTS),
 *             sockets first, then each service's connections in order
 * new → old   {"op":"ready"}          (everything adopted; relays and connections not read yet)
 * old → new   {"op":"bye"}            (the old agent stopped reading its relays, flushed what it wrote
 *                                      to the connections, released all; the socket path is free;
 *                                      the new agent reads from now on)
 * </pre>
 */
public final class Handover {
    public static final int VERSION = 1;

    static final ObjectMapper JSON = new ObjectMapper();

    private Handover() {}

    /** A service whose connections and state survive an upgrade. */
    public interface Participant {
        /** Its key in the handed-over state ("rtsp"). */
        String name();

        /**
         * Stop reading at a quiet point (nothing half-parsed is lost: what a connection's decoder
         * holds goes with the state) and describe what the successor needs. Media relays go on (an
         * interleaved viewer is served until the successor confirmed). Called once per attempt, off
         * the event loops.
         */
        Offer quiesce();

        /** The successor did not take over: go on where it stopped. */
        void resume();

        /**
         * The successor took over (or, in the successor, taking over failed): stop without touching
         * what the other agent now owns — no kernel group changes, no TEARDOWN, no close
         * notification to clients. In the old agent the relays have stopped reading: what was
         * written to the connections is flushed before this returns.
         */
        void release();
    }

    /**
     * A participant's part of the handover: its state, and the connections whose descriptors go
     * with it (the state refers to them by their index in this list).
     */
    public record Offer(JsonNode state, List<Channel> connections) {}

    /** What a participant receives in the successor. */
    public record Received(JsonNode state, List<Integer> connections) {}

    private static final Map<String, Received> received = new ConcurrentHashMap<>();
    private static final List<Runnable> onGo = new CopyOnWriteArrayList<>();

    /**
     * In the new agent: run {@code r} once the old agent confirmed it stopped (its connections may
     * be read and written from then on).
     */
    public static void onGo(Runnable r) {
        onGo.add(r);
    }

    static void go() {
        Sockets.startReading();
        for (Runnable r : onGo) {
            r.run();
        }
        onGo.clear();
    }

    /** The successor was handed this for {@code name} (taken once), or null. */
    public static Received take(String name) {
        return received.remove(name);
    }

    static void receive(Map<String, Received> parts) {
        received.putAll(parts);
    }

    /** Whatever no participant took is closed. */
    static void closeUntaken() {
        for (Received r : List.copyOf(received.values())) {
            r.connections().forEach(Fds::close);
        }
        received.clear();
    }
}
