package io.msm.agent.sip.call;

import com.google.errorprone.annotations.CanIgnoreReturnValue;
import io.msm.agent.media.MediaPlane;
import io.msm.agent.media.Relay;
import io.msm.agent.media.RelayOptions;
import io.msm.agent.media.RelayPair;
import io.msm.agent.media.RelayStats;
import io.msm.agent.media.RtpStreamStats;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * The relays of one call: per media stream a port pair facing the caller (receives the caller's
 * RTP/RTCP, copies go to the callee from the callee side's ports) and one facing the callee (the
 * reverse) — 1:1 two-way anchoring on the media plane, in the kernel when it is the kernel plane.
 *
 * <p>Changes run on the SIP media thread only (one at a time, in order); {@link #streams()} and the
 * statistics may be read from any thread.
 *
 * <p>Relay labels are fixed per side and kind ("sip/caller/rtp", ...): the metrics use labels as a
 * tag, so call ids never go there; which call owns a port is in the call table ({@code msm calls}).
 */
public final class MediaSession {
    public static final String CALLER_RTP = "sip/caller/rtp";
    public static final String CALLER_RTCP = "sip/caller/rtcp";
    public static final String CALLEE_RTP = "sip/callee/rtp";
    public static final String CALLEE_RTCP = "sip/callee/rtcp";

    /** The four relays of one stream and the subscribers now installed. */
    public static final class StreamRelays {
        final RelayPair callerSide;
        final RelayPair calleeSide;
        LegPlan callerPlan = LegPlan.IDLE;
        LegPlan calleePlan = LegPlan.IDLE;
        Relay.Subscriber toCalleeRtp;
        Relay.Subscriber toCalleeRtcp;
        Relay.Subscriber toCallerRtp;
        Relay.Subscriber toCallerRtcp;

        StreamRelays(RelayPair callerSide, RelayPair calleeSide) {
            this.callerSide = callerSide;
            this.calleeSide = calleeSide;
        }

        public StreamPorts ports() {
            return new StreamPorts(callerSide.rtp().local(), calleeSide.rtp().local());
        }

        /** caller -> callee: what the caller-facing RTP relay received and sent on. */
        public Flow callerToCallee() {
            return new Flow(callerSide.rtp(), callerSide.rtcp(), toCalleeRtp);
        }

        public Flow calleeToCaller() {
            return new Flow(calleeSide.rtp(), calleeSide.rtcp(), toCallerRtp);
        }

        void closeAll() {
            callerSide.close();
            calleeSide.close();
        }
    }

    /** One flow of media (caller to callee, or back): its relays, for statistics. */
    public record Flow(Relay rtp, Relay rtcp, Relay.Subscriber subscriber) {
        public RelayStats rtpStats() {
            return rtp.stats();
        }

        public RelayStats rtcpStats() {
            return rtcp.stats();
        }

        public Optional<RtpStreamStats> rtpReceiver() {
            return rtp.rtpStats();
        }

        /** "kernel", "userspace", "pending" or "off" (no subscriber: hold, or not answered yet). */
        public String servedBy() {
            return subscriber == null ? "off" : subscriber.servedBy();
        }
    }

    private final MediaPlane plane;

    /** relay labels: protocol + "/caller/rtp", ... */
    private final String callerRtp;

    private final String callerRtcp;
    private final String calleeRtp;
    private final String calleeRtcp;

    /** by media section index (m= line) */
    private volatile Map<Integer, StreamRelays> streams = Map.of();

    private volatile boolean closed;

    public MediaSession(MediaPlane plane) {
        this(plane, "sip");
    }

    /**
     * @param protocol the first part of the relays' labels ("sip", or "ng" for calls set up over
     *     rtpengine's NG protocol)
     */
    public MediaSession(MediaPlane plane, String protocol) {
        this.plane = plane;
        this.callerRtp = protocol + "/caller/rtp";
        this.callerRtcp = protocol + "/caller/rtcp";
        this.calleeRtp = protocol + "/callee/rtp";
        this.calleeRtcp = protocol + "/callee/rtcp";
    }

    /** The anchored streams by media section index. */
    public Map<Integer, StreamRelays> streams() {
        return streams;
    }

    public boolean closed() {
        return closed;
    }

    /**
     * Open port pairs for the media sections {@code indexes}; all or nothing.
     *
     * @param expectCaller the caller's RTP source per new stream (strict from the start), null
     *     entries allowed
     * @return the ports, in the order of {@code indexes}
     */
    public List<StreamPorts> allocate(
            List<Integer> indexes,
            InetAddress facingCaller,
            InetAddress facingCallee,
            List<InetSocketAddress> expectCaller)
            throws IOException {
        List<StreamRelays> opened = new ArrayList<>();
        try {
            for (int i = 0; i < indexes.size(); i++) {
                InetSocketAddress exp = i < expectCaller.size() ? expectCaller.get(i) : null;
                RelayPair a =
                        plane.openPair(
                                facingCaller,
                                options(callerRtp, exp),
                                options(
                                        callerRtcp,
                                        exp == null
                                                ? null
                                                : new InetSocketAddress(exp.getAddress(), 0)));
                RelayPair b;
                try {
                    b =
                            plane.openPair(
                                    facingCallee,
                                    options(calleeRtp, null),
                                    options(calleeRtcp, null));
                } catch (IOException | RuntimeException e) {
                    a.close();
                    throw e;
                }
                opened.add(new StreamRelays(a, b));
            }
        } catch (IOException | RuntimeException e) {
            opened.forEach(StreamRelays::closeAll);
            throw e;
        }
        Map<Integer, StreamRelays> all = new TreeMap<>(streams);
        List<StreamPorts> out = new ArrayList<>();
        for (int i = 0; i < indexes.size(); i++) {
            StreamRelays old = all.put(indexes.get(i), opened.get(i));
            if (old != null) {
                old.closeAll();
            }
            out.add(opened.get(i).ports());
        }
        streams = Collections.unmodifiableMap(all);
        return out;
    }

    /**
     * Re-open the relays of a call restored from the state file on exactly its old ports (the
     * kernel plane reclaims the groups left forwarding).
     */
    public void reopen(Map<Integer, StreamPorts> ports) throws IOException {
        Map<Integer, StreamRelays> all = new TreeMap<>();
        try {
            for (Map.Entry<Integer, StreamPorts> e : ports.entrySet()) {
                StreamPorts p = e.getValue();
                RelayPair a =
                        new RelayPair(
                                plane.open(p.callerSide(), options(callerRtp, null)),
                                plane.open(p.callerSideRtcp(), options(callerRtcp, null)));
                RelayPair b;
                try {
                    b =
                            new RelayPair(
                                    plane.open(p.calleeSide(), options(calleeRtp, null)),
                                    plane.open(p.calleeSideRtcp(), options(calleeRtcp, null)));
                } catch (IOException | RuntimeException ex) {
                    a.close();
                    throw ex;
                }
                all.put(e.getKey(), new StreamRelays(a, b));
            }
        } catch (IOException | RuntimeException e) {
            all.values().forEach(StreamRelays::closeAll);
            throw e;
        }
        streams = Collections.unmodifiableMap(all);
    }

    private static RelayOptions options(String label, InetSocketAddress expected) {
        return RelayOptions.of(label)
                .withExpectedSource(expected)
                .withOthers(RelayOptions.Others.DROP);
    }

    /**
     * Bring stream i's relays to the plan: strict sources and the one subscriber per direction.
     *
     * <p>The plane may install a subscriber after this returns (the kernel plane resolves its next
     * hop and writes the group on its own control thread; until then the group drops what arrives).
     * The future completes when every subscriber of the stream is served: a party must not be told
     * where to send before then, or the first packets of a direction that is not there yet are lost
     * (under a slow control thread, the callee's echo of the caller's first packets was).
     */
    @CanIgnoreReturnValue
    public CompletableFuture<Void> apply(int i, LegPlan caller, LegPlan callee) {
        StreamRelays s = streams.get(i);
        if (closed || s == null) {
            return CompletableFuture.completedFuture(null);
        }
        InetSocketAddress fromCalleeSideRtp = s.calleeSide.rtp().local();
        InetSocketAddress fromCalleeSideRtcp = s.calleeSide.rtcp().local();
        InetSocketAddress fromCallerSideRtp = s.callerSide.rtp().local();
        InetSocketAddress fromCallerSideRtcp = s.callerSide.rtcp().local();
        // caller-facing relays: the caller's packets, to the callee, from the callee-side ports
        expect(s.callerSide.rtp(), caller.expectRtp());
        expect(s.callerSide.rtcp(), caller.expectRtcp());
        s.toCalleeRtp =
                resubscribe(
                        s.callerSide.rtp(),
                        s.toCalleeRtp,
                        caller.expectRtp() == null ? null : caller.sendRtp(),
                        fromCalleeSideRtp);
        s.toCalleeRtcp =
                resubscribe(
                        s.callerSide.rtcp(),
                        s.toCalleeRtcp,
                        caller.expectRtcp() == null ? null : caller.sendRtcp(),
                        fromCalleeSideRtcp);
        expect(s.calleeSide.rtp(), callee.expectRtp());
        expect(s.calleeSide.rtcp(), callee.expectRtcp());
        s.toCallerRtp =
                resubscribe(
                        s.calleeSide.rtp(),
                        s.toCallerRtp,
                        callee.expectRtp() == null ? null : callee.sendRtp(),
                        fromCallerSideRtp);
        s.toCallerRtcp =
                resubscribe(
                        s.calleeSide.rtcp(),
                        s.toCallerRtcp,
                        callee.expectRtcp() == null ? null : callee.sendRtcp(),
                        fromCallerSideRtcp);
        s.callerPlan = caller;
        s.calleePlan = callee;
        List<CompletableFuture<Void>> ready = new ArrayList<>();
        for (Relay.Subscriber sub :
                new Relay.Subscriber[] {
                    s.toCalleeRtp, s.toCalleeRtcp, s.toCallerRtp, s.toCallerRtcp
                }) {
            if (sub != null) {
                ready.add(sub.ready().toCompletableFuture());
            }
        }
        return CompletableFuture.allOf(ready.toArray(new CompletableFuture<?>[0]));
    }

    private static void expect(Relay r, InetSocketAddress src) {
        if (src != null && !src.equals(r.options().expectedSource())) {
            r.expectSource(src);
        }
    }

    private static Relay.Subscriber resubscribe(
            Relay r, Relay.Subscriber current, InetSocketAddress to, InetSocketAddress from) {
        if (current != null && Objects.equals(current.viewer(), to)) {
            return current;
        }
        if (current != null) {
            current.close();
        }
        return to == null ? null : r.subscribe(to, from);
    }

    /**
     * Upstream packets over all relays (RTP and RTCP, both directions): the call's sign of life.
     */
    public long activity() {
        long n = 0;
        for (StreamRelays s : streams.values()) {
            n +=
                    s.callerSide.rtp().stats().upstreamPackets()
                            + s.callerSide.rtcp().stats().upstreamPackets()
                            + s.calleeSide.rtp().stats().upstreamPackets()
                            + s.calleeSide.rtcp().stats().upstreamPackets();
        }
        return n;
    }

    /** Free every port and kernel entry of the call. */
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (StreamRelays s : streams.values()) {
            s.closeAll();
        }
    }
}
