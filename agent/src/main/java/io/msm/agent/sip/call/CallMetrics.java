package io.msm.agent.sip.call;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.msm.agent.limits.ConnectionGate;
import io.msm.agent.limits.Refusals;
import io.msm.agent.limits.RequestDeadline;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * The SIP proxy's metrics, every label from a fixed set:
 *
 * <pre>
 * msm_sip_calls_active                          calls set up or answered now
 * msm_sip_call_attempts_total                   initial INVITEs accepted for routing
 * msm_sip_call_outcomes_total{outcome}          answered, busy, rejected, no_answer, cancelled, failed, refused
 * msm_sip_calls_ended_total{reason}             bye, rtp_timeout, restart_lost
 * msm_sip_call_setup_seconds                    INVITE received to 2xx forwarded (histogram)
 * msm_sip_relayed_packets_total{direction}      RTP+RTCP copies sent, caller_to_callee / callee_to_caller
 * msm_sip_strict_drops_total                    media packets from a source the SDP did not name, dropped
 * msm_sip_messages_total{kind,method}           requests by method (known methods, else "other") and responses
 * msm_sip_bad_messages_total{reason}            malformed, oversized
 * msm_refused_total{protocol="sip",reason}      every refusal by msm's limits and policy (REFUSALS)
 * msm_sip_registrations                         bindings in the location service
 * </pre>
 *
 * Relayed packets and drops are counted from the relays of live calls plus what ended calls had
 * counted when they were closed, so the counters only grow.
 */
public final class CallMetrics implements CallTable.Listener {
    /**
     * The reasons of msm_refused_total{protocol="sip"}: limits (rate, max_calls, ports,
     * media_share, media_lines, calls_per_source, invite_rate_source, transactions), policy
     * (relay_denied, route_denied, auth_required, auth_failed, auth_locked, binding_not_own,
     * no_dialog, wrong_hop, cancel_not_own) and TCP (connections, connections_per_source,
     * first_message_timeout, request_timeout, outbound_connections).
     */
    public static final Set<String> REFUSALS =
            Set.of(
                    "rate",
                    "max_calls",
                    "ports",
                    "media_share",
                    "media_lines",
                    "calls_per_source",
                    "invite_rate_source",
                    "transactions",
                    "relay_denied",
                    "route_denied",
                    "auth_required",
                    "auth_failed",
                    "auth_locked",
                    "binding_not_own",
                    "no_dialog",
                    "wrong_hop",
                    "cancel_not_own",
                    ConnectionGate.TOTAL,
                    ConnectionGate.PER_SOURCE,
                    "first_message_timeout",
                    RequestDeadline.REASON,
                    "outbound_connections");

    private final Refusals refusals;
    static final Set<String> METHODS =
            Set.of(
                    "INVITE",
                    "ACK",
                    "BYE",
                    "CANCEL",
                    "OPTIONS",
                    "REGISTER",
                    "UPDATE",
                    "PRACK",
                    "INFO",
                    "MESSAGE",
                    "SUBSCRIBE",
                    "NOTIFY",
                    "REFER");

    private final MeterRegistry registry;
    private final Counter attempts;
    private final Timer setup;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final AtomicLong closedToCallee = new AtomicLong();
    private final AtomicLong closedToCaller = new AtomicLong();
    private final AtomicLong closedDrops = new AtomicLong();
    private final Object lock = new Object();

    /** Live totals over the open calls' relays. */
    public interface Live {
        long copiesToCallee();

        long copiesToCaller();

        long strictDrops();
    }

    public CallMetrics(
            MeterRegistry registry, IntSupplier active, IntSupplier registrations, Live live) {
        this.registry = registry;
        Gauge.builder("msm.sip.calls.active", active::getAsInt)
                .description("calls set up or answered now")
                .register(registry);
        Gauge.builder("msm.sip.registrations", registrations::getAsInt)
                .description("bindings in the location service")
                .register(registry);
        attempts =
                Counter.builder("msm.sip.call.attempts")
                        .description("initial INVITEs accepted for routing")
                        .register(registry);
        setup =
                Timer.builder("msm.sip.call.setup")
                        .description("INVITE received to 2xx forwarded")
                        .serviceLevelObjectives(
                                Duration.ofMillis(10),
                                Duration.ofMillis(50),
                                Duration.ofMillis(100),
                                Duration.ofMillis(250),
                                Duration.ofMillis(500),
                                Duration.ofSeconds(1),
                                Duration.ofSeconds(2),
                                Duration.ofSeconds(5),
                                Duration.ofSeconds(10),
                                Duration.ofSeconds(30))
                        .register(registry);
        FunctionCounter.builder(
                        "msm.sip.relayed.packets",
                        this,
                        m -> m.sum(closedToCallee, live::copiesToCallee))
                .tag("direction", "caller_to_callee")
                .description("RTP and RTCP copies sent by the call relays")
                .register(registry);
        FunctionCounter.builder(
                        "msm.sip.relayed.packets",
                        this,
                        m -> m.sum(closedToCaller, live::copiesToCaller))
                .tag("direction", "callee_to_caller")
                .description("RTP and RTCP copies sent by the call relays")
                .register(registry);
        FunctionCounter.builder(
                        "msm.sip.strict.drops", this, m -> m.sum(closedDrops, live::strictDrops))
                .description("media packets from a source other than the negotiated one, dropped")
                .register(registry);
        // the fixed label sets, at zero from the start
        for (String o :
                new String[] {
                    "answered", "busy", "rejected", "no_answer", "cancelled", "failed", "refused"
                }) {
            counter("msm.sip.call.outcomes", "outcome", o, "initial INVITEs by how they ended");
        }
        for (String r : new String[] {"bye", "rtp_timeout", "restart_lost"}) {
            counter("msm.sip.calls.ended", "reason", r, "answered calls by why they ended");
        }
        for (String r : new String[] {"malformed", "oversized"}) {
            counter("msm.sip.bad.messages", "reason", r, "SIP messages refused");
        }
        this.refusals = new Refusals(registry, "sip", REFUSALS);
    }

