package io.msm.agent.ng;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.msm.agent.limits.Refusals;
import io.msm.agent.media.MediaAdmission;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntSupplier;

/**
 * The NG listener's metrics.
 *
 * <pre>
 * msm_ng_requests_total{command,result}   requests answered (command: the seven msm serves, or "other")
 * msm_ng_request_seconds{command}          request received to reply sent (an answer waits for its relays)
 * msm_ng_calls_active                      calls set up over NG now
 * msm_ng_calls_ended_total{reason}         delete, setup_timeout, rtp_timeout, restart_lost
 * msm_ng_retransmits_total                 requests answered from the reply cache
 * msm_ng_media_ports, msm_ng_media_groups   what the NG calls hold of the media plane (share "ng")
 * msm_refused_total{protocol="ng",reason}  source, rate, oversized, malformed, max_calls,
 *                                          media_share, ports, media_lines
 * </pre>
 *
 * The relays' own counters are msm_stream_*{stream="ng/caller/rtp"} etc. (MediaMetrics).
 */
public final class NgMetrics {
    static final Set<String> COMMANDS =
            Set.of("ping", "offer", "answer", "delete", "query", "list", "statistics");

    /** rtpengine's commands msm knows of but does not serve. */
    static final Set<String> KNOWN_UNSUPPORTED =
            Set.of(
                    "start recording",
                    "stop recording",
                    "pause recording",
                    "block dtmf",
                    "unblock dtmf",
                    "block media",
                    "unblock media",
                    "silence media",
                    "unsilence media",
                    "start forwarding",
                    "stop forwarding",
                    "play media",
                    "stop media",
                    "play dtmf",
                    "publish",
                    "subscribe request",
                    "subscribe answer",
                    "unsubscribe",
                    "connect",
                    "create",
                    "create answer");

    static final Set<String> REFUSALS =
            Set.of(
                    "source",
                    "rate",
                    "oversized",
                    "malformed",
                    "max_calls",
                    "media_share",
                    "ports",
                    "media_lines");

    private final MeterRegistry registry;
    private final Refusals refusals;
    private final Counter retransmits;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();

    public NgMetrics(MeterRegistry registry, IntSupplier active) {
        this.registry = registry;
        this.refusals = new Refusals(registry, "ng", REFUSALS);
        Gauge.builder("msm.ng.calls.active", active::getAsInt)
                .description("calls set up over the rtpengine NG protocol now")
                .register(registry);
        retransmits =
                Counter.builder("msm.ng.retransmits")
                        .description("NG requests answered from the reply cache (retransmissions)")
                        .register(registry);
        for (String r : new String[] {"delete", "setup_timeout", "rtp_timeout", "restart_lost"}) {
            counter("msm.ng.calls.ended", "reason", r);
        }
    }

    private Counter counter(String name, String k, String v) {
        return counters.computeIfAbsent(
                name + "|" + v,
                x ->
                        Counter.builder(name)
                                .tag(k, v)
                                .description("NG calls by why they ended")
                                .register(registry));
    }

    /** The media plane's share the NG calls hold, as gauges. */
    void share(MediaAdmission.Share share) {
        Gauge.builder("msm.ng.media.ports", share, MediaAdmission.Share::ports)
                .description("media ports the NG calls hold (admission share \"ng\")")
                .register(registry);
        Gauge.builder("msm.ng.media.groups", share, MediaAdmission.Share::groups)
                .description("kernel fan-out groups the NG calls hold (admission share \"ng\")")
                .register(registry);
    }

    public Refusals refusals() {
        return refusals;
    }

    void ended(String reason) {
        counter("msm.ng.calls.ended", "reason", reason).increment();
    }

    void retransmit() {
        retransmits.increment();
    }

    static String commandLabel(String cmd) {
        return cmd != null && COMMANDS.contains(cmd) ? cmd : "other";
    }

    void request(String cmd, String result, long nanos) {
        String c = commandLabel(cmd);
        counters.computeIfAbsent(
                        "req|" + c + "|" + result,
                        x ->
                                Counter.builder("msm.ng.requests")
                                        .tags("command", c, "result", result)
                                        .description("NG requests answered, by command and result")
                                        .register(registry))
                .increment();
        timers.computeIfAbsent(
                        c,
                        x ->
                                Timer.builder("msm.ng.request")
                                        .tag("command", c)
                                        .description("NG request received to reply sent")
                                        .serviceLevelObjectives(
                                                Duration.ofMillis(1),
                                                Duration.ofMillis(5),
                                                Duration.ofMillis(20),
                                                Duration.ofMillis(100),
                                                Duration.ofMillis(500),
                                                Duration.ofSeconds(2))
                                        .register(registry))
                .record(Duration.ofNanos(nanos));
    }
}
