package io.msm.agent.sip.transaction;

import io.msm.agent.config.SipSettings;
import io.msm.agent.sip.message.Header;
import io.msm.agent.sip.message.HeaderNames;
import io.msm.agent.sip.message.SipRequest;
import io.msm.agent.sip.message.SipResponse;
import io.msm.agent.sip.transport.Hop;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The client side of a transaction (RFC 3261 section 17.1, RFC 6026): retransmits the request on
 * UDP (timer A for INVITE, E otherwise), gives up after timer B / F, ACKs failure responses to an
 * INVITE itself, hands each response to the {@link Listener} once (2xx to INVITE: every one, the
 * proxy forwards their retransmissions), and absorbs retransmitted final responses for timer D / K
 * / M.
 */
public final class ClientTransaction {
    public enum State {
        CALLING,
        TRYING,
        PROCEEDING,
        COMPLETED,
        ACCEPTED,
        TERMINATED
    }

    /** Responses and failures, on the proxy's thread. */
    public interface Listener {
        /** For requests whose outcome nobody waits for (msm's own BYE and CANCEL). */
        Listener IGNORE =
                new Listener() {
                    @Override
                    public void onResponse(ClientTransaction tx, SipResponse response) {}

                    @Override
                    public void onTimeout(ClientTransaction tx) {}

                    @Override
                    public void onTransportError(ClientTransaction tx, String why) {}
                };

        void onResponse(ClientTransaction tx, SipResponse response);

        /** No final response in time (timer B or F). */
        void onTimeout(ClientTransaction tx);

        /** The request could not be sent. */
        void onTransportError(ClientTransaction tx, String why);
    }

    private final Transactions owner;
    final String key;
    private final SipRequest request;
    private final Hop to;
    private final Listener listener;
    private final boolean invite;
    private final byte[] bytes;
    private State state;
    private Network.Cancellable retransmit;
    private Network.Cancellable timeout;
    private Network.Cancellable linger;
    private Duration interval;
    private boolean provisionalSeen;

    ClientTransaction(
            Transactions owner, String key, SipRequest request, Hop to, Listener listener) {
        this.owner = owner;
        this.key = key;
        this.request = request;
        this.to = to;
        this.listener = listener;
        this.invite = request.is("INVITE");
        this.bytes = request.encode();
        this.state = invite ? State.CALLING : State.TRYING;
    }

    void start() {
        SipSettings.Timers t = owner.timers();
        owner.net()
                .send(
                        to,
                        bytes,
                        why -> {
                            if (state != State.TERMINATED) {
                                terminate();
                                listener.onTransportError(this, why);
                            }
                        });
        if (!to.reliable()) {
            interval = t.t1();
            retransmit = owner.net().schedule(interval, this::retransmit);
        }
        timeout = owner.net().schedule(t.sixtyFourT1(), this::onTimeout); // B or F
    }

    public SipRequest request() {
        return request;
    }

    public Hop to() {
        return to;
    }

    public State state() {
        return state;
    }

    public boolean provisionalSeen() {
        return provisionalSeen;
    }

    private void retransmit() {
        if (state == State.CALLING
                || state == State.TRYING
                || (!invite && state == State.PROCEEDING)) {
            owner.net().send(to, bytes, null);
            Duration next = interval.multipliedBy(2);
            // timer A doubles without a cap; E is capped at T2 (and is T2 once a provisional came)
            interval =
                    invite
                            ? next
                            : next.compareTo(owner.timers().t2()) > 0 ? owner.timers().t2() : next;
            retransmit = owner.net().schedule(interval, this::retransmit);
        }
    }

    private void onTimeout() {
        if (state == State.CALLING
                || state == State.TRYING
                || (!invite && state == State.PROCEEDING)) {
            terminate();
            listener.onTimeout(this);
        }
    }

    void onResponse(SipResponse r) {
        switch (state) {
            case CALLING, TRYING, PROCEEDING -> {
                if (r.provisional()) {
                    provisionalSeen = true;
                    if (invite) {
                        cancel(retransmit);
                        cancel(timeout); // timer B stops; the proxy's timer C takes over
                    } else if (state == State.TRYING) {
                        interval = owner.timers().t2();
                    }
                    state = State.PROCEEDING;
                    listener.onResponse(this, r);
                    return;
                }
                cancel(retransmit);
                cancel(timeout);
                SipSettings.Timers t = owner.timers();
                if (invite && r.success()) {
                    state = State.ACCEPTED;
                    linger = owner.net().schedule(t.sixtyFourT1(), this::terminate); // timer M
                } else if (invite) {
                    state = State.COMPLETED;
                    sendAck(r);
                    linger =
                            owner.net()
                                    .schedule(
                                            to.reliable() ? Duration.ZERO : t.sixtyFourT1(),
                                            this::terminate); // D
                } else {
                    state = State.COMPLETED;
                    linger =
                            owner.net()
                                    .schedule(
                                            to.reliable() ? Duration.ZERO : t.t4(),
                                            this::terminate); // K
                }
                listener.onResponse(this, r);
            }
            case ACCEPTED -> {
                if (r.success()) {
                    listener.onResponse(this, r); // a retransmitted 2xx: the proxy forwards it
                }
            }
            case COMPLETED -> {
                if (invite && !r.provisional()) {
                    sendAck(r); // a retransmitted failure: ACK again, absorb
                }
            }
            default -> {}
        }
    }

    /** RFC 3261 section 17.1.1.3: the ACK for a failure response, hop by hop. */
    private void sendAck(SipResponse r) {
        List<Header> h = new ArrayList<>();
        h.add(new Header(HeaderNames.VIA, request.first(HeaderNames.VIA)));
        for (String route : request.all(HeaderNames.ROUTE)) {
            h.add(new Header(HeaderNames.ROUTE, route));
        }
        h.add(new Header(HeaderNames.MAX_FORWARDS, "70"));
        h.add(new Header(HeaderNames.FROM, request.first(HeaderNames.FROM)));
        h.add(new Header(HeaderNames.TO, r.first(HeaderNames.TO)));
        h.add(new Header(HeaderNames.CALL_ID, request.callId()));
        h.add(new Header(HeaderNames.CSEQ, request.cseq().number() + " ACK"));
        owner.net().send(to, new SipRequest("ACK", request.uri(), h, null).encode(), null);
    }

    /** Stop retransmitting and forget (e.g. after a CANCEL was answered with the 487's ACK). */
    void terminate() {
        state = State.TERMINATED;
        cancel(retransmit);
        cancel(timeout);
        cancel(linger);
        owner.remove(this);
    }

    private static void cancel(Network.Cancellable c) {
        if (c != null) {
            c.cancel();
        }
    }
}
