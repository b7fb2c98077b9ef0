package io.msm.testkit;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A parser for the Prometheus text exposition format (0.0.4): every sample line becomes (name,
 * labels, value); # HELP / # TYPE lines are checked to precede their samples. Malformed lines
 * throw, so a test that scrapes /metrics also proves the output is well-formed.
 */
public final class PromText {
    public record Sample(String name, Map<String, String> labels, double value) {}

    private final List<Sample> samples;
    private final Map<String, String> types;

    private PromText(List<Sample> samples, Map<String, String> types) {
        this.samples = samples;
        this.types = types;
    }

    public static PromText parse(String text) {
        List<Sample> out = new ArrayList<>();
        Map<String, String> types = new LinkedHashMap<>();
        int lineNo = 0;
        for (String line : text.split("\n")) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            if (line.startsWith("# TYPE ")) {
                String[] f = line.split(" ");
                if (f.length != 4) {
                    throw new IllegalArgumentException(
                            "line " + lineNo + ": bad TYPE line: " + line);
                }
                types.put(f[2], f[3]);
                continue;
            }
            if (line.startsWith("#")) {
                continue;
            }
            int brace = line.indexOf('{');
            int space;
            String name;
            Map<String, String> labels = new LinkedHashMap<>();
            if (brace >= 0 && brace < line.indexOf(' ')) {
                name = line.substring(0, brace);
                int end = parseLabels(line, brace + 1, labels, lineNo);
                space = end + 1;
            } else {
                space = line.indexOf(' ');
                if (space < 0) {
                    throw new IllegalArgumentException("line " + lineNo + ": no value: " + line);
                }
                name = line.substring(0, space);
            }
            if (!name.matches("[a-zA-Z_:][a-zA-Z0-9_:]*")) {
                throw new IllegalArgumentException(
                        "line " + lineNo + ": bad metric name '" + name + "'");
            }
            String[] rest = line.substring(space).trim().split(" ");
            double v =
                    switch (rest[0]) {
                        case "+Inf" -> Double.POSITIVE_INFINITY;
                        case "-Inf" -> Double.NEGATIVE_INFINITY;
                        case "NaN" -> Double.NaN;
                        default -> Double.parseDouble(rest[0]);
                    };
            String family = family(name, types);
            if (family == null) {
                throw new IllegalArgumentException(
                        "line " + lineNo + ": sample " + name + " before its # TYPE");
            }
            out.add(new Sample(name, labels, v));
        }
        return new PromText(out, types);
    }

    private static String family(String name, Map<String, String> types) {
        if (types.containsKey(name)) {
            return name;
        }
        for (String suffix :
                new String[] {"_total", "_count", "_sum", "_bucket", "_max", "_created"}) {
            if (name.endsWith(suffix)
                    && types.containsKey(name.substring(0, name.length() - suffix.length()))) {
                return name.substring(0, name.length() - suffix.length());
            }
        }
        return types.containsKey(name + "_total") ? name : null;
    }

    private static int parseLabels(String line, int i, Map<String, String> labels, int lineNo) {
        while (true) {
            if (line.charAt(i) == '}') {
                return i;
            }
            int eq = line.indexOf('=', i);
            String key = line.substring(i, eq);
            if (line.charAt(eq + 1) != '"') {
                throw new IllegalArgumentException("line " + lineNo + ": label value not quoted");
            }
            StringBuilder v = new StringBuilder();
            int j = eq + 2;
            while (line.charAt(j) != '"') {
                if (line.charAt(j) == '\\') {
                    j++;
                    char c = line.charAt(j);
                    v.append(c == 'n' ? '\n' : c);
                } else {
                    v.append(line.charAt(j));
                }
                j++;
            }
            labels.put(key, v.toString());
            i = j + 1;
            if (line.charAt(i) == ',') {
                i++;
            }
        }
    }

    public List<Sample> samples() {
        return samples;
    }

    public Map<String, String> types() {
        return types;
    }

    /** The value of the sample with this name whose labels include the given pairs. */
    public Optional<Double> value(String name, String... labelPairs) {
        for (Sample s : samples) {
            if (!s.name.equals(name)) {
                continue;
            }
            boolean ok = true;
            for (int k = 0; k < labelPairs.length; k += 2) {
                ok &= labelPairs[k + 1].equals(s.labels.get(labelPairs[k]));
            }
            if (ok) {
                return Optional.of(s.value);
            }
        }
        return Optional.empty();
    }
}
