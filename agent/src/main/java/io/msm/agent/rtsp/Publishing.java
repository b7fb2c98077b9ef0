package io.msm.agent.rtsp;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.msm.agent.config.RtspSettings;
import io.msm.agent.limits.SourceKey;
import io.msm.agent.media.RelayPair;
import io.msm.agent.rtsp.sdp.SessionDescription;
import io.msm.agent.rtsp.wire.RtspStatus;
import io.msm.agent.rtsp.wire.TransportSpec;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link PathRegistry}'s publishing: ANNOUNCE (the path caps — {@code rtsp.max-paths} and
 * {@code rtsp.max-paths-per-source} for paths a publisher creates — and the {@code
 * rtsp.announce-timeout} deadline for RECORD), a publisher's SETUP of a track and RECORD. It owns
 * no state of its own (an announced stream is the {@link Client}'s and its path's) and works under
 * the registry's lock: every entry takes {@code registry.lock} — re-entering it when the registry
 * calls with it held, as Error Prone cannot tell that {@code registry.lock} here is the registry's
 * {@code lock} — and its helpers are {@code @GuardedBy("registry.lock")}.
 */
final class Publishing {
    private static final Logger log = LoggerFactory.getLogger(Publishing.class);

    static final String REASON_PATHS = "paths";
    static final String REASON_PATHS_PER_SOURCE = "paths_per_source";
    static final String REASON_ANNOUNCE_TIMEOUT = "announce_timeout";

    private final PathRegistry registry;
    private final RtspSettings settings;

    Publishing(PathRegistry registry, RtspSettings settings) {
        this.registry = registry;
        this.settings = settings;
    }

    /** Whether a SETUP of {@code urlPath} is {@code c}'s publishing (it announced that path). */
    boolean publishing(Client c, String urlPath) {
        synchronized (registry.lock) {
            Stream a = c.announced;
            if (a == null || a.ended || urlPath == null) {
                return false;
            }
            String n = a.path.name;
            return urlPath.equals(n) || urlPath.startsWith(n + "/");
        }
    }

    /** A publisher's ANNOUNCE of {@code name} (a valid path name) with its description. */
    void announce(Client c, String name, SessionDescription sdp) throws Refused {
        synchronized (registry.lock) {
            StreamPath p = registry.path(name);
            if (p != null && p.pulled()) {
                throw new Refused(
                        RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                        "path " + name + " is pulled from its upstream; it cannot be published to");
            }
            if (p == null) {
                p = createPath(c, name);
            }
            Stream cur = p.stream;
            Duration silence = registry.standbyOf(p);
            if (silence != null
                    && cur != null
                    && !cur.ended
                    && cur.live
                    && !cur.resuming
                    && cur.publisher != null
                    && cur.publisher.connection != c
                    && cur.standby == null
                    && cur.standbyAnnouncer == null) {
                String why = cur.incompatibility(sdp);
                if (why != null) {
                    throw new Refused(
                            RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                            "path "
                                    + name
                                    + " has a publisher; a hot standby must announce the same"
                                    + " tracks: "
                                    + why);
                }
                if (c.announced != null && !c.announced.ended) {
                    registry.dropAnnounced(c, c.announced, "the publisher announced another path");
                }
                cur.standbyAnnouncer = c;
                c.announced = cur;
                log.info("{}: {} announces a hot standby", name, c.remote);
                return;
            }
            if (p.stream != null && p.stream.awaitingPublisher()) {
                Stream old = p.stream;
                String why = old.incompatibility(sdp);
                if (why == null) {
                    if (c.announced != null && !c.announced.ended && c.announced != old) {
                        registry.dropAnnounced(
                                c, c.announced, "the publisher announced another path");
                    }
                    old.resuming = true;
                    old.announcer = c;
                    c.announced = old;
                    log.info(
                            "{}: {} announces it within the publisher grace; media resumes into"
                                    + " the same relays at RECORD",
                            name,
                            c.remote);
                    return;
                }
                log.info(
                        "{}: {} announces a description incompatible with the one its viewers"
                                + " play ({}): they end",
                        name,
                        c.remote,
                        why);
                registry.endStream(
                        old, "the publisher returned with an incompatible description: " + why);
                p = registry.path(name);
                if (p == null) {
                    p = createPath(c, name);
                }
            }
            if (p.stream != null && !p.stream.ended) {
                if (p.stream.announcer != c || p.stream.live) {
                    throw new Refused(
                            RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                            "path " + name + " already has a publisher");
                }
                registry.endStream(p.stream, "announced again");
            }
            if (c.announced != null && !c.announced.ended) {
                registry.dropAnnounced(c, c.announced, "the publisher announced another path");
            }
            Stream s = new Stream(p, Stream.Origin.PUBLISHER, sdp, registry::onFeedback);
            s.announcer = c;
            p.stream = s;
            c.announced = s;
            recordDeadline(c, s);
            if (registry.path(name) != p) {
                registry.addPath(p); // endStream above may have dropped a publisher-created path
            }
        }
    }

