package io.msm.agent.sip.media;

import io.msm.agent.media.MediaAdmission;
import io.msm.agent.media.MediaPlane;
import io.msm.agent.sip.call.Call;
import io.msm.agent.sip.call.CallMetrics;
import io.msm.agent.sip.call.CallTable;
import io.msm.agent.sip.call.LegPlan;
import io.msm.agent.sip.call.MediaSession;
import io.msm.agent.sip.call.Side;
import io.msm.agent.sip.call.StreamPorts;
import io.msm.agent.sip.message.SipMessage;
import io.msm.agent.sip.sdp.Direction;
import io.msm.agent.sip.sdp.Sdp;
import io.msm.agent.sip.sdp.SdpException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Media anchoring: every SDP offer and answer of a call is rewritten so each stream flows through
 * node ports, and the call's relays are brought to what the two parties negotiated. Relays are
 * opened, changed and closed on the media thread (one, owned here) so a slow port search never
 * stalls signalling; the results come back on the proxy's thread.
 */
public final class MediaAnchor implements CallTable.Listener, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MediaAnchor.class);

    /**
     * How long a 2xx or ACK with an SDP answer waits, at most, for its relays before it is passed
     * on.
     */
    static final long MEDIA_READY_MS = 2000;

    /** Nothing to wait for: the relays are as the answer says. */
    public static final CompletableFuture<Void> READY = CompletableFuture.completedFuture(null);

    /** What to do when an offer could not be anchored: answer status and why. */
    @FunctionalInterface
    public interface Failure {
        void fail(int status, String why);
    }

    private final MediaPlane plane;
    private final CallMetrics metrics;
    private final AnchoredSessions sessions;
    private final CallTable calls;
    private final int maxMediaLines;

    /** the proxy's thread */
    private final Executor loop;

    private final ScheduledExecutorService media =
            Executors.newSingleThreadScheduledExecutor(
                    r -> {
                        Thread t = new Thread(r, "msm-sip-media");
                        t.setDaemon(true);
                        return t;
                    });

    public MediaAnchor(
            MediaPlane plane,
            CallMetrics metrics,
            AnchoredSessions sessions,
            CallTable calls,
            Executor loop,
            int maxMediaLines) {
        this.maxMediaLines = maxMediaLines;
        this.plane = plane;
        this.metrics = metrics;
        this.sessions = sessions;
        this.calls = calls;
        this.loop = loop;
    }

    /**
     * Ports a media stream takes: an RTP/RTCP pair facing each party (counted before a call is
     * accepted).
     */
    public static final int PORTS_PER_STREAM = 4;

    /** Kernel fan-out groups a stream takes: one per relay on the kernel plane, none otherwise. */
    public int groupsPerStream() {
        return "kernel".equals(plane.mode()) ? 4 : 0;
    }

    /** The media thread: relays change here, and the RTP watchdog looks at them here. */
    public ScheduledExecutorService mediaThread() {
        return media;
    }

    /** The (empty) media session of a new call. */
    public MediaSession newSession() {
        MediaSession m = new MediaSession(plane);
        sessions.add(m);
        return m;
    }

    // ------------------------------------------------------------------ offers and answers

    /**
     * An SDP offer from {@code side}: open ports for new streams (on the media thread), rewrite the
     * SDP towards the other side, remember the offer; then {@code then} on the proxy thread.
     */
    public void offer(Call call, Side side, SipMessage msg, Runnable then, Failure failure) {
        Sdp sdp;
        List<InetSocketAddress> rtp = new ArrayList<>();
        try {
            sdp = Sdp.parse(msg.body());
            if (sdp.media().size() > maxMediaLines) {
                metrics.refusals()
                        .refuse(
                                "media_lines",
                                "call "
                                        + call.callId()
                                        + ": an SDP with "
                                        + sdp.media().size()
                                        + " m= lines");
                failure.fail(
                        488,
                        "more than sip.max-media-lines (" + maxMediaLines + ") media sections");
                return;
            }
            for (int i = 0; i < sdp.media().size(); i++) {
                InetSocketAddress a = sdp.rtp(i);
                sdp.rtcp(i, false);
                if (a != null && !(a.getAddress() instanceof Inet4Address)) {
                    throw new SdpException(
                            "media section " + (i + 1) + " is IPv6; msm anchors IPv4 media");
                }
                rtp.add(a);
            }
        } catch (SdpException e) {
            failure.fail(488, e.getMessage());
            return;
        }
        InetAddress fc = call.facing(Side.CALLER);
        InetAddress fe = call.facing(Side.CALLEE);
        if (!(fc instanceof Inet4Address) || !(fe instanceof Inet4Address)) {
            failure.fail(488, "the node has no IPv4 address towards both parties");
            return;
        }
        List<Integer> needPorts = new ArrayList<>();
        List<InetSocketAddress> expect = new ArrayList<>();
        for (int i = 0; i < sdp.media().size(); i++) {
            Call.Stream s = call.stream(i, sdp.media().get(i).type());
            if (!sdp.media().get(i).disabled() && s.ports() == null) {
                needPorts.add(i);
                expect.add(side == Side.CALLER ? rtp.get(i) : null);
            }
        }
        if (needPorts.isEmpty()) {
            rewriteOffer(call, side, msg, sdp);
            then.run();
            return;
        }
        MediaAdmission.Lease lease = call.mediaLease();
        if (lease != null) {
            int streams = needPorts.size();
            for (Call.Stream st : call.streams()) {
                if (st.ports() != null) {
                    streams++;
                }
            }
            if (!lease.ensure(PORTS_PER_STREAM * streams, groupsPerStream() * streams)) {
                metrics.refusals()
                        .refuse(
                                "media_share",
                                "call "
                                        + call.callId()
                                        + ": "
                                        + streams
                                        + " streams do not fit SIP's share of the media plane");
                failure.fail(503, "no free media ports or kernel groups for SIP");
                return;
            }
        }
        MediaSession session = call.media();
        call.allocating(true);
        CompletableFuture.supplyAsync(
                        () -> {
                            try {
                                return session.allocate(needPorts, fc, fe, expect);
                            } catch (IOException e) {
                                throw new UncheckedIOException(e);
                            }
                        },
                        media)
                .whenCompleteAsync(
                        (ports, err) -> {
                            call.allocating(false);
                            if (err != null) {
                                Throwable c = err.getCause() != null ? err.getCause() : err;
                                metrics.refused(
                                        "ports", "call " + call.callId() + ": " + c.getMessage());
                                failure.fail(503, "no free media ports: " + c.getMessage());
                                return;
                            }
                            for (int k = 0; k < needPorts.size(); k++) {
                                call.streams().get(needPorts.get(k)).anchoredOn(ports.get(k));
                            }
                            if (!call.active()) {
                                return; // cancelled meanwhile: the end of the call closed the
                                // session after the allocation
                            }
                            rewriteOffer(call, side, msg, sdp);
                            then.run();
                        },
                        loop);
    }

    private void rewriteOffer(Call call, Side side, SipMessage msg, Sdp sdp) {
        Side receiver = side.other();
        msg.body(sdp.anchor((Inet4Address) call.facing(receiver), anchors(call, receiver, sdp)));
        call.offer(new Call.Offer(side, sdp));
    }

    /** The node ports that party {@code receiver} is told to send to, per media section. */
    private static List<Sdp.Anchor> anchors(Call call, Side receiver, Sdp sdp) {
        List<Sdp.Anchor> out = new ArrayList<>();
        List<Call.Stream> streams = call.streams();
        for (int i = 0; i < sdp.media().size(); i++) {
            StreamPorts p = i < streams.size() ? streams.get(i).ports() : null;
            if (p == null || sdp.media().get(i).disabled()) {
                out.add(null);
            } else {
                InetSocketAddress a = receiver == Side.CALLEE ? p.calleeSide() : p.callerSide();
                out.add(new Sdp.Anchor(a.getPort(), a.getPort() + 1));
            }
        }
        return out;
    }

    /**
     * An SDP answer from {@code side}: rewrite it towards the offerer and bring the relays to the
     * new state. Completes when the relays are there (at most {@link #MEDIA_READY_MS} later): the
     * caller forwards the answer then, so a party that starts sending the moment it reads the
     * answer loses no packet.
     */
    public CompletableFuture<Void> answer(Call call, Side side, SipMessage msg) {
        Call.Offer o = call.offer();
        if (o == null || o.from() == side) {
            return READY;
        }
        Sdp a;
        try {
            a = Sdp.parse(msg.body());
        } catch (SdpException e) {
            log.warn(
                    "call {}: the {}'s SDP answer cannot be read ({}); passed on as it is, media not anchored",
                    call.callId(),
                    side.label(),
                    e.getMessage());
            return READY;
        }
        List<CompletableFuture<Void>> applied = new ArrayList<>();
        Side offerer = o.from();
        msg.body(a.anchor((Inet4Address) call.facing(offerer), anchors(call, offerer, a)));
        int n = Math.min(o.sdp().media().size(), a.media().size());
        List<Call.Stream> streams = call.streams();
        for (int i = 0; i < n && i < streams.size(); i++) {
            Call.Stream s = streams.get(i);
            if (s.ports() == null) {
                continue;
            }
            Sdp.Media om = o.sdp().media().get(i);
            Sdp.Media am = a.media().get(i);
            boolean mux = om.rtcpMux() && am.rtcpMux();
            try {
                if (am.disabled() || om.disabled()) {
                    s.party(offerer, s.party(offerer).next(null, null, Direction.INACTIVE, false));
                    s.party(side, s.party(side).next(null, null, Direction.INACTIVE, false));
                } else {
                    s.party(
                            offerer,
                            s.party(offerer)
                                    .next(
                                            o.sdp().rtp(i),
                                            o.sdp().rtcp(i, mux),
                                            o.sdp().direction(i),
                                            om.rtcpMux()));
                    s.party(
                            side,
                            s.party(side)
                                    .next(a.rtp(i), a.rtcp(i, mux), a.direction(i), am.rtcpMux()));
                }
            } catch (SdpException e) {
                log.warn(
                        "call {}: stream {} not anchored: {}",
                        call.callId(),
                        i + 1,
                        e.getMessage());
                continue;
            }
            LegPlan[] plans = s.plans();
            int idx = i;
            MediaSession m = call.media();
            applied.add(
                    CompletableFuture.supplyAsync(() -> m.apply(idx, plans[0], plans[1]), media)
                            .thenCompose(r -> r));
        }
        if (call.answered()) {
            calls.changed(call);
        }
        if (applied.isEmpty()) {
            return READY;
        }
        return CompletableFuture.allOf(applied.toArray(new CompletableFuture<?>[0]))
                .orTimeout(MEDIA_READY_MS, TimeUnit.MILLISECONDS)
                .exceptionally(
                        e -> {
                            Throwable c =
                                    e instanceof CompletionException && e.getCause() != null
                                            ? e.getCause()
                                            : e;
                            log.warn(
                                    "call {}: relays not ready before the answer is passed on: {}",
                                    call.callId(),
                                    c instanceof TimeoutException
                                            ? "still busy after " + MEDIA_READY_MS + " ms"
                                            : String.valueOf(c.getMessage()));
                            return null;
                        });
    }

    /**
     * Run {@code then} on the proxy's loop once {@code ready} completes (at once, when it already
     * has).
     */
    public void whenReady(CompletableFuture<Void> ready, Runnable then) {
        if (ready.isDone()) {
            then.run();
        } else {
            ready.whenComplete((v, e) -> loop.execute(then));
        }
    }

    // ------------------------------------------------------------------ restore, end

    /**
     * The relays of a call from the state file, re-opened on its ports and brought to its plans
     * (proxy thread, waits for the media thread).
     *
     * @throws Exception when they could not be re-opened (nothing is left open then)
     */
    public MediaSession reopen(Call c) throws Exception {
        MediaSession m = new MediaSession(plane);
        Map<Integer, StreamPorts> ports = new TreeMap<>();
        List<Call.Stream> streams = c.streams();
        for (int i = 0; i < streams.size(); i++) {
            if (streams.get(i).ports() != null) {
                ports.put(i, streams.get(i).ports());
            }
        }
        try {
            media.submit(
                            () -> {
                                m.reopen(ports);
                                for (int i : ports.keySet()) {
                                    LegPlan[] p = streams.get(i).plans();
                                    m.apply(i, p[0], p[1]);
                                }
                                return null;
                            })
                    .get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            m.close();
            throw e;
        }
        sessions.add(m);
        return m;
    }

    /** A call ended: free its ports and kernel entries (media thread). */
    @Override
    public void ended(Call c, String reason) {
        MediaSession m = c.media();
        if (m != null) {
            media.execute(
                    () -> {
                        m.close();
                        // counted after the close: no copy is made once the groups are gone
                        metrics.closed(m, () -> sessions.remove(m));
                    });
        }
    }

    /** Stop the media thread; the relays stay (the kernel keeps forwarding). */
    @Override
    public void close() {
        media.shutdown();
        try {
            media.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
