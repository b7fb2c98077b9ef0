package io.msm.cli.source;

import java.net.URI;
import java.time.Duration;

/** Asks msm-agent whether it is alive. */
@FunctionalInterface
public interface AgentProbe {
    /**
     * @param reachable the agent answered with a 2xx status
     * @param httpStatus the status, 0 when there was no answer
     * @param detail the body's first line, or why there was no answer
     * @param millis how long it took
     */
    record Health(boolean reachable, int httpStatus, String detail, long millis) {}

    Health probe(URI url, Duration timeout);
}
