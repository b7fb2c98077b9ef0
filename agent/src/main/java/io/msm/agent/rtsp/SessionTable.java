package io.msm.agent.rtsp;

import io.msm.agent.rtsp.wire.RtspStatus;
import io.netty.buffer.ByteBuf;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@link PathRegistry}'s open sessions by id, and the viewers' feedback sources: their UDP RTP
 * and RTCP ports, mapped to their session, for the receiver reports and NAT probes that reach a
 * relay. Changed only under the registry's lock; read without it (keep-alives, the relays' taps,
 * metrics).
 */
final class SessionTable {
    private final Map<String, RtspSession> byId = new ConcurrentHashMap<>();
    private final Map<InetSocketAddress, RtspSession> feedbackSources = new ConcurrentHashMap<>();
    private final SecureRandom random = new SecureRandom();

    /** A new session of {@code c} on stream {@code s}. */
    RtspSession open(Client c, RtspSession.Kind kind, Stream s) {
        RtspSession session = new RtspSession(newId(), kind, s, c);
        byId.put(session.id, session);
        c.sessions.add(session);
        return session;
    }

    /** A session the previous agent handed over, with its id. */
    RtspSession restore(Client c, RtspSession.Kind kind, Stream s, String id) {
        RtspSession session = new RtspSession(id, kind, s, c);
        byId.put(session.id, session);
        c.sessions.add(session);
        return session;
    }

    private String newId() {
        byte[] b = new byte[8];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** Refused (453) when {@code max} sessions are open. */
    void checkRoom(int max) throws Refused {
        if (byId.size() >= max) {
            throw new Refused(
                    RtspStatus.NOT_ENOUGH_BANDWIDTH, "rtsp.max-sessions (" + max + ") reached");
        }
    }

    /** Any session by id (OPTIONS keeps any alive), or null. */
    RtspSession get(String sid) {
        return byId.get(sid);
    }

    /** The session {@code sid} of {@code c}'s, else refused (454). */
    RtspSession of(Client c, String sid) throws Refused {
        RtspSession s = byId.get(sid);
        if (s == null || s.connection != c) {
            throw new Refused(
                    RtspStatus.SESSION_NOT_FOUND, "no session " + sid + " on this connection");
        }
        return s;
    }

    /** A playing viewer's UDP ports: what reaches a relay from them is its feedback. */
    void feedbackFrom(RtspSession s, InetSocketAddress rtp, InetSocketAddress rtcp) {
        feedbackSources.put(rtp, s);
        feedbackSources.put(rtcp, s);
    }

    /** A session ended: forget it, its connection's hold on it and its feedback sources. */
    void remove(RtspSession s) {
        byId.remove(s.id, s);
        s.connection.sessions.remove(s);
        for (RtspSession.Setup u : s.setups.values()) {
            if (u.rtp() != null) {
                feedbackSources.remove(u.rtp(), s);
                feedbackSources.remove(u.rtcp(), s);
            }
        }
    }

    /** A viewer's RTCP (receiver report) or NAT probe reached a relay: it is alive. */
    void onFeedback(InetSocketAddress from, ByteBuf data, boolean rtcp) {
        RtspSession s = feedbackSources.get(from);
        if (s != null) {
            s.feedback(data, rtcp);
        }
    }

    List<RtspSession> all() {
        return new ArrayList<>(byId.values());
    }

    int size() {
        return byId.size();
    }

    long count(RtspSession.Kind kind) {
        return byId.values().stream().filter(x -> x.kind == kind).count();
    }
}
