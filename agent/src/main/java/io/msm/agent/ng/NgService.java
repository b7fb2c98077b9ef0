package io.msm.agent.ng;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.MeterRegistry;
import io.msm.agent.Service;
import io.msm.agent.config.NgSettings;
import io.msm.agent.media.MediaPlane;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The rtpengine NG protocol as an agent service (ng.listen / --ng-listen): Kamailio's and
 * OpenSIPS's rtpengine modules set up, query and delete calls whose media msm's plane relays.
 */
public final class NgService implements Service {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final NgSettings settings;
    private final MediaPlane plane;
    private final MeterRegistry registry;
    private NgCalls calls;
    private NgServer server;

    public NgService(NgSettings settings, MediaPlane plane, MeterRegistry registry) {
        this.settings = settings;
        this.plane = plane;
        this.registry = registry;
    }

    @Override
    public String name() {
        return "ng";
    }

    @Override
    public void start() throws Exception {
        NgCalls[] holder = new NgCalls[1];
        NgMetrics metrics = new NgMetrics(registry, () -> holder[0].active());
        calls = new NgCalls(settings, plane, metrics);
        holder[0] = calls;
        metrics.share(calls.share());
        server = new NgServer(settings, calls, metrics, System::nanoTime);
        server.start();
    }

    @Override
    public boolean ready() {
        return server != null;
    }

    @Override
    public String describe() {
        return "ng: rtpengine NG protocol on udp "
                + settings.listen()
                + " (requests from "
                + settings.sources()
                + "), media on the "
                + plane.mode()
                + " plane"
                + (settings.stateFile() == null ? "" : ", calls kept in " + settings.stateFile());
    }

    @Override
    public Map<String, Executor> loops() {
        return server == null ? Map.of() : Map.of("msm-ng", server.thread());
    }

    public NgServer server() {
        return server;
    }

    public NgCalls calls() {
        return calls;
    }

    /** The NG calls for /calls (from the NG thread). */
    public List<ObjectNode> callsJson(long now) throws Exception {
        if (server == null) {
            return List.of();
        }
        return server.thread().submit(() -> calls.json(now)).get(5, TimeUnit.SECONDS);
    }

    /** /calls with the NG calls after the SIP proxy's. */
    public static Supplier<String> merged(Supplier<String> sip, NgService ng) {
        return () -> {
            String s = sip.get();
            try {
                ObjectNode root = (ObjectNode) JSON.readTree(s);
                JsonNode arr = root.get("calls");
                ArrayNode out = arr instanceof ArrayNode a ? a : root.putArray("calls");
                try {
                    ng.callsJson(root.path("now_ms").asLong(System.currentTimeMillis()))
                            .forEach(out::add);
                } catch (Exception e) {
                    root.put("ng_error", "the NG listener did not answer: " + e);
                }
                return root.toString();
            } catch (Exception e) {
                return s;
            }
        };
    }

    @Override
    public void close() {
        if (server != null) {
            server.close();
        }
    }
}
