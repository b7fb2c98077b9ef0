package io.msm.agent.k8s.route;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.msm.agent.k8s.crd.StreamRouteStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A route's status from the table's view of it:
 *
 * <ul>
 *   <li>{@code Accepted}: True (Accepted), or False with Invalid / Conflicted;
 *   <li>{@code BackendsReady}: True (AllBackendsReady) when every backend with a weight above 0 is
 *       ready, else False (SomeBackendsNotReady, NoBackendReady);
 *   <li>{@code Ready} (the chart's READY column): True (Routable) when accepted and at least one
 *       weighted backend is ready;
 *   <li>{@code backends}: one entry per backend, with the reason when not ready.
 * </ul>
 *
 * Every condition carries observedGeneration. lastTransitionTime is kept from the previous status
 * while a condition's status does not change.
 */
public final class RouteStatus {
    public static final String ACCEPTED = "Accepted";
    public static final String BACKENDS_READY = "BackendsReady";
    public static final String READY = "Ready";

    private RouteStatus() {}

    public static StreamRouteStatus of(
            RouteTable.RouteView v, String node, StreamRouteStatus previous, String now) {
        StreamRouteStatus s = new StreamRouteStatus();
        long gen = v.route().generation();
        String seenBy = " (as seen by msm-agent on node " + node + ")";
        if (!v.accepted()) {
            s.conditions.add(
                    cond(
                            ACCEPTED,
                            false,
                            v.notAcceptedReason(),
                            v.notAcceptedMessage(),
                            gen,
                            previous,
                            now));
            s.conditions.add(
                    cond(
                            BACKENDS_READY,
                            false,
                            "NotAccepted",
                            "the route is not accepted",
                            gen,
                            previous,
                            now));
            s.conditions.add(
                    cond(
                            READY,
                            false,
                            v.notAcceptedReason(),
                            v.notAcceptedMessage(),
                            gen,
                            previous,
                            now));
            return s;
        }
        s.conditions.add(
                cond(
                        ACCEPTED,
                        true,
                        "Accepted",
                        "the route is programmed in the routing table",
                        gen,
                        previous,
                        now));
        int weighted = 0;
        int ready = 0;
        List<String> notReady = new ArrayList<>();
        for (RouteTable.BackendView b : v.backends()) {
            s.backends.add(
                    new StreamRouteStatus.BackendStatus(
                            b.name(), b.ready(), b.ready() ? null : b.reason()));
            if (b.weight() > 0) {
                weighted++;
                if (b.ready()) {
                    ready++;
                } else {
                    notReady.add(
                            b.name()
                                    + ": "
                                    + b.reason()
                                    + (b.detail() == null || b.detail().isEmpty()
                                            ? ""
                                            : " (" + b.detail() + ")"));
                }
            }
        }
        String counts = ready + " of " + weighted + " weighted backends ready";
        String why = notReady.isEmpty() ? "" : "; not ready: " + String.join("; ", notReady);
        if (ready == weighted) {
            s.conditions.add(
                    cond(
                            BACKENDS_READY,
                            true,
                            "AllBackendsReady",
                            counts + seenBy,
                            gen,
                            previous,
                            now));
        } else {
            s.conditions.add(
                    cond(
                            BACKENDS_READY,
                            false,
                            ready == 0 ? "NoBackendReady" : "SomeBackendsNotReady",
                            counts + why + seenBy,
                            gen,
                            previous,
                            now));
        }
        s.conditions.add(
                ready > 0
                        ? cond(
                                READY,
                                true,
                                "Routable",
                                "new sessions go to "
                                        + counts.replace(
                                                " weighted backends ready", " ready backends")
                                        + seenBy,
                                gen,
                                previous,
                                now)
                        : cond(
                                READY,
                                false,
                                "NoBackendReady",
                                "no weighted backend is ready" + why + seenBy,
                                gen,
                                previous,
                                now));
        return s;
    }

    /** A condition; lastTransitionTime kept from {@code previous} while its status holds. */
    public static Condition cond(
            String type,
            boolean status,
            String reason,
            String message,
            long gen,
            StreamRouteStatus previous,
            String now) {
        String st = status ? "True" : "False";
        String since = now;
        if (previous != null && previous.conditions != null) {
            for (Condition c : previous.conditions) {
                if (type.equals(c.getType())
                        && st.equals(c.getStatus())
                        && c.getLastTransitionTime() != null) {
                    since = c.getLastTransitionTime();
                }
            }
        }
        return new ConditionBuilder()
                .withType(type)
                .withStatus(st)
                .withReason(reason)
                .withMessage(message == null ? "" : message)
                .withObservedGeneration(gen)
                .withLastTransitionTime(since)
                .build();
    }

    /** Equal but for lastTransitionTime: nothing to write. */
    public static boolean same(StreamRouteStatus a, StreamRouteStatus b) {
        if (a == null || b == null) {
            return a == b;
        }
        List<Condition> ca = a.conditions == null ? List.of() : a.conditions;
        List<Condition> cb = b.conditions == null ? List.of() : b.conditions;
        if (ca.size() != cb.size()) {
            return false;
        }
        for (int i = 0; i < ca.size(); i++) {
            Condition x = ca.get(i);
            Condition y = cb.get(i);
            if (!Objects.equals(x.getType(), y.getType())
                    || !Objects.equals(x.getStatus(), y.getStatus())
                    || !Objects.equals(x.getReason(), y.getReason())
                    || !Objects.equals(x.getMessage(), y.getMessage())
                    || !Objects.equals(x.getObservedGeneration(), y.getObservedGeneration())) {
                return false;
            }
        }
        List<StreamRouteStatus.BackendStatus> ba = a.backends == null ? List.of() : a.backends;
        List<StreamRouteStatus.BackendStatus> bb = b.backends == null ? List.of() : b.backends;
        return ba.equals(bb);
    }
}
