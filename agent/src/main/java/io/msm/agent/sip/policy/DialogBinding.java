package io.msm.agent.sip.policy;

import io.msm.agent.sip.call.Call;
import io.msm.agent.sip.call.Side;
import io.msm.agent.sip.message.SipRequest;
import io.msm.agent.sip.transport.Hop;
import java.net.InetAddress;

/**
 * Dialog binding: an in-dialog request belongs to a call msm holds only with the call's tags in the
 * right order, and only from the hop of the party it claims to come from.
 */
public final class DialogBinding {
    private DialogBinding() {}

    /**
     * Why a request does not fit its dialog: {@code wrongHop} when the tags are right but it comes
     * from elsewhere than that party's hop.
     */
    public record Mismatch(String why, boolean wrongHop) {
        /** The msm_refused_total reason. */
        public String reason() {
            return wrongHop ? "wrong_hop" : "no_dialog";
        }
    }

    /**
     * Null when the in-dialog request fits the call's dialog and comes from its party, else why.
     */
    public static Mismatch check(Call call, SipRequest req, InetAddress src) {
        String fromTag = req.from().tag();
        String toTag = req.to().tag();
        Side side;
        if (call.callerTag().equals(fromTag)) {
            if (call.calleeTag() != null && !call.calleeTag().equals(toTag)) {
                return new Mismatch("the To tag is not the callee's", false);
            }
            side = Side.CALLER;
        } else if (call.callerTag().equals(toTag)
                && call.calleeTag() != null
                && call.calleeTag().equals(fromTag)) {
            side = Side.CALLEE;
        } else {
            return new Mismatch("the tags are not this dialog's", false);
        }
        Hop hop = call.hop(side);
        if (hop != null && !hop.remote().getAddress().equals(src)) {
            return new Mismatch(
                    "from " + src.getHostAddress() + ", not the " + side.label() + "'s hop", true);
        }
        return null;
    }
}
