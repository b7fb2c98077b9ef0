package io.msm.helm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.re2j.Pattern;
import dev.cel.bundle.Cel;
import dev.cel.bundle.CelFactory;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelValidationException;
import dev.cel.common.types.SimpleType;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelRuntime;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.api.model.apiextensions.v1.ValidationRule;
import java.math.BigInteger;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A CRD version's openAPIV3Schema applied to a custom resource the way the API server does on
 * create: defaults first, then the structural checks (type, required, unknown fields, enum,
 * pattern, lengths, ranges, item counts, list-map keys, date-time), then the
 * x-kubernetes-validations CEL rules with self bound to the value at the rule's place. Patterns run
 * on RE2 (re2j), the dialect of the API server's Go regexp; CEL runs on cel-java with the standard
 * library, which covers what our rules use (has, exists, comparisons) — not the Kubernetes
 * extension libraries (quantity, url, ...).
 *
 * <p>Not covered: metadata (the API server validates it itself), oldSelf transition rules, CEL cost
 * limits, int-or-string and embedded resources.
 */
final class CrdSchema {
    /** One rejection: the field path (as kubectl shows it) and what is wrong. */
    record Violation(String path, String detail) {
        @Override
        public String toString() {
            return path + ": " + detail;
        }
    }

    /** A CEL rule of the schema and the place (schema path) it is attached to. */
    record Rule(String path, String rule, String message) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    private final JSONSchemaProps root;
    private final Cel cel =
            CelFactory.standardCelBuilder()
                    .setStandardMacros(
                            CelStandardMacro
                                    .STANDARD_MACROS) // has, all, exists, exists_one, map, filter
                    .addVar("self", SimpleType.DYN)
                    .setResultType(SimpleType.BOOL)
                    .build();
    private final Map<String, CelRuntime.Program> programs = new HashMap<>();

    private CrdSchema(JSONSchemaProps root) {
        this.root = root;
    }

    static CrdSchema of(CustomResourceDefinition crd, String version) {
        CustomResourceDefinitionVersion v =
                crd.getSpec().getVersions().stream()
                        .filter(x -> x.getName().equals(version))
                        .findFirst()
                        .orElseThrow(
                                () ->
                                        new IllegalArgumentException(
                                                crd.getMetadata().getName()
                                                        + " has no version "
                                                        + version));
        return new CrdSchema(v.getSchema().getOpenAPIV3Schema());
    }

    /** Every CEL rule in the schema, in document order. */
    List<Rule> rules() {
        List<Rule> out = new ArrayList<>();
        collectRules(root, "", out);
        return out;
    }

    private static void collectRules(JSONSchemaProps s, String path, List<Rule> out) {
        if (s == null) {
            return;
        }
        for (ValidationRule r : nonNull(s.getXKubernetesValidations())) {
            out.add(new Rule(path.isEmpty() ? "<root>" : path, r.getRule(), r.getMessage()));
        }
        if (s.getProperties() != null) {
            s.getProperties()
                    .forEach((k, p) -> collectRules(p, path.isEmpty() ? k : path + "." + k, out));
        }
        if (s.getItems() != null) {
            collectRules(s.getItems().getSchema(), path + "[*]", out);
        }
    }

    /**
     * Compiles (parses and type-checks) a rule the way the schema would run it. Throws with CEL's
     * error text when the rule is not valid CEL.
     */
    CelAbstractSyntaxTree compile(String rule) {
        try {
            return cel.compile(rule).getAst();
        } catch (CelValidationException e) {
            throw new IllegalArgumentException(
                    "CEL rule does not compile: " + rule + "\n" + e.getMessage(), e);
        }
    }

    /**
     * What the API server would reject in this object (parsed from YAML/JSON). The object is
     * defaulted in place, as the API server stores it.
     */
    List<Violation> validate(Map<String, Object> object) {
        List<Violation> out = new ArrayList<>();
        Map<String, Object> body = new LinkedHashMap<>(object);
        body.remove("metadata"); // validated by the API server itself, not by the CRD schema
        validate(root, body, "", out);
        object.putAll(body);
        return out;
    }

