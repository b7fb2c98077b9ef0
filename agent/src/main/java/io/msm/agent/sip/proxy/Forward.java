package io.msm.agent.sip.proxy;

import static io.msm.agent.sip.policy.Replies.reply;

import io.msm.agent.config.SipSettings;
import io.msm.agent.sip.call.Call;
import io.msm.agent.sip.call.CallMetrics;
import io.msm.agent.sip.call.CallTable;
import io.msm.agent.sip.call.Side;
import io.msm.agent.sip.media.MediaAnchor;
import io.msm.agent.sip.message.Header;
import io.msm.agent.sip.message.HeaderNames;
import io.msm.agent.sip.message.SipRequest;
import io.msm.agent.sip.message.SipResponse;
import io.msm.agent.sip.policy.Replies;
import io.msm.agent.sip.transaction.ClientTransaction;
import io.msm.agent.sip.transaction.Network;
import io.msm.agent.sip.transaction.ServerTransaction;
import io.msm.agent.sip.transaction.Transactions;
import io.msm.agent.sip.transport.Hop;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One request forwarded: its server and client transaction, the call it belongs to, CANCEL and
 * timer C state; responses come back here, bring the call's state and media along, and go upstream.
 * Proxy thread only.
 */
final class Forward implements ClientTransaction.Listener {
    private static final Logger log = LoggerFactory.getLogger(Forward.class);

    /** What every forwarded request uses. */
    record Services(
            SipSettings cfg,
            Transactions txs,
            Network network,
            CallTable calls,
            MediaAnchor media,
            CallMetrics metrics) {}

    private final Services s;
    final ServerTransaction st;
    final SipRequest fwd;
    final Hop next;
    final Call call;
    final Side side;
    final boolean initial;
    private ClientTransaction ct;
    private boolean cancelled;
    private boolean cancelPending;
    private final boolean offerInRequest;
    private Network.Cancellable timerC;

    Forward(
            Services s,
            ServerTransaction st,
            SipRequest fwd,
            Hop next,
            Call call,
            Side side,
            boolean initial,
            boolean offerInRequest) {
        this.s = s;
        this.st = st;
        this.fwd = fwd;
        this.next = next;
        this.call = call;
        this.side = side;
        this.initial = initial;
        this.offerInRequest = offerInRequest;
    }

    boolean invite() {
        return fwd.is("INVITE");
    }

    /** Send the request on (unless it was cancelled or answered meanwhile). */
    void send() {
        if (cancelled || st.finalSent()) {
            return;
        }
        ct = s.txs().newClient(fwd, next, this);
        if (invite()) {
            startTimerC();
        }
    }

    /** The request could not be sent on (its media could not be anchored): answer it. */
    void fail(int status, String why) {
        if (!st.finalSent()) {
            if (status == 503) {
                Replies.busy(st, s.cfg().retryAfter().toSeconds(), why);
            } else {
                reply(st, status, why);
            }
        }
    }

    // ------------------------------------------------------------------ CANCEL

    /** The caller cancelled the INVITE (its CANCEL is answered already). */
    void cancelled() {
        cancelled = true;
        if (ct == null) {
            // not forwarded yet (media ports being opened): end it here
            st.respond(SipResponse.to(st.request(), 487, null, SipResponse.newTag()));
            if (call != null && initial) {
                s.metrics().outcome("cancelled");
                s.calls().end(call, null);
            }
        } else if (ct.provisionalSeen()) {
            sendCancel();
        } else {
            cancelPending = true; // RFC 3261 section 9.1: not before a provisional response
        }
    }

    private void sendCancel() {
        List<Header> h = new ArrayList<>();
        h.add(new Header(HeaderNames.VIA, fwd.first(HeaderNames.VIA)));
        for (String r : fwd.all(HeaderNames.ROUTE)) {
            h.add(new Header(HeaderNames.ROUTE, r));
        }
        h.add(new Header(HeaderNames.MAX_FORWARDS, "70"));
        h.add(new Header(HeaderNames.FROM, fwd.first(HeaderNames.FROM)));
        h.add(new Header(HeaderNames.TO, fwd.first(HeaderNames.TO)));
        h.add(new Header(HeaderNames.CALL_ID, fwd.callId()));
        h.add(new Header(HeaderNames.CSEQ, fwd.cseq().number() + " CANCEL"));
        s.txs()
                .newClient(
                        new SipRequest("CANCEL", fwd.uri(), h, null),
                        next,
                        ClientTransaction.Listener.IGNORE);
        // RFC 3261 section 9.1: no final answer 64*T1 after the CANCEL: give up on the branch
        s.network()
                .schedule(
                        s.cfg().timers().sixtyFourT1(),
                        () -> {
                            if (st.finalSent()) {
                                return;
                            }
                            if (ct != null) {
                                s.txs().terminate(ct);
                            }
                            reply(st, 408, "no final answer after CANCEL");
                            if (call != null && initial) {
                                s.metrics().outcome("no_answer");
                                s.calls().end(call, null);
                            }
                        });
    }

