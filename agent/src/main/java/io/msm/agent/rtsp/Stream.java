package io.msm.agent.rtsp;

import io.msm.agent.rtsp.sdp.MediaDescription;
import io.msm.agent.rtsp.sdp.SessionDescription;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ScheduledFuture;
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

    /**
     * Its publisher left and its viewers wait for one to return until this fires (null: not in
     * grace, or recorded again). Under the registry lock.
     */
    ScheduledFuture<?> grace;

    /** when the grace began ({@link System#nanoTime()}), for the log and the CLI */
    long graceSince;

    /** a publisher ANNOUNCEd it again within the grace and has not RECORDed yet */
    boolean resuming;

    /** how many times a publisher resumed it */
    int resumptions;

    /** hot standby: the second publisher's session (both publish; the kernel relays one) */
    RtspSession standby;

    /** hot standby: the connection that announced itself as the standby and has not recorded */
    Client standbyAnnouncer;

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

    /** In grace and nobody announced it again yet: a returning publisher may take it. */
    boolean awaitingPublisher() {
        return grace != null && !resuming && !ended;
    }

    /**
     * Why a publisher's new description cannot continue this stream, or null when it can: the same
     * number of tracks, each of the same media kind with the same payload formats and rtpmap
     * (encoding, clock rate) — the players keep the description they were given.
     */
    String incompatibility(SessionDescription next) {
        List<MediaDescription> a = sdp.media();
        List<MediaDescription> b = next.media();
        if (a.size() != b.size()) {
            return a.size() + " track(s) before, " + b.size() + " now";
        }
        for (int i = 0; i < a.size(); i++) {
            MediaDescription x = a.get(i);
            MediaDescription y = b.get(i);
            if (!x.media().equals(y.media())) {
                return "track " + i + " was " + x.media() + ", is " + y.media();
            }
            if (!x.formats().equals(y.formats())) {
                return "track " + i + " payload types were " + x.formats() + ", are " + y.formats();
            }
            if (!rtpmaps(x).equals(rtpmaps(y))) {
                return "track " + i + " encodings were " + rtpmaps(x) + ", are " + rtpmaps(y);
            }
        }
        return null;
    }

    private static List<String> rtpmaps(MediaDescription m) {
        List<String> out = new ArrayList<>();
        for (String l : m.lines()) {
            if (l.startsWith("a=rtpmap:")) {
                out.add(l.substring(9).strip().toLowerCase(Locale.ROOT));
            }
        }
        return out;
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