    @SuppressWarnings("unchecked")
    private void validate(JSONSchemaProps s, Object value, String path, List<Violation> out) {
        int before = out.size();
        String at = path.isEmpty() ? "<root>" : path;
        if (value == null) {
            if (!Boolean.TRUE.equals(s.getNullable())) {
                out.add(new Violation(at, "Invalid value: \"null\": must not be null"));
            }
            return;
        }
        String type = s.getType();
        if (type != null && !hasType(value, type)) {
            out.add(
                    new Violation(
                            at,
                            "Invalid value: \""
                                    + jsonType(value)
                                    + "\": "
                                    + at
                                    + " in body must be of type "
                                    + type));
            return;
        }
        if (s.getEnum() != null && !s.getEnum().isEmpty()) {
            JsonNode v = JSON.valueToTree(value);
            if (s.getEnum().stream().noneMatch(e -> sameJson(e, v))) {
                out.add(
                        new Violation(
                                at,
                                "Unsupported value: " + v + ": supported values: " + s.getEnum()));
            }
        }
        if (value instanceof Map<?, ?> m) {
            validateObject(s, (Map<String, Object>) m, path, out);
        } else if (value instanceof List<?> l) {
            validateArray(s, (List<Object>) l, path, out);
        } else if (value instanceof String str) {
            validateString(s, str, at, out);
        } else if (value instanceof Number n) {
            validateNumber(s, n, at, out);
        }
        // CEL runs on values that passed the structural checks, as the rule
        // authors may rely on the declared types
        if (out.size() == before) {
            for (ValidationRule r : nonNull(s.getXKubernetesValidations())) {
                evaluate(r, value, at, out);
            }
        }
    }

    private void validateObject(
            JSONSchemaProps s, Map<String, Object> m, String path, List<Violation> out) {
        Map<String, JSONSchemaProps> props =
                s.getProperties() == null ? Map.of() : s.getProperties();
        props.forEach(
                (k, p) -> {
                    if (!m.containsKey(k) && p.getDefault() != null) {
                        m.put(k, JSON.convertValue(p.getDefault(), Object.class));
                    }
                });
        for (String req : nonNull(s.getRequired())) {
            if (!m.containsKey(req)) {
                out.add(new Violation(join(path, req), "Required value"));
            }
        }
        JSONSchemaProps additional =
                s.getAdditionalProperties() == null
                        ? null
                        : s.getAdditionalProperties().getSchema();
        boolean freeForm = props.isEmpty() && additional == null;
        for (Map.Entry<String, Object> e : m.entrySet()) {
            String p = join(path, e.getKey());
            JSONSchemaProps child = props.get(e.getKey());
            if (child != null) {
                validate(child, e.getValue(), p, out);
            } else if (additional != null) {
                validate(additional, e.getValue(), p, out);
            } else if (!freeForm && !Boolean.TRUE.equals(s.getXKubernetesPreserveUnknownFields())) {
                // kubectl's default (strict field validation) turns a pruned field into an error
                out.add(new Violation(p, "unknown field \"" + p + "\""));
            }
        }
    }

    private void validateArray(
            JSONSchemaProps s, List<Object> l, String path, List<Violation> out) {
        String at = path.isEmpty() ? "<root>" : path;
        if (s.getMinItems() != null && l.size() < s.getMinItems()) {
            out.add(
                    new Violation(
                            at,
                            "Invalid value: "
                                    + l.size()
                                    + ": "
                                    + at
                                    + " in body should have at least "
                                    + s.getMinItems()
                                    + " items"));
        }
        if (s.getMaxItems() != null && l.size() > s.getMaxItems()) {
            out.add(
                    new Violation(
                            at,
                            "Too many: "
                                    + l.size()
                                    + ": must have at most "
                                    + s.getMaxItems()
                                    + " items"));
        }
        JSONSchemaProps items = s.getItems() == null ? null : s.getItems().getSchema();
        Set<List<Object>> keys = new HashSet<>();
        for (int i = 0; i < l.size(); i++) {
            Object item = l.get(i);
            if (items != null) {
                validate(items, item, path + "[" + i + "]", out);
            }
            if ("map".equals(s.getXKubernetesListType()) && item instanceof Map<?, ?> im) {
                List<Object> key = new ArrayList<>();
                for (String k : nonNull(s.getXKubernetesListMapKeys())) {
                    key.add(im.get(k));
                }
                if (!keys.add(key)) {
                    out.add(new Violation(path + "[" + i + "]", "Duplicate value: " + key));
                }
            }
        }
    }

    private static void validateString(
            JSONSchemaProps s, String str, String at, List<Violation> out) {
        int len = str.codePointCount(0, str.length());
        if (s.getMinLength() != null && len < s.getMinLength()) {
            out.add(
                    new Violation(
                            at,
                            "Invalid value: \""
                                    + str
                                    + "\": "
                                    + at
                                    + " in body should be at least "
                                    + s.getMinLength()
                                    + " chars long"));
        }
        if (s.getMaxLength() != null && len > s.getMaxLength()) {
            out.add(
                    new Violation(
                            at, "Too long: may not be more than " + s.getMaxLength() + " bytes"));
        }
        if (s.getPattern() != null && !Pattern.compile(s.getPattern()).matcher(str).find()) {
            out.add(
                    new Violation(
                            at,
                            "Invalid value: \""
                                    + str
                                    + "\": "
                                    + at
                                    + " in body should match '"
                                    + s.getPattern()
                                    + "'"));
        }
        if ("date-time".equals(s.getFormat())) {
            try {
                OffsetDateTime.parse(str);
            } catch (DateTimeParseException e) {
                out.add(
                        new Violation(
                                at,
                                "Invalid value: \""
                                        + str
                                        + "\": "
                                        + at
                                        + " in body must be of type date-time"));
            }
        }
    }

