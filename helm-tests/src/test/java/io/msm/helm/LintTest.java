package io.msm.helm;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.marcnuri.helm.LintResult;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** helm lint --strict, and what values.schema.json and the templates refuse. */
class LintTest {
    @Test
    void lintsCleanWithDefaultValues() {
        LintResult r = MsmChart.lint(null);
        assertFalse(r.isFailed(), String.join("\n", r.getMessages()));
    }

    @Test
    void lintsCleanWithNonDefaultValues() {
        LintResult r = MsmChart.lint(MsmChart.resource("values-custom.yaml"));
        assertFalse(r.isFailed(), String.join("\n", r.getMessages()));
    }

    @Test
    void lintCatchesBadValues() {
        // proves the lint above would notice: the same path with a value the schema forbids
        LintResult r = MsmChart.lint(MsmChart.resource("values-bad.yaml"));
        assertTrue(r.isFailed(), "lint passed values-bad.yaml: " + r.getMessages());
        assertTrue(
                String.join("\n", r.getMessages()).contains("logLevel"),
                String.join("\n", r.getMessages()));
    }

    static Stream<Arguments> badValues() {
        return Stream.of(
                Arguments.of("agent: {logLevel: loud}\n", "logLevel"),
                Arguments.of("agnet: {logLevel: info}\n", "agnet"),
                Arguments.of("agent: {metrics: {port: 70000}}\n", "port"),
                Arguments.of("agent: {mediaPorts: {from: 80, to: 90}}\n", "from"),
                Arguments.of("agent: {xdp: {mode: turbo}}\n", "mode"),
                Arguments.of("agent: {flows: {idleTimeout: soon}}\n", "idleTimeout"),
                Arguments.of("agent: {metrics: {address: node1.example.com}}\n", "address"),
                Arguments.of("agent: {controlPorts: {tcp: [0]}}\n", "tcp"),
                Arguments.of("agent: {gamePorts: ['27015..27030']}\n", "gamePorts"),
                Arguments.of("agent: {pinDir: /var/run/msm}\n", "pinDir"),
                Arguments.of("agent: {interfaces: ['eth0 eth1']}\n", "interfaces"),
                Arguments.of("securityContext: {capabilities: {add: [CAP_BPF]}}\n", "add"),
                Arguments.of("securityContext: {seccompProfile: Localhost}\n", "seccompProfile"),
                Arguments.of("image: {pullPolicy: Sometimes}\n", "pullPolicy"),
                Arguments.of("serviceMonitor: {interval: soon}\n", "interval"),
                Arguments.of(
                        "updateStrategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1, maxSurge: 1}}\n",
                        "maxSurge"),
                Arguments.of("upgrade: {handover: false}\n", "maxSurge: 1 needs upgrade.handover"),
                Arguments.of("updateStrategy: {rollingUpdate: {maxSurge: 2}}\n", "maxSurge"),
                // cross-field checks done in the templates
                Arguments.of(
                        "agent: {mediaPorts: {from: 30000, to: 20000}}\n",
                        "from (30000) is above to (20000)"),
                Arguments.of("agent: {mediaPorts: {from: 30000, to: 30001}}\n", "at least 4 ports"),
                Arguments.of("agent: {gamePorts: ['30000-20000']}\n", "runs backwards"),
                Arguments.of("agent: {gamePorts: ['70000']}\n", "above 65535"),
                Arguments.of(
                        "securityContext: {privileged: true, seccompProfile: RuntimeDefault}\n",
                        "no effect"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("badValues")
    void refusesBadValuesWithAMessageNamingThem(String values, String mentioned) {
        IllegalStateException e =
                assertThrows(
                        IllegalStateException.class,
                        () -> MsmChart.template(values),
                        "helm accepted " + values);
        assertTrue(
                e.getMessage().contains(mentioned),
                "message should mention " + mentioned + ": " + e.getMessage());
    }
}
