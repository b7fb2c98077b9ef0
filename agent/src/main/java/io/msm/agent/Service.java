package io.msm.agent;

import io.msm.agent.upgrade.Handover;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * A long-running part of the agent started after the datapath (RTSP proxy, SIP proxy, Kubernetes
 * watcher).
 */
public interface Service extends AutoCloseable {
    String name();

    /** Start listening/working; throws if it cannot. */
    void start() throws Exception;

    /** Ready to serve (for /readyz). */
    boolean ready();

    /** One line for the startup log: where it listens. */
    String describe();

    /**
     * The threads that answer clients (event loops, a media thread), by name: /readyz fails while
     * one of them has not run a task for http.stall-timeout.
     */
    default Map<String, Executor> loops() {
        return Map.of();
    }

    /** Its part of a seamless upgrade (connections and sessions handed over), or null. */
    default Handover.Participant handover() {
        return null;
    }

    @Override
    void close();
}