    private static void validateNumber(
            JSONSchemaProps s, Number n, String at, List<Violation> out) {
        double d = n.doubleValue();
        if (s.getMinimum() != null) {
            boolean exclusive = Boolean.TRUE.equals(s.getExclusiveMinimum());
            if (exclusive ? d <= s.getMinimum() : d < s.getMinimum()) {
                out.add(
                        new Violation(
                                at,
                                "Invalid value: "
                                        + n
                                        + ": "
                                        + at
                                        + " in body should be greater than "
                                        + (exclusive ? "" : "or equal to ")
                                        + fmt(s.getMinimum())));
            }
        }
        if (s.getMaximum() != null) {
            boolean exclusive = Boolean.TRUE.equals(s.getExclusiveMaximum());
            if (exclusive ? d >= s.getMaximum() : d > s.getMaximum()) {
                out.add(
                        new Violation(
                                at,
                                "Invalid value: "
                                        + n
                                        + ": "
                                        + at
                                        + " in body should be less than "
                                        + (exclusive ? "" : "or equal to ")
                                        + fmt(s.getMaximum())));
            }
        }
    }

    private void evaluate(ValidationRule r, Object value, String at, List<Violation> out) {
        CelRuntime.Program program =
                programs.computeIfAbsent(
                        r.getRule(),
                        rule -> {
                            try {
                                return cel.createProgram(compile(rule));
                            } catch (CelEvaluationException e) {
                                throw new IllegalArgumentException(
                                        "cannot plan CEL rule " + rule + ": " + e.getMessage(), e);
                            }
                        });
        Object result;
        try {
            result = program.eval(Map.of("self", celValue(value)));
        } catch (CelEvaluationException e) {
            out.add(
                    new Violation(
                            at,
                            "Invalid value: rule "
                                    + r.getRule()
                                    + " failed to evaluate: "
                                    + e.getMessage()));
            return;
        }
        if (!Boolean.TRUE.equals(result)) {
            String msg = r.getMessage() != null ? r.getMessage() : "failed rule: " + r.getRule();
            out.add(new Violation(at, "Invalid value: \"" + jsonType(value) + "\": " + msg));
        }
    }

    /** CEL's view of a JSON value: integers are int (Long), maps and lists as they are. */
    private static Object celValue(Object v) {
        if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        if (v instanceof BigInteger b) {
            return b.longValueExact();
        }
        if (v instanceof Float f) {
            return f.doubleValue();
        }
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, x) -> out.put(String.valueOf(k), celValue(x)));
            return out;
        }
        if (v instanceof List<?> l) {
            return l.stream().map(CrdSchema::celValue).toList();
        }
        return v;
    }

    private static boolean hasType(Object v, String type) {
        return switch (type) {
            case "object" -> v instanceof Map;
            case "array" -> v instanceof List;
            case "string" -> v instanceof String;
            case "boolean" -> v instanceof Boolean;
            case "integer" ->
                    v instanceof Integer
                            || v instanceof Long
                            || v instanceof BigInteger
                            || v instanceof Short
                            || v instanceof Byte;
            case "number" -> v instanceof Number;
            default ->
                    throw new IllegalArgumentException(
                            "schema type " + type + " is not a structural schema type");
        };
    }

    private static String jsonType(Object v) {
        if (v instanceof Map) {
            return "object";
        }
        if (v instanceof List) {
            return "array";
        }
        if (v instanceof String) {
            return "string";
        }
        if (v instanceof Boolean) {
            return "boolean";
        }
        if (v instanceof Number n) {
            return n instanceof Double || n instanceof Float ? "number" : "integer";
        }
        return String.valueOf(v);
    }

    private static boolean sameJson(JsonNode a, JsonNode b) {
        if (a.isNumber() && b.isNumber()) {
            return a.decimalValue().compareTo(b.decimalValue()) == 0;
        }
        return a.equals(b);
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    private static String join(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private static <T> List<T> nonNull(List<T> l) {
        return l == null ? List.of() : l;
    }
}
