package io.msm.cli;

/**
 * What {@code msm} exits with. Scripts branch on these, so each failure a user can act on has its
 * own code; the list is printed in every --help.
 */
public enum ExitCode {
    OK(0, "success"),
    FAILURE(1, "any other failure (the message says what failed)"),
    USAGE(2, "bad command line"),
    NOT_PINNED(3, "no msm datapath pinned at --bpffs DIR (msm-agent never ran or removed it)"),
    PERMISSION(4, "not allowed to read the pins: needs root or CAP_BPF"),
    LAYOUT(5, "the pinned datapath has another layout version than this msm understands"),
    AGENT_DOWN(6, "msm status: the datapath is fine but msm-agent did not answer"),
    DETACHED(7, "msm status: a program msm recorded as attached is no longer attached");

    private final int code;
    private final String meaning;

    ExitCode(int code, String meaning) {
        this.code = code;
        this.meaning = meaning;
    }

    public int code() {
        return code;
    }

    public String meaning() {
        return meaning;
    }

    /** Lines for picocli's exitCodeList ("code:meaning"). */
    public static String[] helpList() {
        ExitCode[] all = values();
        String[] out = new String[all.length];
        for (int i = 0; i < all.length; i++) {
            out[i] = all[i].code + ":" + all[i].meaning;
        }
        return out;
    }
}
