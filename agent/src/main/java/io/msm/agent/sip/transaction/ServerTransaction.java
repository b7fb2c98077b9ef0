package io.msm.agent.sip.transaction;

import io.msm.agent.config.SipSettings;
import io.msm.agent.sip.message.SipRequest;
import io.msm.agent.sip.message.SipResponse;
import io.msm.agent.sip.transport.Hop;
import java.time.Duration;

/**
 * The server side of a transaction (RFC 3261 section 17.2, with RFC 6026's Accepted state for
 * INVITE): it remembers the last response and resends it when the request is retransmitted,
 * retransmits a failure response to an INVITE on UDP (timer G, up to H) until the ACK comes, and
 * lingers to absorb retransmissions (timers I, J, L) before it is forgotten.
 */
public final class ServerTransaction {
    public enum State {
        TRYING,
        PROCEEDING,
        COMPLETED,
        CONFIRMED,
        ACCEPTED,
        TERMINATED
    }

    private final Transactions owner;
    final String key;
    private final SipRequest request;
    private final Hop from;
    private final Hop responseHop;
    private final boolean invite;
    private State state;
    private SipResponse lastResponse;
    private byte[] lastBytes;
    private Network.Cancellable timerG;
    private Network.Cancellable timerEnd;
    private Duration gInterval;

    /** Whatever the proxy attaches (its forwarding context). */
    private Object context;

    ServerTransaction(
            Transactions owner, String key, SipRequest request, Hop from, Hop responseHop) {
        this.owner = owner;
        this.key = key;
        this.request = request;
        this.from = from;
        this.responseHop = responseHop;
        this.invite = request.is("INVITE");
        this.state = invite ? State.PROCEEDING : State.TRYING;
    }

    public SipRequest request() {
        return request;
    }

    public Hop from() {
        return from;
    }

    public Hop responseHop() {
        return responseHop;
    }

    public State state() {
        return state;
    }

    public boolean finalSent() {
        return lastResponse != null && lastResponse.status() >= 200;
    }

    public SipResponse lastResponse() {
        return lastResponse;
    }

    public Object context() {
        return context;
    }

    public void context(Object c) {
        this.context = c;
    }

    /**
     * Send a response. Provisional ones only before a final; after a 2xx to an INVITE, further 2xx
     * (retransmissions from downstream) pass too.
     */
    public void respond(SipResponse r) {
        if (state == State.TERMINATED || state == State.COMPLETED || state == State.CONFIRMED) {
            return;
        }
        if (state == State.ACCEPTED) {
            if (r.success()) {
                send(r);
            }
            return;
        }
        send(r);
        if (r.provisional()) {
            state = State.PROCEEDING;
            return;
        }
        SipSettings.Timers t = owner.timers();
        if (invite && r.success()) {
            state = State.ACCEPTED;
            timerEnd = owner.net().schedule(t.sixtyFourT1(), this::terminate); // timer L
        } else if (invite) {
            state = State.COMPLETED;
            if (!responseHop.reliable()) {
                gInterval = t.t1();
                timerG = owner.net().schedule(gInterval, this::timerG);
            }
            timerEnd =
                    owner.net()
                            .schedule(
                                    t.sixtyFourT1(),
                                    this::terminate); // timer H: the ACK never came
        } else {
            state = State.COMPLETED;
            timerEnd =
                    owner.net()
                            .schedule(
                                    responseHop.reliable() ? Duration.ZERO : t.sixtyFourT1(),
                                    this::terminate);
        }
    }

    private void send(SipResponse r) {
        lastResponse = r;
        lastBytes = r.encode();
        owner.net().send(responseHop, lastBytes, null);
    }

    private void timerG() {
        if (state != State.COMPLETED) {
            return;
        }
        owner.net().send(responseHop, lastBytes, null);
        Duration next = gInterval.multipliedBy(2);
        gInterval = next.compareTo(owner.timers().t2()) > 0 ? owner.timers().t2() : next;
        timerG = owner.net().schedule(gInterval, this::timerG);
    }

    /** The same request again: resend what was last sent (nothing yet: absorb). */
    void onRetransmission() {
        if (lastBytes != null
                && state != State.TERMINATED
                && state != State.CONFIRMED
                && state != State.ACCEPTED) {
            owner.net().send(responseHop, lastBytes, null);
        }
    }

    /** An ACK for a failure response: stop retransmitting, linger for T4 (timer I). */
    void onAck() {
        if (state != State.COMPLETED) {
            return;
        }
        state = State.CONFIRMED;
        cancel(timerG);
        cancel(timerEnd);
        timerEnd =
                owner.net()
                        .schedule(
                                responseHop.reliable() ? Duration.ZERO : owner.timers().t4(),
                                this::terminate);
    }

    void terminate() {
        state = State.TERMINATED;
        cancel(timerG);
        cancel(timerEnd);
        owner.remove(this);
    }

    private static void cancel(Network.Cancellable c) {
        if (c != null) {
            c.cancel();
        }
    }
}