    private Counter counter(String name, String tag, String value, String description) {
        return counters.computeIfAbsent(
                name + "|" + tag + "=" + value,
                k ->
                        Counter.builder(name)
                                .tag(tag, value)
                                .description(description)
                                .register(registry));
    }

    public void attempt() {
        attempts.increment();
    }

    public void outcome(String outcome) {
        counter("msm.sip.call.outcomes", "outcome", outcome, "initial INVITEs by how they ended")
                .increment();
    }

    /** The outcome a final response status means. */
    public static String outcomeOf(int status) {
        if (status < 300) {
            return "answered";
        }
        if (status == 486 || status == 600) {
            return "busy";
        }
        if (status == 487) {
            return "cancelled";
        }
        if (status == 408 || status == 480) {
            return "no_answer";
        }
        if (status < 500 || status >= 600) {
            return "rejected";
        }
        return "failed";
    }

    public void ended(String reason) {
        counter("msm.sip.calls.ended", "reason", reason, "answered calls by why they ended")
                .increment();
    }

    /** A call left the call table: counted when it ended for a reason (bye, rtp_timeout). */
    @Override
    public void ended(Call c, String reason) {
        if (reason != null) {
            ended(reason);
        }
    }

    public void setupTime(long nanos) {
        setup.record(Duration.ofNanos(nanos));
    }

    public void message(boolean request, String methodOrClass) {
        String m =
                request
                        ? (METHODS.contains(methodOrClass) ? methodOrClass : "other")
                        : methodOrClass;
        counters.computeIfAbsent(
                        "msg|" + request + "|" + m,
                        k ->
                                Counter.builder("msm.sip.messages")
                                        .tag("kind", request ? "request" : "response")
                                        .tag("method", m.toLowerCase(Locale.ROOT))
                                        .description(
                                                "SIP messages received (responses by class: 1xx..6xx)")
                                        .register(registry))
                .increment();
    }

    public void bad(String reason) {
        counter("msm.sip.bad.messages", "reason", reason, "SIP messages refused").increment();
    }

    /** An initial INVITE refused by a limit: counted (with a rate-limited log) and its outcome. */
    public void refused(String reason, String detail) {
        refusals.refuse(reason, detail);
        outcome("refused");
    }

    /** msm_refused_total{protocol="sip"}: every refusal, by reason. */
    public Refusals refusals() {
        return refusals;
    }

    /**
     * A call's relays were closed: keep what they counted (read after the close, so copies made
     * until the kernel groups went away are in).
     */
    public void closed(MediaSession m, Runnable dropFromLive) {
        synchronized (lock) {
            add(m);
            dropFromLive.run();
        }
    }

    /**
     * Ended calls' counts plus the live ones, never both for one call (the transfer holds the
     * lock).
     */
    private double sum(AtomicLong closed, LongSupplier live) {
        synchronized (lock) {
            return closed.get() + live.getAsLong();
        }
    }

    private void add(MediaSession m) {
        for (MediaSession.StreamRelays s : m.streams().values()) {
            closedToCallee.addAndGet(
                    s.callerToCallee().rtpStats().copies()
                            + s.callerToCallee().rtcpStats().copies());
            closedToCaller.addAndGet(
                    s.calleeToCaller().rtpStats().copies()
                            + s.calleeToCaller().rtcpStats().copies());
            closedDrops.addAndGet(
                    s.callerToCallee().rtpStats().droppedOthers()
                            + s.callerToCallee().rtcpStats().droppedOthers()
                            + s.calleeToCaller().rtpStats().droppedOthers()
                            + s.calleeToCaller().rtcpStats().droppedOthers());
        }
    }
}
