package io.msm.agent.rtsp;

import io.msm.agent.config.RtspSettings;
import io.msm.agent.limits.SourceKey;
import io.msm.agent.routing.Backend;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A path clients name in rtsp://node:port/&lt;path&gt;: configured (published to, or pulled from an
 * upstream URL) or created by the first publisher (rtsp.publish-by-default). Mutable fields change
 * under the {@link PathRegistry} lock.
 */
final class StreamPath {
    final String name;

    /** null for a path a publisher created */
    final RtspSettings.PathSource config;

    Stream stream;
    Upstream upstream;

    /**
     * The hot standby's upstream session (StreamRoute spec.hotStandby), feeding the same relays.
     */
    Upstream standby;

    ScheduledFuture<?> linger;
    final Set<RtspSession> viewers = ConcurrentHashMap.newKeySet();
    final AtomicLong upstreamSessions = new AtomicLong();
    final AtomicLong upstreamFailures = new AtomicLong();
    final AtomicLong receiverReports = new AtomicLong();
    final AtomicLong publications = new AtomicLong();

    /** who created a publisher-created path (rtsp.max-paths-per-source), else null */
    SourceKey creator;

    /** For a path a StreamRoute chose: the backend its upstream session pulls from, else null. */
    final Backend routed;

    StreamPath(String name, RtspSettings.PathSource config) {
        this(name, config, null);
    }

    StreamPath(String name, RtspSettings.PathSource config, Backend routed) {
        this.name = name;
        this.config = config;
        this.routed = routed;
    }

    boolean pulled() {
        return config != null && config.kind() == RtspSettings.PathSource.Kind.PULL;
    }

    boolean dynamic() {
        return config == null;
    }

    /** The stream viewers can join now, or null. */
    Stream liveStream() {
        Stream s = stream;
        return s != null && s.live && !s.ended ? s : null;
    }

    /** A pending upstream linger is called off (a viewer came); under the registry lock. */
    void cancelLinger() {
        if (linger != null) {
            linger.cancel(false);
            linger = null;
        }
    }

    RtspServer.PathState state() {
        return new RtspServer.PathState(
                name,
                pulled() ? UpstreamCredentials.withoutUserInfo(config.upstream()) : "publish",
                publishing(),
                viewers.size(),
                upstream == null ? "idle" : upstream.state().name().toLowerCase(Locale.ROOT),
                upstreamSessions.get());
    }

    boolean publishing() {
        Stream s = stream;
        return s != null && s.live && s.origin == Stream.Origin.PUBLISHER;
    }
}
