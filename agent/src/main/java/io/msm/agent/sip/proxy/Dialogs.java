package io.msm.agent.sip.proxy;

import static io.msm.agent.sip.policy.Replies.reply;

import io.msm.agent.sip.call.Call;
import io.msm.agent.sip.call.CallMetrics;
import io.msm.agent.sip.call.CallTable;
import io.msm.agent.sip.call.Side;
import io.msm.agent.sip.media.MediaAnchor;
import io.msm.agent.sip.message.HeaderNames;
import io.msm.agent.sip.message.SipRequest;
import io.msm.agent.sip.message.SipResponse;
import io.msm.agent.sip.message.Via;
import io.msm.agent.sip.policy.Admission;
import io.msm.agent.sip.policy.DialogBinding;
import io.msm.agent.sip.policy.Replies;
import io.msm.agent.sip.route.Router;
import io.msm.agent.sip.transaction.ServerTransaction;
import io.msm.agent.sip.transaction.Transactions;
import io.msm.agent.sip.transport.Hop;
import io.msm.agent.sip.transport.SipTransports;
import java.net.InetAddress;
import java.util.concurrent.CompletableFuture;

/**
 * Requests and responses within the dialogs msm set up: in-dialog requests forwarded along their
 * Route (a re-INVITE or UPDATE with SDP re-anchored), the ACK of a 2xx and a 2xx that outlived
 * msm's transaction (both end to end, forwarded statelessly), and CANCEL. Proxy thread only; the
 * requests have passed {@link Admission} (an ACK is checked here: it has no transaction to refuse).
 */
final class Dialogs {
    private final Transactions txs;
    private final SipTransports transports;
    private final Router router;
    private final CallTable calls;
    private final MediaAnchor media;
    private final CallMetrics metrics;
    private final Admission admission;
    private final Forward.Services forwarding;

    Dialogs(
            Transactions txs,
            SipTransports transports,
            Router router,
            Admission admission,
            Forward.Services forwarding) {
        this.txs = txs;
        this.transports = transports;
        this.router = router;
        this.calls = forwarding.calls();
        this.media = forwarding.media();
        this.metrics = forwarding.metrics();
        this.admission = admission;
        this.forwarding = forwarding;
    }

    /** A request in a dialog (To tag), admitted: on along its Route. */
    void request(ServerTransaction st, SipRequest req, int maxFwd, String loopHash) {
        SipRequest fwd = req.copy();
        fwd.set(HeaderNames.MAX_FORWARDS, Integer.toString(maxFwd - 1));
        Hop next = router.nextHop(fwd);
        if (next == null) {
            reply(
                    st,
                    404,
                    "no route for this in-dialog request (Route or Request-URI is not an IP address)");
            return;
        }
        Call call = calls.find(req);
        Side side = null;
        if (call != null) {
            side = call.sideOf(req.from().tag());
            call.cseqSeen(side, req.cseq().number());
        }
        router.addVia(fwd, next, loopHash);
        Forward ctx = new Forward(forwarding, st, fwd, next, call, side, false, req.hasSdp());
        st.context(ctx);
        if (call != null
                && call.active()
                && (req.is("INVITE") || req.is("UPDATE"))
                && req.hasSdp()) {
            media.offer(call, side, fwd, ctx::send, ctx::fail);
        } else {
            ctx.send();
        }
    }

    /**
     * A response no transaction took: a 2xx to an INVITE after msm's transaction ended is forwarded
     * statelessly (RFC 3261 section 16.7), anything else dropped.
     */
    void response(SipResponse resp) {
        Via top = resp.topVia();
        if (!router.isOurs(top) || !resp.success() || !"INVITE".equals(resp.cseq().method())) {
            return;
        }
        SipResponse up = resp.copy();
        up.removeFirst(HeaderNames.VIA);
        Via next = up.topVia();
        if (next == null) {
            return;
        }
        Call call = calls.find(resp);
        CompletableFuture<Void> ready = MediaAnchor.READY;
        if (call != null && call.active() && resp.hasSdp() && call.offer() != null) {
            Side responder = call.offer().from().other();
            ready = media.answer(call, responder, up);
        }
        Hop hop = Router.statelessResponseHop(next);
        if (hop == null) {
            return;
        }
        media.whenReady(ready, () -> sendStateless(up, hop));
    }

    /**
     * The ACK of a 2xx: end to end, forwarded statelessly along its Route (it may carry a late
     * answer).
     */
    void ack(SipRequest req, Hop from) {
        String mf = req.first(HeaderNames.MAX_FORWARDS);
        int maxFwd = mf == null ? 70 : Integer.parseInt(mf);
        if (maxFwd == 0) {
            return;
        }
        String loopHash = Router.loopHash(req);
        router.popOwnRoutes(req);
        SipRequest fwd = req.copy();
        fwd.set(HeaderNames.MAX_FORWARDS, Integer.toString(maxFwd - 1));
        Hop next = router.nextHop(fwd);
        if (next == null) {
            return;
        }
        Call call = calls.find(req);
        InetAddress src = from.remote().getAddress();
        DialogBinding.Mismatch mismatch = admission.ack(call, req, src);
        if (mismatch != null) {
            metrics.refusals()
                    .refuse(
                            mismatch.reason(),
                            "ACK from " + src.getHostAddress() + " dropped: " + mismatch.why());
            return;
        }
        CompletableFuture<Void> ready = MediaAnchor.READY;
        if (call != null && call.active() && req.hasSdp() && call.offer() != null) {
            Side side = call.sideOf(req.from().tag());
            if (call.offer().from() != side) {
                ready = media.answer(call, side, fwd);
            }
        }
        router.addAckVia(fwd, next, loopHash, req.topVia());
        media.whenReady(ready, () -> transports.send(next, fwd.encode(), null));
    }

    /** CANCEL: answered at once, passed on once the callee has sent a provisional response. */
    void cancel(SipRequest req, Hop from) {
        ServerTransaction inv = txs.findInviteFor(req);
        if (inv == null) {
            metrics.refusals()
                    .refuse(
                            "no_dialog",
                            "CANCEL from "
                                    + from.remote().getAddress().getHostAddress()
                                    + " matches no INVITE");
            sendStateless(
                    SipResponse.to(req, 481, null, SipResponse.newTag()),
                    Router.responseHop(req.topVia(), from));
            return;
        }
        if (!inv.from().remote().getAddress().equals(from.remote().getAddress())) {
            // only the INVITE's sender may cancel it (the branch is no secret on the path)
            metrics.refusals()
                    .refuse(
                            "cancel_not_own",
                            "CANCEL from "
                                    + from.remote().getAddress().getHostAddress()
                                    + " for an INVITE from "
                                    + inv.from().remote().getAddress().getHostAddress());
            sendStateless(
                    Replies.refusal(req, 481, "no INVITE from this source matches"),
                    Router.responseHop(req.topVia(), from));
            return;
        }
        ServerTransaction cst = txs.newServer(req, from, Router.responseHop(req.topVia(), from));
        cst.respond(SipResponse.to(req, 200, null, SipResponse.newTag()));
        if (inv.finalSent() || !(inv.context() instanceof Forward ctx)) {
            return;
        }
        ctx.cancelled();
    }

    private void sendStateless(SipResponse r, Hop to) {
        transports.send(to, r.encode(), null);
    }
}
