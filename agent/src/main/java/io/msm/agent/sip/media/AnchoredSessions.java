package io.msm.agent.sip.media;

import io.msm.agent.sip.call.CallMetrics;
import io.msm.agent.sip.call.MediaSession;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The media sessions of the calls now open, and their relays' live totals for the metrics. Any
 * thread.
 */
public final class AnchoredSessions implements CallMetrics.Live {
    private final Set<MediaSession> sessions = ConcurrentHashMap.newKeySet();

    void add(MediaSession m) {
        sessions.add(m);
    }

    void remove(MediaSession m) {
        sessions.remove(m);
    }

    @Override
    public long copiesToCallee() {
        long n = 0;
        for (MediaSession m : sessions) {
            for (MediaSession.StreamRelays s : m.streams().values()) {
                n +=
                        s.callerToCallee().rtpStats().copies()
                                + s.callerToCallee().rtcpStats().copies();
            }
        }
        return n;
    }

    @Override
    public long copiesToCaller() {
        long n = 0;
        for (MediaSession m : sessions) {
            for (MediaSession.StreamRelays s : m.streams().values()) {
                n +=
                        s.calleeToCaller().rtpStats().copies()
                                + s.calleeToCaller().rtcpStats().copies();
            }
        }
        return n;
    }

    @Override
    public long strictDrops() {
        long n = 0;
        for (MediaSession m : sessions) {
            for (MediaSession.StreamRelays s : m.streams().values()) {
                n +=
                        s.callerToCallee().rtpStats().droppedOthers()
                                + s.callerToCallee().rtcpStats().droppedOthers()
                                + s.calleeToCaller().rtpStats().droppedOthers()
                                + s.calleeToCaller().rtcpStats().droppedOthers();
            }
        }
        return n;
    }
}
