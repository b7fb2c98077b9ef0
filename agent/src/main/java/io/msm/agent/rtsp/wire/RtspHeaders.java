package io.msm.agent.rtsp.wire;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The header fields of one RTSP message in arrival order, looked up without regard to case (RFC
 * 2326 section 4.2 follows HTTP/1.1 here).
 */
public final class RtspHeaders {
    /** One field as it appeared. */
    public record Field(String name, String value) {}

    private final List<Field> fields = new ArrayList<>();

    public RtspHeaders add(String name, String value) {
        fields.add(new Field(name, value));
        return this;
    }

    /** Replace every field of this name with one. */
    public RtspHeaders set(String name, String value) {
        fields.removeIf(f -> f.name.equalsIgnoreCase(name));
        fields.add(new Field(name, value));
        return this;
    }

    public Optional<String> get(String name) {
        for (Field f : fields) {
            if (f.name.equalsIgnoreCase(name)) {
                return Optional.of(f.value);
            }
        }
        return Optional.empty();
    }

    public String getOrNull(String name) {
        return get(name).orElse(null);
    }

    public List<Field> fields() {
        return List.copyOf(fields);
    }

    public int size() {
        return fields.size();
    }
}
