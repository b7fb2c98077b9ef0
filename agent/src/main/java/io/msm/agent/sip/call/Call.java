package io.msm.agent.sip.call;

import io.msm.agent.media.MediaAdmission;
import io.msm.agent.sip.sdp.Sdp;
import io.msm.agent.sip.transport.Hop;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One call through msm: its dialog identifiers, parties, state and the media streams anchored on
 * the node. Lives on the proxy's thread; the relays are in its {@link MediaSession}, changed on the
 * media thread.
 *
 * <p>Fields are package-private for {@link CallCodec}; everything else goes through the methods,
 * named after what happens to a call.
 */
public final class Call {
    public enum State {
        /** INVITE forwarded, no answer yet */
        SETUP,
        /** a provisional answer (ringing, early media) */
        EARLY,
        /** 2xx: the call is up */
        ANSWERED,
        /** BYE, CANCEL, failure or RTP timeout: ports freed */
        ENDED;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** One m= line's stream: the node ports (null when never anchored) and both parties' media. */
    public static final class Stream {
        final String media;
        StreamPorts ports;
        Party caller = Party.NONE;
        Party callee = Party.NONE;

        public Stream(String media) {
            this.media = media;
        }

        /** The node ports of this stream, null when it was never anchored. */
        public StreamPorts ports() {
            return ports;
        }

        public void anchoredOn(StreamPorts p) {
            this.ports = p;
        }

        public boolean rtcpMux() {
            return caller.mux() && callee.mux();
        }

        public Party party(Side s) {
            return s == Side.CALLER ? caller : callee;
        }

        public void party(Side s, Party p) {
            if (s == Side.CALLER) {
                caller = p;
            } else {
                callee = p;
            }
        }

        /** The plans of the caller-facing and callee-facing relays. */
        public LegPlan[] plans() {
            boolean mux = rtcpMux();
            return new LegPlan[] {plan(caller, callee, mux), plan(callee, caller, mux)};
        }

        private static LegPlan plan(Party from, Party to, boolean mux) {
            boolean flows =
                    from.direction().sends() && to.direction().receives() && to.rtp() != null;
            return new LegPlan(
                    from.lastRtp(),
                    mux ? null : from.lastRtcp(),
                    flows ? to.rtp() : null,
                    mux ? null : to.rtcp());
        }
    }

    /** The last offer: who made it and what it said (the answer completes it). */
    public record Offer(Side from, Sdp sdp) {}

    final String callId;
    final String callerTag;
    String calleeTag;
    final String caller;
    final String callee;
    State state = State.SETUP;
    final long startedAtMs;
    long answeredAtMs;
    final long startNanos;
    InetAddress facingCaller;
    InetAddress facingCallee;
    final List<Stream> streams = new ArrayList<>();
    private Offer offer;
    private MediaSession media;

    /** what the call holds of msm's limits: media ports and groups, the caller's call slot */
    private MediaAdmission.Lease mediaLease;

    private AutoCloseable sourceLease;

    /** the media thread is still opening ports for this call */
    private boolean allocating;

    // the dialog, for the BYEs msm sends itself when media stops (RTP timeout)
    String callerFrom; // From of the INVITE (caller's tag)
    String calleeTo; // To of the 2xx (callee's tag)
    String callerContact;
    String calleeContact;
    List<String> recordRoute = List.of(); // Record-Route of the 2xx, top first
    long callerCseq;
    long calleeCseq;
    Hop callerHop;
    Hop calleeHop;

    public Call(
            String callId,
            String callerTag,
            String caller,
            String callee,
            long startedAtMs,
            long startNanos) {
        this.callId = callId;
        this.callerTag = callerTag;
        this.caller = caller;
        this.callee = callee;
        this.startedAtMs = startedAtMs;
        this.startNanos = startNanos;
    }

    public String callId() {
        return callId;
    }

    public String callerTag() {
        return callerTag;
    }

    /** The callee's tag, once a response carried it (null before). */
    public String calleeTag() {
        return calleeTag;
    }

    public State state() {
        return state;
    }

    public boolean active() {
        return state != State.ENDED;
    }

    public boolean answered() {
        return state == State.ANSWERED;
    }

    public long startNanos() {
        return startNanos;
    }

    /** Which party sent a request with this From tag. */
    public Side sideOf(String fromTag) {
        return callerTag != null && callerTag.equals(fromTag) ? Side.CALLER : Side.CALLEE;
    }

