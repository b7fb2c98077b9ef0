package io.msm.agent.rtsp;

import io.msm.agent.rtsp.sdp.MediaDescription;
import io.msm.agent.rtsp.sdp.SessionDescription;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One live media stream on a path: a publisher's (from its ANNOUNCE) or the upstream's (from its
 * DESCRIBE). Its tracks own the relays; viewers' sessions belong to it and end with it.
 */
final class Stream {
    enum Origin {
        PUBLISHER,
        UPSTREAM
    }

    final StreamPath path;
    final Origin origin;
    final SessionDescription sdp;
    final List<Track> tracks;
    final long sdpId;

    /**
     * RECORD received (publisher) or PLAY answered (upstream): viewers may join. Under the registry
     * lock.
     */
    boolean live;

    boolean ended;

    /** The connection that announced it (publisher streams). */
    Client announcer;

    RtspSession publisher;

    Stream(StreamPath path, Origin origin, SessionDescription sdp, Track.Feedback feedback) {
        this(path, origin, sdp, feedback, ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE));
    }

    /** A stream handed over by the previous agent keeps its description's session id. */
    Stream(
            StreamPath path,
            Origin origin,
            SessionDescription sdp,
            Track.Feedback feedback,
            long sdpId) {
        this.sdpId = sdpId;
        this.path = path;
        this.origin = origin;
        this.sdp = sdp;
        List<Track> t = new ArrayList<>();
        List<MediaDescription> media = sdp.media();
        for (int i = 0; i < media.size(); i++) {
            t.add(new Track(path.name, i, media.get(i), feedback, upstreamOf(path, origin)));
        }
        this.tracks = List.copyOf(t);
    }

    /** Where the stream comes from, as 'msm fanout' shows it on the tracks' groups. */
    static String upstreamOf(StreamPath path, Origin origin) {
        if (origin == Origin.PUBLISHER) {
            return "publisher";
        }
        if (path.routed != null && path.routed.viaPeer()) {
            return "node " + path.routed.via().node() + "'s agent";
        }
        return "upstream";
    }

    /**
     * The track a SETUP URL names: by our control (trackID=i), by the source's own control
     * attribute (relative or absolute), or the only track when the URL is the aggregate one.
     *
     * @param rest the URL path below the stream path, or null
     */
    Track track(String rest, String requestUri) {
        if (rest != null) {
            for (Track t : tracks) {
                if (rest.equals(SessionDescription.trackControl(t.index))) {
                    return t;
                }
            }
            for (Track t : tracks) {
                String c = t.media.control();
                if (c != null
                        && (rest.equals(c)
                                || requestUri.equals(c)
                                || RtspUrls.base(requestUri).equals(RtspUrls.base(c)))) {
                    return t;
                }
            }
            return null;
        }
        for (Track t : tracks) {
            String c = t.media.control();
            if (c != null && (requestUri.equals(c) || c.equals("*"))) {
                return t;
            }
        }
        return tracks.size() == 1 ? tracks.get(0) : null;
    }

    /** Upstream packets over all tracks (publisher liveness). */
    long upstreamPackets() {
        long n = 0;
        for (Track t : tracks) {
            n += t.upstreamPackets();
        }
        return n;
    }

    void closeTracks() {
        tracks.forEach(Track::close);
    }
}