    /** A path a publisher creates: within rtsp.max-paths and rtsp.max-paths-per-source. */
    @GuardedBy("registry.lock")
    private StreamPath createPath(Client c, String name) throws Refused {
        if (!settings.publishByDefault()) {
            throw new Refused(
                    RtspStatus.NOT_FOUND,
                    "path "
                            + name
                            + " is not configured (rtsp.paths) and "
                            + "rtsp.publish-by-default is off");
        }
        if (registry.dynamicPaths() >= settings.maxPaths()) {
            registry.count(REASON_PATHS, c.remote + ": rtsp.max-paths reached");
            throw new Refused(
                    RtspStatus.NOT_ENOUGH_BANDWIDTH,
                    "rtsp.max-paths (" + settings.maxPaths() + ") paths are published already");
        }
        SourceKey source = SourceKey.of(c.remote);
        int perSource = settings.limits().maxPathsPerSource();
        if (registry.dynamicPathsFrom(source) >= perSource) {
            String why =
                    "rtsp.max-paths-per-source ("
                            + perSource
                            + ") paths are published from "
                            + source
                            + " already";
            registry.count(REASON_PATHS_PER_SOURCE, why);
            throw new Refused(RtspStatus.NOT_ENOUGH_BANDWIDTH, why);
        }
        StreamPath p = new StreamPath(name, null);
        p.creator = source;
        registry.addPath(p);
        return p;
    }

    /** An announced stream not recorded within rtsp.announce-timeout ends. */
    private void recordDeadline(Client c, Stream s) {
        long deadline = settings.limits().announceTimeout().toMillis();
        registry.timers()
                .schedule(
                        () -> {
                            synchronized (registry.lock) {
                                if (!s.live && !s.ended) {
                                    String why =
                                            "no RECORD within "
                                                    + deadline
                                                    + " ms of ANNOUNCE (rtsp.announce-timeout)";
                                    registry.count(
                                            REASON_ANNOUNCE_TIMEOUT,
                                            s.path.name + " from " + c.remote + ": " + why);
                                    registry.endStream(s, why);
                                }
                            }
                        },
                        deadline,
                        TimeUnit.MILLISECONDS);
    }

    /** SETUP of a track of the stream {@code c} announced. */
    PathRegistry.SetUp setup(
            Client c,
            String uri,
            Stream s,
            String rest,
            List<TransportSpec> offered,
            RtspSession session)
            throws Refused {
        synchronized (registry.lock) {
            Track t = s.track(rest, uri);
            if (t == null) {
                throw new Refused(
                        RtspStatus.NOT_FOUND, "no track " + rest + " in the announced description");
            }
            TransportSpec want = Transports.forPublisher(offered);
            if (s.standbyAnnouncer == c) {
                return setupStandby(c, s, t, want, session);
            }
            if (s.resuming ? t.fed : t.relays() != null) {
                throw new Refused(
                        RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                        "track " + t.index + " is already set up");
            }
            if (session == null) {
                if (s.publisher != null) {
                    session = s.publisher;
                } else {
                    session = registry.openSession(c, RtspSession.Kind.PUBLISHER, s);
                    s.publisher = session;
                }
            }
            TransportSpec.PortRange ch = Transports.channels(want, t, c);
            InetSocketAddress srcRtp;
            InetSocketAddress srcRtcp;
            if (want.tcp()) {
                // the relays see these packets only by injection; their "source" is the connection
                // itself
                srcRtp = c.remote;
                srcRtcp = c.remote;
            } else {
                srcRtp = new InetSocketAddress(c.remote.getAddress(), want.clientPort().first());
                srcRtcp = new InetSocketAddress(c.remote.getAddress(), want.clientPort().second());
            }
            Set<Integer> ids = registry.relayIdentities(s.path.name, c.remote.getAddress());
            if (s.resuming) {
                // the relays (kernel groups) and their viewers stayed through the grace
                t.refeed(srcRtp, srcRtcp, ids);
                t.fed = true;
                RelayPair kept = t.relays();
                session.setups.put(
                        t.index,
                        new RtspSession.Setup(t, want, null, null, ch.first(), ch.second()));
                return new PathRegistry.SetUp(
                        session, Transports.publisherReply(want, ch, kept), null);
            }
            RelayPair pair;
            try {
                // on the address the client reached us at: the kernel keys its fan-out group by it
                pair = t.openRelays(registry.plane(), c.local.getAddress(), srcRtp, srcRtcp, ids);
            } catch (IOException | RuntimeException e) {
                throw new Refused(
                        RtspStatus.NOT_ENOUGH_BANDWIDTH,
                        "no relay for track " + t.index + ": " + e.getMessage());
            }
            t.attach(pair);
            t.fed = true;
            if (!registry.graceOf(s.path).isZero() || registry.standbyOf(s.path) != null) {
                t.continuous();
            }
            session.setups.put(
                    t.index, new RtspSession.Setup(t, want, null, null, ch.first(), ch.second()));
            return new PathRegistry.SetUp(session, Transports.publisherReply(want, ch, pair), null);
        }
    }

