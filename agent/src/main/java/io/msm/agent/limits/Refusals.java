package io.msm.agent.limits;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every request, connection or packet msm turns away because of a limit or a policy, for one
 * protocol: one metric family for all of them, {@code msm_refused_total{protocol, reason}}, with
 * reasons fixed up front (bounded label values), and a log line per reason at most every {@link
 * #LOG_EVERY_NANOS} (the first at once, later ones with how many were not logged), so a flood does
 * not flood the log.
 */
public final class Refusals {
    private static final Logger log = LoggerFactory.getLogger(Refusals.class);
    static final long LOG_EVERY_NANOS = 10_000_000_000L;

    private static final class Reason {
        final Counter counter;
        final AtomicLong lastLog = new AtomicLong(Long.MIN_VALUE);
        final AtomicLong unlogged = new AtomicLong();

        Reason(Counter counter) {
            this.counter = counter;
        }
    }

    private final String protocol;
    private final Map<String, Reason> reasons = new HashMap<>();
    private final LongSupplier nanos;

    public Refusals(MeterRegistry registry, String protocol, Set<String> reasons) {
        this(registry, protocol, reasons, System::nanoTime);
    }

    Refusals(MeterRegistry registry, String protocol, Set<String> reasons, LongSupplier nanos) {
        this.protocol = protocol;
        this.nanos = nanos;
        for (String r : reasons) {
            this.reasons.put(
                    r,
                    new Reason(
                            Counter.builder("msm.refused")
                                    .description(
                                            "Requests, connections and packets turned away by a limit or policy")
                                    .tags("protocol", protocol, "reason", r)
                                    .register(registry)));
        }
    }

    /**
     * Counts one refusal and logs it unless this reason was logged in the last ten seconds.
     *
     * @param reason one of the reasons given at construction
     * @param detail what and who, for the log line (source address, path, limit)
     */
    public void refuse(String reason, String detail) {
        Reason r = reasons.get(reason);
        if (r == null) {
            throw new IllegalArgumentException(
                    protocol
                            + " refusal reason '"
                            + reason
                            + "' is not one of "
                            + reasons.keySet());
        }
        r.counter.increment();
        long now = nanos.getAsLong();
        long last = r.lastLog.get();
        if ((last == Long.MIN_VALUE || now - last >= LOG_EVERY_NANOS)
                && r.lastLog.compareAndSet(last, now)) {
            long more = r.unlogged.getAndSet(0);
            log.info(
                    "{} refused ({}): {}{}",
                    protocol,
                    reason,
                    detail,
                    more > 0 ? " (and " + more + " more like it since the last such line)" : "");
        } else {
            r.unlogged.incrementAndGet();
        }
    }

    /** The count for one reason (tests, status pages). */
    public double count(String reason) {
        Reason r = reasons.get(reason);
        return r == null ? 0 : r.counter.count();
    }

    public String protocol() {
        return protocol;
    }
}