    // ------------------------------------------------------------------ set-up

    /**
     * The caller's half of the dialog, from its INVITE: From, Contact, CSeq and the hop it came
     * from.
     */
    public void dialedBy(String from, String contact, long cseq, Hop hop) {
        this.callerFrom = from;
        this.callerContact = contact;
        this.callerCseq = cseq;
        this.callerHop = hop;
    }

    /** Where the INVITE went: the callee's hop. */
    public void sentTo(Hop hop) {
        this.calleeHop = hop;
    }

    /** The node addresses facing each party (the media ports are opened there). */
    public void facing(InetAddress caller, InetAddress callee) {
        this.facingCaller = caller;
        this.facingCallee = callee;
    }

    public InetAddress facing(Side s) {
        return s == Side.CALLER ? facingCaller : facingCallee;
    }

    /** A response from the callee carried its tag: kept from the first one that has it. */
    public void calleeTagged(String toTag) {
        if (toTag != null && calleeTag == null) {
            calleeTag = toTag;
        }
    }

    /** A provisional answer: SETUP becomes EARLY. */
    public void ringing() {
        if (state == State.SETUP) {
            state = State.EARLY;
        }
    }

    /** The 2xx: the callee's half of the dialog and the route set, for the BYEs msm may send. */
    public void answer(
            long atMs, String toTag, String to, String contact, List<String> recordRoute) {
        this.state = State.ANSWERED;
        this.answeredAtMs = atMs;
        this.calleeTag = toTag;
        this.calleeTo = to;
        this.calleeContact = contact;
        this.recordRoute = List.copyOf(recordRoute);
    }

    /** BYE, CANCEL, failure or RTP timeout. */
    public void end() {
        state = State.ENDED;
    }

    // ------------------------------------------------------------------ the dialog

    /** A request from {@code side} with CSeq {@code n}: the highest one seen is kept. */
    public void cseqSeen(Side side, long n) {
        if (side == Side.CALLER) {
            callerCseq = Math.max(callerCseq, n);
        } else {
            calleeCseq = Math.max(calleeCseq, n);
        }
    }

    /** The CSeq of a request msm sends on behalf of {@code side}. */
    public long nextCseq(Side side) {
        return side == Side.CALLER ? ++callerCseq : ++calleeCseq;
    }

    /** The party's Contact URI (its target for requests in the dialog), or null. */
    public String contact(Side s) {
        return s == Side.CALLER ? callerContact : calleeContact;
    }

    /**
     * The party's URI with its tag, as From of its requests (caller: the INVITE's From; callee: the
     * 2xx's To).
     */
    public String nameAddr(Side s) {
        return s == Side.CALLER ? callerFrom : calleeTo;
    }

    /** The hop msm last used or saw for the party (null when unknown). */
    public Hop hop(Side s) {
        return s == Side.CALLER ? callerHop : calleeHop;
    }

    /** The Record-Route of the 2xx, top first. */
    public List<String> recordRoute() {
        return recordRoute;
    }

    // ------------------------------------------------------------------ media

    public List<Stream> streams() {
        return streams;
    }

    /** Stream {@code i}, added (for an m= line of type {@code media}) when the call has fewer. */
    public Stream stream(int i, String media) {
        if (i >= streams.size()) {
            streams.add(new Stream(media));
        }
        return streams.get(i);
    }

    public Offer offer() {
        return offer;
    }

    public void offer(Offer o) {
        this.offer = o;
    }

    public MediaSession media() {
        return media;
    }

    public void media(MediaSession m) {
        this.media = m;
    }

    /** What admission gave the call (either may be null: a restored or trusted call). */
    public void admitted(MediaAdmission.Lease media, AutoCloseable source) {
        this.mediaLease = media;
        this.sourceLease = source;
    }

    /** The call's media reservation, grown when its streams grow; null when it has none. */
    public MediaAdmission.Lease mediaLease() {
        return mediaLease;
    }

    /** Gives back what admission gave (once; the call ended and its relays are closed). */
    public void release() {
        if (mediaLease != null) {
            mediaLease.close();
        }
        if (sourceLease != null) {
            try {
                sourceLease.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    public boolean allocating() {
        return allocating;
    }

    public void allocating(boolean busy) {
        this.allocating = busy;
    }
}
