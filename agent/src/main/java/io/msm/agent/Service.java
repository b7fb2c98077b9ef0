package io.msm.agent;

/** A long-running part of the agent started after the datapath (RTSP proxy, SIP proxy, Kubernetes watcher). */
public interface Service extends AutoCloseable {
    String name();

    /** Start listening/working; throws if it cannot. */
    void start() throws Exception;

    /** Ready to serve (for /readyz). */
    boolean ready();

    /** One line for the startup log: where it listens. */
    String describe();

    @Override
    void close();
}
