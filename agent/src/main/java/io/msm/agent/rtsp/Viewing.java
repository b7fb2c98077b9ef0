package io.msm.agent.rtsp;

import io.msm.agent.rtsp.wire.RtspStatus;
import io.msm.agent.rtsp.wire.TransportSpec;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * The {@link PathRegistry}'s viewing: a viewer's SETUP of a track (a new viewer session on the
 * stream, the Transport answered), PLAY (its UDP ports subscribe to the track's relays, or its
 * connection joins the track's TCP viewers) and PAUSE. It owns no state of its own and works under
 * the registry's lock: every entry takes {@code registry.lock} — re-entering it when the registry
 * calls with it held, as Error Prone cannot tell that {@code registry.lock} here is the registry's
 * {@code lock}.
 */
final class Viewing {
    private final PathRegistry registry;

    Viewing(PathRegistry registry) {
        this.registry = registry;
    }

    /** SETUP of a track of the live stream {@code s}, on {@code session} (null: a new one). */
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
                throw new Refused(RtspStatus.NOT_FOUND, "no track " + rest + " in " + s.path.name);
            }
            if (t.relays() == null) {
                throw new Refused(
                        RtspStatus.SERVICE_UNAVAILABLE,
                        "track " + t.index + " of " + s.path.name + " is not being received");
            }
            TransportSpec want = Transports.forViewer(offered);
            if (session != null && session.stream != s) {
                throw new Refused(
                        RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                        "session " + session.id + " watched a stream that has ended");
            }
            if (session != null && session.setups.containsKey(t.index)) {
                throw new Refused(
                        RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                        "track " + t.index + " is already set up");
            }
            TransportSpec.PortRange ch = Transports.channels(want, t, c);
            if (session == null) {
                session = registry.openSession(c, RtspSession.Kind.VIEWER, s);
                s.path.viewers.add(session);
                s.path.cancelLinger();
            }
            InetSocketAddress rtp = null;
            InetSocketAddress rtcp = null;
            if (!want.tcp()) {
                // media goes to the address the RTSP connection comes from, never to a
                // destination= the client names
                rtp = new InetSocketAddress(c.remote.getAddress(), want.clientPort().first());
                rtcp = new InetSocketAddress(c.remote.getAddress(), want.clientPort().second());
            }
            session.setups.put(
                    t.index, new RtspSession.Setup(t, want, rtp, rtcp, ch.first(), ch.second()));
            return new PathRegistry.SetUp(session, Transports.viewerReply(want, ch, t), null);
        }
    }

    /** PLAY: each set-up track's media starts flowing to the viewer. */
    RtspSession play(Client c, RtspSession s) throws Refused {
        synchronized (registry.lock) {
            if (s.kind != RtspSession.Kind.VIEWER) {
                throw new Refused(
                        RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                        "a publishing session cannot PLAY");
            }
            if (s.setups.isEmpty()) {
                throw new Refused(RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE, "SETUP a track first");
            }
            if (s.state != RtspSession.State.PLAYING) {
                for (RtspSession.Setup u : s.setups.values()) {
                    Track t = u.track();
                    if (u.transport().tcp()) {
                        Track.TcpViewer v =
                                new Track.TcpViewer(
                                        t, s, c.channel, u.rtpChannel(), u.rtcpChannel());
                        s.tcpViewers.add(v);
                        t.addTcpViewer(v);
                    } else {
                        s.subscribers.add(t.rtp().subscribe(u.rtp()));
                        s.subscribers.add(t.rtcp().subscribe(u.rtcp()));
                        registry.feedbackFrom(s, u.rtp(), u.rtcp());
                    }
                }
                s.state = RtspSession.State.PLAYING;
            }
            return s;
        }
    }

    /** PAUSE: the media stops; the session stays. */
    RtspSession pause(RtspSession s) throws Refused {
        synchronized (registry.lock) {
            if (s.kind != RtspSession.Kind.VIEWER) {
                throw new Refused(
                        RtspStatus.METHOD_NOT_VALID_IN_THIS_STATE,
                        "a live publication cannot be paused");
            }
            if (s.state == RtspSession.State.PLAYING) {
                s.stopMedia();
                s.state = RtspSession.State.READY;
            }
            return s;
        }
    }
}
