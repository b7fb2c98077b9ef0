package io.msm.agent.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import io.msm.agent.auth.Cidr;
import io.msm.agent.auth.CidrSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;

/**
 * A section of the YAML config with its dotted path, read field by field: every error names the
 * field ("classifier.game-udp-ports[2]") and the reason, and {@link #done()} rejects keys nobody
 * read (typos).
 */
public final class ConfigNode {
    private final String path;
    private final JsonNode node;
    private final Set<String> read = new LinkedHashSet<>();

    public ConfigNode(String path, JsonNode node) {
        this.path = path;
        this.node = node == null ? MissingNode.getInstance() : node;
        if (!this.node.isMissingNode() && !this.node.isNull() && !this.node.isObject()) {
            throw new ConfigException(
                    path.isEmpty() ? "(top level)" : path, "must be a mapping of keys to values");
        }
    }

    public String field(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    public boolean has(String key) {
        JsonNode v = node.get(key);
        return v != null && !v.isNull();
    }

    /** Whether the key holds a mapping (rather than a single value or a list). */
    public boolean isMapping(String key) {
        JsonNode v = node.get(key);
        return v != null && v.isObject();
    }

    private JsonNode get(String key) {
        read.add(key);
        JsonNode v = node.get(key);
        return v == null || v.isNull() ? null : v;
    }

    public String string(String key, String dflt) {
        JsonNode v = get(key);
        if (v == null) {
            return dflt;
        }
        if (!v.isValueNode()) {
            throw new ConfigException(field(key), "must be a single value");
        }
        return v.asText();
    }

    public boolean bool(String key, boolean dflt) {
        JsonNode v = get(key);
        if (v == null) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw new ConfigException(
                    field(key), "must be true or false (got '" + v.asText() + "')");
        }
        return v.asBoolean();
    }

    public int integer(String key, int dflt, int min, int max) {
        JsonNode v = get(key);
        if (v == null) {
            return dflt;
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new ConfigException(
                    field(key), "must be a whole number (got '" + v.asText() + "')");
        }
        int i = v.asInt();
        if (i < min || i > max) {
            throw new ConfigException(
                    field(key), "must be " + min + ".." + max + " (got " + i + ")");
        }
        return i;
    }

    public Duration duration(String key, Duration dflt, Duration min) {
        JsonNode v = get(key);
        if (v == null) {
            return dflt;
        }
        Duration d = Durations.parse(field(key), v.asText());
        if (d.compareTo(min) < 0) {
            throw new ConfigException(
                    field(key),
                    "must be at least " + Durations.format(min) + " (got " + v.asText() + ")");
        }
        return d;
    }

    public <E extends Enum<E>> E enumeration(String key, E dflt, Class<E> type) {
        String s = string(key, null);
        if (s == null) {
            return dflt;
        }
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(s.replace('-', '_'))) {
                return e;
            }
        }
        List<String> names = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            names.add(e.name().toLowerCase(Locale.ROOT).replace('_', '-'));
        }
        throw new ConfigException(
                field(key), "must be one of " + String.join(", ", names) + " (got '" + s + "')");
    }

    /** A list of values, each converted (conversion errors name the element). */
    public <T> List<T> list(String key, List<T> dflt, Function<Element, T> convert) {
        JsonNode v = get(key);
        if (v == null) {
            return dflt;
        }
        if (!v.isArray()) {
            throw new ConfigException(field(key), "must be a list");
        }
        List<T> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            out.add(convert.apply(new Element(field(key) + "[" + i + "]", v.get(i))));
        }
        return out;
    }

    /**
     * A list of address prefixes ("10.0.0.0/8", "fd00::/8", bare addresses); errors name the
     * element.
     */
    public CidrSet cidrs(String key, List<String> dflt) {
        List<Cidr> list =
                list(
                        key,
                        null,
                        e -> {
                            try {
                                return Cidr.parse(e.text());
                            } catch (IllegalArgumentException ex) {
                                throw new ConfigException(e.field(), ex.getMessage());
                            }
                        });
        if (list == null) {
            return CidrSet.parse(dflt);
        }
        return new CidrSet(list);
    }

    public ConfigNode section(String key) {
        return new ConfigNode(field(key), get(key));
    }

    /** The keys of a mapping section (e.g. rtsp.paths). */
    public List<String> keys() {
        List<String> k = new ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            k.add(it.next());
        }
        return k;
    }

    /** Fail on keys that were never read. */
    public void done() {
        for (String k : keys()) {
            if (!read.contains(k)) {
                throw new ConfigException(
                        field(k),
                        "unknown setting"
                                + (read.isEmpty()
                                        ? ""
                                        : " (known here: " + String.join(", ", read) + ")"));
            }
        }
    }

    /** One list element with its path. */
    public record Element(String field, JsonNode value) {
        public String text() {
            if (!value.isValueNode()) {
                throw new ConfigException(field, "must be a single value");
            }
            return value.asText();
        }

        public int port() {
            if (!value.isIntegralNumber() || value.asInt() < 1 || value.asInt() > 65535) {
                throw new ConfigException(
                        field, "must be a port number 1..65535 (got '" + value.asText() + "')");
            }
            return value.asInt();
        }

        public ConfigNode node() {
            return new ConfigNode(field, value);
        }
    }
}
