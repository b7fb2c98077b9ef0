package io.msm.agent.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.msm.agent.datapath.Backlog;
import io.msm.agent.datapath.FlowExpiry;
import io.msm.bpf.Datapath;
import io.msm.bpf.maps.Counters;
import io.msm.bpf.maps.Stat;
import io.msm.bpf.maps.TrafficClass;
import java.util.function.Supplier;

/**
 * Kernel counters as Prometheus metrics. The per-CPU counters are read once per scrape ({@link
 * #refresh}) and summed over CPUs; labels are bounded (classes, event names) — never one series per
 * flow.
 *
 * <pre>
 * msm_class_packets_total{class}        packets seen per traffic class
 * msm_class_bytes_total{class}          bytes per traffic class
 * msm_datapath_events_total{event}      parser/fan-out/XDP events (malformed, copies, drops, ...)
 * msm_flows_active{class}               flows in the table, per class (last expiry pass)
 * msm_flows_expired_total               idle flows removed by the agent
 * msm_flow_table_capacity               flow table size
 * msm_softnet_dropped_total             packets dropped on full CPU backlogs (all devices)
 * msm_fanout_identity_drops_total{reason}  fan-out packets refused by a group's identity check,
 *                                       over all groups: unknown (no identity) or denied
 * </pre>
 */
public final class DatapathMetrics implements MeterBinder {
    private final Datapath dp;
    private final FlowExpiry expiry;
    private final Supplier<Counters> counters;
    private volatile Counters snapshot = Counters.zero();

    public DatapathMetrics(Datapath dp, FlowExpiry expiry) {
        this.dp = dp;
        this.expiry = expiry;
        this.counters = () -> snapshot;
    }

    /** Read the per-CPU counters once; every meter of the coming scrape uses this snapshot. */
    public void refresh() {
        try {
            snapshot = dp.totals();
        } catch (RuntimeException e) {
            // keep the last snapshot: a failed read must not fail the scrape
        }
    }

    @Override
    public void bindTo(MeterRegistry r) {
        for (TrafficClass c : TrafficClass.values()) {
            Tags t = Tags.of("class", c.label());
            FunctionCounter.builder("msm.class.packets", counters, s -> s.get().packets(c))
                    .description("packets seen by the TC classifier, per class")
                    .tags(t)
                    .register(r);
            FunctionCounter.builder("msm.class", counters, s -> s.get().bytes(c))
                    .baseUnit("bytes")
                    .description("bytes seen by the TC classifier, per class")
                    .tags(t)
                    .register(r);
            Gauge.builder(
                            "msm.flows.active",
                            expiry,
                            e -> e.last().activeByClass().getOrDefault(c, 0L))
                    .description("flows in the flow table, per class (as of the last expiry pass)")
                    .tags(t)
                    .register(r);
        }
        for (Stat s : Stat.values()) {
            FunctionCounter.builder("msm.datapath.events", counters, c -> c.get().get(s))
                    .description(
                            "datapath events by kind: malformed or fragmented input, flow table inserts, fan-out "
                                    + "copies and errors, XDP drops ('msm status' explains each)")
                    .tags("event", s.label())
                    .register(r);
        }
        for (String reason : new String[] {"unknown", "denied"}) {
            Stat s = reason.equals("unknown") ? Stat.IDENT_UNKNOWN : Stat.IDENT_DENIED;
            FunctionCounter.builder("msm.fanout.identity.drops", counters, c -> c.get().get(s))
                    .description(
                            "fan-out packets refused by a group's identity check, over all groups:"
                                    + " the sender has no workload identity (unknown) or one the"
                                    + " group does not admit (denied); not copied, dropped or (groups"
                                    + " that pass others) handed to the local stack")
                    .tags("reason", reason)
                    .register(r);
        }
        FunctionCounter.builder("msm.flows.expired", expiry, FlowExpiry::expiredTotal)
                .description("idle flows removed by the agent")
                .register(r);
        Gauge.builder("msm.flow.table.capacity", dp, d -> d.flows().maxEntries())
                .description("flow table entries available")
                .register(r);
        FunctionCounter.builder("msm.softnet.dropped", this, m -> Backlog.softnetDrops())
                .description(
                        "packets dropped because a CPU backlog was full (net.core.netdev_max_backlog)")
                .register(r);
    }
}