    // ------------------------------------------------------------------ timer C

    private void startTimerC() {
        if (timerC != null) {
            timerC.cancel();
        }
        timerC = s.network().schedule(s.cfg().timers().c(), this::onTimerC);
    }

    private void onTimerC() {
        if (st.finalSent() || ct == null) {
            return;
        }
        if (ct.provisionalSeen()) {
            sendCancel(); // the 487 that follows goes upstream
        } else {
            s.txs().terminate(ct);
            reply(st, 408, "no final answer within timer C");
            if (call != null && initial) {
                s.metrics().outcome("no_answer");
                s.calls().end(call, null);
            }
        }
    }

    // ------------------------------------------------------------------ responses

    @Override
    public void onResponse(ClientTransaction tx, SipResponse resp) {
        SipResponse up = resp.copy();
        up.removeFirst(HeaderNames.VIA);
        if (!up.has(HeaderNames.VIA)) {
            return;
        }
        int status = resp.status();
        if (status == 100) {
            return; // msm sent its own
        }
        if (invite()) {
            if (status < 200) {
                startTimerC();
                if (cancelPending) {
                    cancelPending = false;
                    sendCancel();
                }
            } else if (timerC != null) {
                timerC.cancel();
            }
        }
        if (call == null) {
            st.respond(up);
            return;
        }
        Side responder = side == null ? null : side.other();
        boolean sdpMethod = invite() || fwd.is("UPDATE") || fwd.is("PRACK");
        if (call.active() && responder != null && sdpMethod && resp.hasSdp() && status < 300) {
            if (offerInRequest) {
                CompletableFuture<Void> ready = s.media().answer(call, responder, up);
                if (!ready.isDone()) {
                    s.media().whenReady(ready, () -> afterResponse(resp, up));
                    return;
                }
            } else {
                if (call.allocating()) {
                    return; // a retransmission while the first copy's ports are being opened: the
                    // next one passes
                }
                // a late offer in the response (the ACK carries the answer)
                s.media()
                        .offer(
                                call,
                                responder,
                                up,
                                () -> afterResponse(resp, up),
                                (st2, why) -> {
                                    log.warn(
                                            "call {}: cannot anchor the offer in a {}: {}",
                                            call.callId(),
                                            status,
                                            why);
                                    afterResponse(resp, up);
                                });
                return;
            }
        }
        afterResponse(resp, up);
    }

    /** Call state from a response, then the response upstream. */
    private void afterResponse(SipResponse resp, SipResponse up) {
        int status = resp.status();
        if (call != null && initial && invite()) {
            String toTag = resp.to().tag();
            if (status > 100) {
                call.calleeTagged(toTag);
            }
            if (status < 200) {
                call.ringing();
            } else if (status < 300) {
                if (call.active() && !call.answered()) {
                    call.answer(
                            System.currentTimeMillis(),
                            toTag,
                            resp.first(HeaderNames.TO),
                            resp.contactUri(),
                            resp.all(HeaderNames.RECORD_ROUTE));
                    s.metrics().setupTime(System.nanoTime() - call.startNanos());
                    s.metrics().outcome("answered");
                    s.calls().answered(call);
                }
            } else if (call.active() && !call.answered()) {
                s.metrics().outcome(CallMetrics.outcomeOf(status));
                s.calls().end(call, null);
            }
        } else if (call != null && fwd.is("BYE") && status >= 200) {
            s.calls().end(call, "bye");
        } else if (call != null
                && status >= 300
                && invite()
                && call.offer() != null
                && call.offer().from() == side) {
            call.offer(
                    null); // a refused re-INVITE leaves the media as it was (nothing was committed)
        }
        st.respond(up);
    }

    @Override
    public void onTimeout(ClientTransaction tx) {
        if (!st.finalSent()) {
            reply(st, 408, "no answer from " + next);
        }
        if (call != null) {
            if (initial && invite()) {
                s.metrics().outcome("no_answer");
                s.calls().end(call, null);
            } else if (fwd.is("BYE")) {
                s.calls().end(call, "bye");
            }
        }
    }

    @Override
    public void onTransportError(ClientTransaction tx, String why) {
        if (!st.finalSent()) {
            reply(st, 503, "cannot send to " + next + ": " + why);
        }
        if (call != null) {
            if (initial && invite()) {
                s.metrics().outcome("failed");
                s.calls().end(call, null);
            } else if (fwd.is("BYE")) {
                s.calls().end(call, "bye");
            }
        }
    }
}