    /**
     * The hot standby's SETUP of a track: the relays the viewers subscribe to also take its ports
     * (UDP only: the kernel tells the two sources apart by address and port).
     */
    @GuardedBy("registry.lock")
    private PathRegistry.SetUp setupStandby(
            Client c, Stream s, Track t, TransportSpec want, RtspSession session) throws Refused {
        if (want.tcp()) {
            throw new Refused(
                    RtspStatus.UNSUPPORTED_TRANSPORT,
                    "a hot standby publishes over UDP (RTP/AVP;unicast;client_port=..)");
        }
        if (t.relays() == null) {
            throw new Refused(
                    RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                    "track " + t.index + " is not published; a standby cannot feed it");
        }
        if (session == null) {
            session =
                    s.standby != null
                            ? s.standby
                            : registry.openSession(c, RtspSession.Kind.PUBLISHER, s);
            s.standby = session;
        }
        if (session.setups.containsKey(t.index)) {
            throw new Refused(
                    RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                    "track " + t.index + " is already set up");
        }
        TransportSpec.PortRange ch = Transports.channels(want, t, c);
        InetSocketAddress rtp =
                new InetSocketAddress(c.remote.getAddress(), want.clientPort().first());
        InetSocketAddress rtcp =
                new InetSocketAddress(c.remote.getAddress(), want.clientPort().second());
        t.standby(
                rtp,
                rtcp,
                registry.standbyOf(s.path),
                registry.relayIdentities(s.path.name, c.remote.getAddress()));
        session.setups.put(
                t.index, new RtspSession.Setup(t, want, null, null, ch.first(), ch.second()));
        return new PathRegistry.SetUp(
                session, Transports.publisherReply(want, ch, t.relays()), null);
    }

    /** RECORD: the announced stream goes live, and its session owns it from now on. */
    RtspSession record(Client c, RtspSession s) throws Refused {
        synchronized (registry.lock) {
            if (s.kind != RtspSession.Kind.PUBLISHER) {
                throw new Refused(
                        RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                        "RECORD needs ANNOUNCE and SETUP with mode=record");
            }
            Stream st = s.stream;
            if (st.ended) {
                throw new Refused(RtspStatus.SESSION_NOT_FOUND, "the stream has ended");
            }
            if (st.standby == s) {
                if (s.state != RtspSession.State.RECORDING) {
                    s.state = RtspSession.State.RECORDING;
                    st.standbyAnnouncer = null;
                    if (c.announced == st) {
                        c.announced = null;
                    }
                    if (st.publisher == null && st.grace != null) {
                        // the publisher left before the standby recorded: it publishes now
                        st.grace.cancel(false);
                        st.grace = null;
                        st.publisher = s;
                        st.standby = null;
                        registry.resumed();
                        log.info(
                                "{}: the hot standby from {} publishes it now (its publisher left)",
                                st.path.name,
                                c.remote);
                        return s;
                    }
                    log.info(
                            "{}: hot standby publishing from {} ({} of {} track(s)); the kernel"
                                    + " relays it when the publisher falls silent for {} ms",
                            st.path.name,
                            c.remote,
                            s.setups.size(),
                            st.tracks.size(),
                            registry.standbyOf(st.path).toMillis());
                }
                return s;
            }
            if (st.resuming) {
                st.resuming = false;
                st.grace.cancel(false);
                st.grace = null;
                st.resumptions++;
                s.state = RtspSession.State.RECORDING;
                st.path.publications.incrementAndGet();
                if (c.announced == st) {
                    c.announced = null;
                }
                registry.resumed();
                log.info(
                        "{}: publishing again from {} after {} ms in grace; its viewers go on",
                        st.path.name,
                        c.remote,
                        (System.nanoTime() - st.graceSince) / 1_000_000);
            } else if (!st.live) {
                st.live = true;
                s.state = RtspSession.State.RECORDING;
                st.path.publications.incrementAndGet();
                if (c.announced == st) {
                    c.announced = null; // from now on the session owns it
                }
                log.info(
                        "{}: publishing from {} ({} of {} track(s) set up)",
                        st.path.name,
                        c.remote,
                        s.setups.size(),
                        st.tracks.size());
            }
            return s;
        }
    }
}
