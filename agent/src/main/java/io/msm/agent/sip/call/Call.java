package io.msm.agent.sip.call;

import io.msm.agent.sip.sdp.Sdp;
import io.msm.agent.sip.transport.Hop;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * One call through msm: its dialog identifiers, parties, state and the media
 * streams anchored on the node. Lives on the proxy's thread; the relays are
 * in its {@link MediaSession}, changed on the media thread.
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
            return name().toLowerCase();
        }
    }

    /** One m= line's stream: the node ports (null when never anchored) and both parties' media. */
    public static final class Stream {
        public final String media;
        public StreamPorts ports;
        public Party caller = Party.NONE;
        public Party callee = Party.NONE;

        public Stream(String media) {
            this.media = media;
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
            boolean flows = from.direction().sends() && to.direction().receives() && to.rtp() != null;
            return new LegPlan(from.lastRtp(), mux ? null : from.lastRtcp(), flows ? to.rtp() : null,
                    mux ? null : to.rtcp());
        }
    }

    /** The last offer: who made it and what it said (the answer completes it). */
    public record Offer(Side from, Sdp sdp) {
    }

    public final String callId;
    public final String callerTag;
    public String calleeTag;
    public final String caller;
    public final String callee;
    public State state = State.SETUP;
    public final long startedAtMs;
    public long answeredAtMs;
    public long endedAtMs;
    public final long startNanos;
    public String endReason;
    public InetAddress facingCaller;
    public InetAddress facingCallee;
    public final List<Stream> streams = new ArrayList<>();
    public Offer offer;
    public MediaSession media;
    /** the media thread is still opening ports for this call */
    public boolean allocating;
    /** RTP activity bookkeeping (media thread): last count and when it changed */
    public volatile long lastActivityCount = -1;
    public volatile long lastActivityNanos;

    // the dialog, for the BYEs msm sends itself when media stops (RTP timeout)
    public String callerFrom;     // From of the INVITE (caller's tag)
    public String calleeTo;       // To of the 2xx (callee's tag)
    public String callerContact;
    public String calleeContact;
    public List<String> recordRoute = List.of();  // Record-Route of the 2xx, top first
    public long callerCseq;
    public long calleeCseq;
    public Hop callerHop;
    public Hop calleeHop;

    public Call(String callId, String callerTag, String caller, String callee, long startedAtMs, long startNanos) {
        this.callId = callId;
        this.callerTag = callerTag;
        this.caller = caller;
        this.callee = callee;
        this.startedAtMs = startedAtMs;
        this.startNanos = startNanos;
    }

    /** Which party sent a request with this From tag. */
    public Side sideOf(String fromTag) {
        return callerTag != null && callerTag.equals(fromTag) ? Side.CALLER : Side.CALLEE;
    }

    public InetAddress facing(Side s) {
        return s == Side.CALLER ? facingCaller : facingCallee;
    }

    public boolean active() {
        return state != State.ENDED;
    }
}
