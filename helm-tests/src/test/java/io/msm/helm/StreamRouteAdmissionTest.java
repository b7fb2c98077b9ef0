package io.msm.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.google.re2j.Pattern;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.msm.helm.CrdSchema.Rule;
import io.msm.helm.CrdSchema.Violation;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * StreamRoutes through the CRD's schema as the API server would admit them: the shipped examples
 * pass, bad routes are rejected with the right field and message — CEL rules included, evaluated
 * with cel-java.
 */
class StreamRouteAdmissionTest {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static CrdSchema schema;

    @BeforeAll
    static void load() {
        schema = CrdSchema.of(MsmChart.render().crd(), "v1alpha1");
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> route(String yaml) {
        try {
            return YAML.readValue(yaml, Map.class);
        } catch (IOException e) {
            throw new AssertionError("test route is not YAML: " + e.getMessage(), e);
        }
    }

    static Stream<Path> examples() throws IOException {
        try (Stream<Path> s = Files.list(MsmChart.dir().resolve("examples"))) {
            List<Path> l = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
            assertFalse(l.isEmpty(), "no examples in helm/msm/examples");
            return l.stream();
        }
    }

    @ParameterizedTest
    @MethodSource("examples")
    void shippedExamplesAreAdmitted(Path example) throws IOException {
        Map<String, Object> r = route(Files.readString(example));
        assertEquals("msm.io/v1alpha1", r.get("apiVersion"));
        assertEquals("StreamRoute", r.get("kind"));
        assertEquals(List.of(), schema.validate(r), example.toString());
    }

    @Test
    @SuppressWarnings("unchecked")
    void defaultsAreAppliedLikeTheApiServerDoes() {
        Map<String, Object> r =
                route(
                        """
                apiVersion: msm.io/v1alpha1
                kind: StreamRoute
                metadata: {name: a}
                spec:
                  match: {path: {value: /a}}
                  backends: [{service: {name: origin, port: 554}}]
                """);
        assertEquals(List.of(), schema.validate(r));
        Map<String, Object> spec = (Map<String, Object>) r.get("spec");
        Map<String, Object> path =
                (Map<String, Object>) ((Map<String, Object>) spec.get("match")).get("path");
        assertEquals("PathPrefix", path.get("type"));
        assertEquals(
                1,
                ((Map<String, Object>) ((List<Object>) spec.get("backends")).get(0)).get("weight"));
    }

    /** A valid route with one line of spec swapped. */
    private static String routeWith(String match, String backends, String extra) {
        return """
                apiVersion: msm.io/v1alpha1
                kind: StreamRoute
                metadata: {name: bad}
                spec:
                  match: %s
                  backends: %s
                %s"""
                .formatted(match, backends, extra.isEmpty() ? "" : "  " + extra + "\n");
    }

    private static final String OK_MATCH = "{path: {type: Exact, value: /live}}";
    private static final String OK_BACKENDS = "[{service: {name: origin, port: 8554}}]";

    static Stream<Arguments> badRoutes() {
        return Stream.of(
                Arguments.of(
                        "service and url",
                        routeWith(
                                OK_MATCH,
                                "[{service: {name: origin, port: 8554}, url: 'rtsp://origin/live'}]",
                                ""),
                        "spec.backends[0]",
                        "a backend names exactly one of service or url"),
                Arguments.of(
                        "neither service nor url",
                        routeWith(OK_MATCH, "[{weight: 5}]", ""),
                        "spec.backends[0]",
                        "a backend names exactly one of service or url"),
                Arguments.of(
                        "url not rtsp",
                        routeWith(OK_MATCH, "[{url: 'http://origin/live'}]", ""),
                        "spec.backends[0].url",
                        "should match '^rtsp://"),
                Arguments.of(
                        "url with spaces",
                        routeWith(OK_MATCH, "[{url: 'rtsp://origin/live stream'}]", ""),
                        "spec.backends[0].url",
                        "should match"),
                Arguments.of(
                        "url with credentials",
                        routeWith(OK_MATCH, "[{url: 'rtsp://user:pw@origin/live'}]", ""),
                        "spec.backends[0].url",
                        "should match"),
                Arguments.of(
                        "path without slash",
                        routeWith("{path: {value: live}}", OK_BACKENDS, ""),
                        "spec.match.path.value",
                        "should match '^/"),
                Arguments.of(
                        "path type unknown",
                        routeWith("{path: {type: Regex, value: /live}}", OK_BACKENDS, ""),
                        "spec.match.path.type",
                        "Unsupported value: \"Regex\""),
                Arguments.of(
                        "no path",
                        routeWith("{host: cams.example.com}", OK_BACKENDS, ""),
                        "spec.match.path",
                        "Required value"),
                Arguments.of(
                        "bad host",
                        routeWith(
                                "{host: 'Cams_1.example.com', path: {value: /a}}", OK_BACKENDS, ""),
                        "spec.match.host",
                        "should match"),
                Arguments.of(
                        "no backends",
                        routeWith(OK_MATCH, "[]", ""),
                        "spec.backends",
                        "should have at least 1 items"),
                Arguments.of(
                        "weight above 1000",
                        routeWith(OK_MATCH, "[{service: {name: o, port: 1}, weight: 1001}]", ""),
                        "spec.backends[0].weight",
                        "less than or equal to 1000"),
                Arguments.of(
                        "negative weight",
                        routeWith(OK_MATCH, "[{service: {name: o, port: 1}, weight: -1}]", ""),
                        "spec.backends[0].weight",
                        "greater than or equal to 0"),
                Arguments.of(
                        "every weight 0",
                        routeWith(
                                OK_MATCH,
                                "[{service: {name: a, port: 1}, weight: 0}, {url: 'rtsp://b', weight: 0}]",
                                ""),
                        "spec.backends",
                        "at least one backend needs a weight above 0"),
                Arguments.of(
                        "weight not a number",
                        routeWith(OK_MATCH, "[{service: {name: o, port: 1}, weight: high}]", ""),
                        "spec.backends[0].weight",
                        "must be of type integer"),
                Arguments.of(
                        "port 0",
                        routeWith(OK_MATCH, "[{service: {name: o, port: 0}}]", ""),
                        "spec.backends[0].service.port",
                        "greater than or equal to 1"),
                Arguments.of(
                        "service without port",
                        routeWith(OK_MATCH, "[{service: {name: o}}]", ""),
                        "spec.backends[0].service.port",
                        "Required value"),
                Arguments.of(
                        "service name not DNS",
                        routeWith(OK_MATCH, "[{service: {name: Origin, port: 1}}]", ""),
                        "spec.backends[0].service.name",
                        "should match"),
                Arguments.of(
                        "zero timeout",
                        routeWith(
                                OK_MATCH,
                                OK_BACKENDS,
                                "failureDetection: {describeTimeoutSeconds: 0}"),
                        "spec.failureDetection.describeTimeoutSeconds",
                        "greater than or equal to 1"),
                Arguments.of(
                        "hot standby without a unit",
                        routeWith(OK_MATCH, OK_BACKENDS, "hotStandby: '300'"),
                        "spec.hotStandby",
                        "should match"),
                Arguments.of(
                        "misspelt field",
                        routeWith(OK_MATCH, OK_BACKENDS, "failureDetecton: {rtpTimeoutSeconds: 5}"),
                        "spec.failureDetecton",
                        "unknown field"),
                Arguments.of(
                        "too many backends",
                        routeWith(
                                OK_MATCH,
                                "["
                                        + String.join(
                                                ",", Collections.nCopies(17, "{url: 'rtsp://o'}"))
                                        + "]",
                                ""),
                        "spec.backends",
                        "Too many: 17"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badRoutes")
    void badRoutesAreRejected(String why, String yaml, String path, String message) {
        List<Violation> v = schema.validate(route(yaml));
        assertTrue(
                v.stream().anyMatch(x -> x.path().equals(path) && x.detail().contains(message)),
                why + ": expected " + path + ": ..." + message + "... but got " + v);
    }

    @Test
    void statusWrittenByTheAgentIsAdmitted() {
        Map<String, Object> r =
                route(
                        routeWith(OK_MATCH, OK_BACKENDS, "")
                                + """
                status:
                  conditions:
                    - {type: Ready, status: "False", reason: NoReadyBackend, message: "origin: DESCRIBE timed out",
                       lastTransitionTime: "2025-01-02T03:04:05Z", observedGeneration: 3}
                  backends:
                    - {name: "default/origin:8554", ready: false, reason: DescribeTimeout}
                """);
        assertEquals(List.of(), schema.validate(r));

        Map<String, Object> bad =
                route(
                        routeWith(OK_MATCH, OK_BACKENDS, "")
                                + """
                status:
                  conditions:
                    - {type: Ready, status: "Yes", reason: "no spaces allowed", message: m, lastTransitionTime: yesterday}
                    - {type: Ready, status: "True", reason: Ok, message: m, lastTransitionTime: "2025-01-02T03:04:05Z"}
                """);
        List<String> got = schema.validate(bad).stream().map(Violation::path).toList();
        assertTrue(
                got.containsAll(
                        List.of(
                                "status.conditions[0].status",
                                "status.conditions[0].reason",
                                "status.conditions[0].lastTransitionTime",
                                "status.conditions[1]")),
                got.toString());
    }

    @Test
    void celRulesArePresentWhereIntendedAndCompile() {
        List<Rule> rules = schema.rules();
        assertEquals(
                List.of(
                        new Rule(
                                "spec.backends",
                                "self.exists(b, !has(b.weight) || b.weight > 0)",
                                "at least one backend needs a weight above 0"),
                        new Rule(
                                "spec.backends[*]",
                                "has(self.service) != has(self.url)",
                                "a backend names exactly one of service or url")),
                rules);
        for (Rule r : rules) {
            schema.compile(r.rule()); // throws with CEL's message when not valid CEL
        }
        // and the compiler is not a pushover
        assertThrows(IllegalArgumentException.class, () -> schema.compile("has(self.service) !=="));
    }

    @Test
    void everySchemaPatternIsValidRe2() {
        // the API server compiles patterns with Go's regexp (RE2): no look-around, no
        // backreferences
        List<String> patterns = new ArrayList<>();
        collectPatterns(
                MsmChart.render()
                        .crd()
                        .getSpec()
                        .getVersions()
                        .get(0)
                        .getSchema()
                        .getOpenAPIV3Schema(),
                patterns);
        assertTrue(patterns.size() >= 6, patterns.toString());
        for (String p : patterns) {
            Pattern.compile(p);
        }
    }

    private static void collectPatterns(JSONSchemaProps s, List<String> out) {
        if (s == null) {
            return;
        }
        if (s.getPattern() != null) {
            out.add(s.getPattern());
        }
        if (s.getProperties() != null) {
            s.getProperties().values().forEach(p -> collectPatterns(p, out));
        }
        if (s.getItems() != null) {
            collectPatterns(s.getItems().getSchema(), out);
        }
    }
}
