package io.msm.agent.sip.watchdog;

import io.msm.agent.sip.call.Call;
import io.msm.agent.sip.call.CallTable;
import io.msm.agent.sip.call.MediaSession;
import io.msm.agent.sip.call.Side;
import io.msm.agent.sip.message.Header;
import io.msm.agent.sip.message.HeaderNames;
import io.msm.agent.sip.message.SipRequest;
import io.msm.agent.sip.message.SipUri;
import io.msm.agent.sip.route.Router;
import io.msm.agent.sip.transaction.ClientTransaction;
import io.msm.agent.sip.transaction.Transactions;
import io.msm.agent.sip.transport.Hop;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ends answered calls whose relays saw no RTP or RTCP for sip.rtp-timeout: msm sends a BYE to both
 * parties along the dialog's route set, with {@code Reason: SIP;cause=408}, and ends the call in
 * the call table. The relays are looked at on the media thread; calls are ended on the proxy's
 * thread.
 */
public final class RtpWatchdog implements CallTable.Listener {
    private static final Logger log = LoggerFactory.getLogger(RtpWatchdog.class);

    private final Duration timeout;
    private final CallTable calls;
    private final Router router;
    private final Transactions txs;
    private final ScheduledExecutorService mediaThread;
    private final Executor loop;

    /** RTP watch of answered calls by call key, media thread only */
    private final Map<String, Watch> watches = new HashMap<>();

    /** A call's RTP activity as last seen (media thread). */
    private static final class Watch {
        final MediaSession session;
        long count = -1;
        long changedAt = System.nanoTime();

        Watch(MediaSession session) {
            this.session = session;
        }
    }

    public RtpWatchdog(
            Duration timeout,
            CallTable calls,
            Router router,
            Transactions txs,
            ScheduledExecutorService mediaThread,
            Executor loop) {
        this.timeout = timeout;
        this.calls = calls;
        this.router = router;
        this.txs = txs;
        this.mediaThread = mediaThread;
        this.loop = loop;
    }

    /** Look at the relays every quarter of the timeout (0.2 to 5 s). */
    public void start() {
        long every = Math.max(200, Math.min(5000, timeout.toMillis() / 4));
        mediaThread.scheduleWithFixedDelay(this::check, every, every, TimeUnit.MILLISECONDS);
    }

    @Override
    public void answered(Call call) {
        String k = CallTable.key(call);
        MediaSession m = call.media();
        mediaThread.execute(
                () -> {
                    if (!m.closed()) {
                        watches.put(k, new Watch(m));
                    }
                });
    }

    @Override
    public void ended(Call call, String reason) {
        if (call.media() != null) {
            String k = CallTable.key(call);
            mediaThread.execute(() -> watches.remove(k));
        }
    }

    /** Media thread: end answered calls whose relays saw nothing for sip.rtp-timeout. */
    private void check() {
        long now = System.nanoTime();
        long limit = timeout.toNanos();
        for (Map.Entry<String, Watch> e : new ArrayList<>(watches.entrySet())) {
            Watch w = e.getValue();
            long n;
            try {
                n = w.session.activity();
            } catch (RuntimeException ex) {
                continue;
            }
            if (n != w.count) {
                w.count = n;
                w.changedAt = now;
            } else if (now - w.changedAt > limit) {
                watches.remove(e.getKey());
                String k = e.getKey();
                loop.execute(() -> timedOut(k));
            }
        }
    }

    private void timedOut(String k) {
        Call c = calls.get(k);
        if (c == null || !c.answered()) {
            return;
        }
        log.info(
                "call {}: no RTP or RTCP for {}s: ending it (BYE to both parties)",
                c.callId(),
                timeout.toSeconds());
        try {
            sendBye(c, Side.CALLEE);
            sendBye(c, Side.CALLER);
        } catch (RuntimeException e) {
            log.warn("call {}: BYE not sent: {}", c.callId(), e.toString());
        }
        calls.end(c, "rtp_timeout");
    }

    /** A BYE msm sends on a party's behalf to {@code to}, along the dialog's route set. */
    private void sendBye(Call c, Side to) {
        Side from = to.other();
        String target = c.contact(to);
        String fromHdr = c.nameAddr(from);
        String toHdr = c.nameAddr(to);
        if (target == null || fromHdr == null || toHdr == null || !SipUri.isSip(target)) {
            return;
        }
        long cseq = c.nextCseq(from);
        List<Header> h = new ArrayList<>();
        for (String r : router.routeSet(c.recordRoute(), to == Side.CALLEE)) {
            h.add(new Header(HeaderNames.ROUTE, r));
        }
        h.add(new Header(HeaderNames.MAX_FORWARDS, "70"));
        h.add(new Header(HeaderNames.FROM, fromHdr));
        h.add(new Header(HeaderNames.TO, toHdr));
        h.add(new Header(HeaderNames.CALL_ID, c.callId()));
        h.add(new Header(HeaderNames.CSEQ, cseq + " BYE"));
        h.add(
                new Header(
                        HeaderNames.REASON,
                        "SIP;cause=408;text=\"media timeout (msm sip.rtp-timeout)\""));
        SipRequest bye = new SipRequest("BYE", target, h, null);
        Hop next = router.nextHop(bye);
        if (next == null) {
            return;
        }
        Hop known = c.hop(to);
        if (known != null && known.remote().equals(next.remote())) {
            next = new Hop(known.kind(), next.remote(), null);
        }
        router.addVia(bye, next, Router.loopHash(bye));
        txs.newClient(bye, next, ClientTransaction.Listener.IGNORE);
    }
}
