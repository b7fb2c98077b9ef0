package io.msm.agent.sip.message;

/** One header field line: its name (full form, canonical case for known names) and its value. */
public record Header(String name, String value) {
    public boolean is(String other) {
        return name.equalsIgnoreCase(other);
    }
}
