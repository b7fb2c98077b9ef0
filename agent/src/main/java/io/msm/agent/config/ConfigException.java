package io.msm.agent.config;

/** A rejected configuration value: which field, and why. */
public class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String field;
    private final String reason;

    public ConfigException(String field, String reason) {
        super("config error: " + field + ": " + reason);
        this.field = field;
        this.reason = reason;
    }

    public String field() {
        return field;
    }

    public String reason() {
        return reason;
    }
}
