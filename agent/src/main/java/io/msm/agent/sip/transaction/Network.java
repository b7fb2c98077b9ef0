package io.msm.agent.sip.transaction;

import io.msm.agent.sip.transport.Hop;
import java.time.Duration;
import java.util.function.Consumer;

/** What transactions need from the outside: sending, and timers on the proxy's thread. */
public interface Network {
    void send(Hop to, byte[] data, Consumer<String> onFailure);

    /** Run task after delay on the proxy's thread; the returned handle cancels it. */
    Cancellable schedule(Duration delay, Runnable task);

    /** A scheduled timer. */
    @FunctionalInterface
    interface Cancellable {
        void cancel();
    }
}
