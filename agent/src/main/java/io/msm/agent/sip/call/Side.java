package io.msm.agent.sip.call;

/** The two parties of a call: who sent the initial INVITE, and who answered it. */
public enum Side {
    CALLER,
    CALLEE;

    public Side other() {
        return this == CALLER ? CALLEE : CALLER;
    }

    public String label() {
        return this == CALLER ? "caller" : "callee";
    }
}
