package io.msm.agent.streams;

import io.msm.agent.Service;
import io.msm.agent.config.AgentConfig;
import io.msm.agent.media.MediaPlane;
import io.msm.agent.media.Relay;
import io.msm.agent.media.RelayOptions;
import java.util.ArrayList;
import java.util.List;

/**
 * Fan-outs declared in the config ({@code streams:}): packets to a node address:port go to a fixed
 * list of subscribers — the media plane without a control protocol (e.g. a multicast replacement
 * for a fixed set of decoders).
 */
public final class StaticStreams implements Service {
    private final List<AgentConfig.StaticStream> streams;
    private final MediaPlane plane;
    private final List<Relay> relays = new ArrayList<>();
    private volatile boolean ready;

    public StaticStreams(List<AgentConfig.StaticStream> streams, MediaPlane plane) {
        this.streams = streams;
        this.plane = plane;
    }

    @Override
    public String name() {
        return "streams";
    }

    @Override
    public void start() throws Exception {
        for (AgentConfig.StaticStream s : streams) {
            RelayOptions o = RelayOptions.of("static/" + s.name()).withExpectedSource(s.source());
            Relay r = plane.open(s.listen(), o);
            relays.add(r);
            for (var sub : s.subscribers()) {
                r.subscribe(sub);
            }
        }
        ready = true;
    }

    @Override
    public boolean ready() {
        return ready;
    }

    @Override
    public String describe() {
        List<String> d = new ArrayList<>();
        for (AgentConfig.StaticStream s : streams) {
            d.add(s.name() + " " + s.listen() + " -> " + s.subscribers().size() + " subscriber(s)");
        }
        return "static streams: " + (d.isEmpty() ? "none" : String.join(", ", d));
    }

    public List<Relay> relays() {
        return List.copyOf(relays);
    }

    @Override
    public void close() {
        // relays belong to the media plane, which decides what survives a stop
    }
}
