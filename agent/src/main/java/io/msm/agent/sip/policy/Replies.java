package io.msm.agent.sip.policy;

import io.msm.agent.sip.message.HeaderNames;
import io.msm.agent.sip.message.SipRequest;
import io.msm.agent.sip.message.SipResponse;
import io.msm.agent.sip.transaction.ServerTransaction;

/** The answers msm gives itself, with a Warning that says why. */
public final class Replies {
    private Replies() {}

    public static void reply(ServerTransaction st, int status, String warning) {
        SipResponse r = SipResponse.to(st.request(), status, null, SipResponse.newTag());
        if (warning != null) {
            r.add(HeaderNames.WARNING, "399 msm \"" + warning.replace('"', '\'') + "\"");
        }
        st.respond(r);
    }

    /** A refusal with a Warning saying why (sent without a transaction). */
    public static SipResponse refusal(SipRequest req, int status, String why) {
        SipResponse r = SipResponse.to(req, status, null, SipResponse.newTag());
        r.add(HeaderNames.WARNING, "399 msm \"" + why.replace('"', '\'') + "\"");
        return r;
    }

    public static void busy(ServerTransaction st, long retryAfter, String why) {
        st.respond(busy(st.request(), retryAfter, why));
    }

    /** 503 with Retry-After: msm's own limits. */
    public static SipResponse busy(SipRequest req, long retryAfter, String why) {
        SipResponse r = SipResponse.to(req, 503, null, SipResponse.newTag());
        r.add(HeaderNames.RETRY_AFTER, Long.toString(retryAfter));
        r.add(HeaderNames.WARNING, "399 msm \"" + why + "\"");
        return r;
    }
}
