package io.msm.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.config.AgentConfig;
import io.msm.agent.config.ConfigException;
import io.msm.agent.config.ConfigLoader;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The chart and the agent cannot drift apart: every agent.yaml the chart renders is read by the
 * agent's own {@link ConfigLoader}, which rejects unknown keys and bad values naming the field.
 */
class RenderedConfigLoadsTest {
    static AgentConfig load(String values) {
        String yaml = MsmChart.render(values).configMap().getData().get("agent.yaml");
        try {
            return ConfigLoader.parseYaml(yaml, ConfigLoader.Overrides.NONE);
        } catch (ConfigException e) {
            throw new AssertionError(
                    "the agent refuses the chart's config: " + e.getMessage() + "\n" + yaml, e);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "defaults                     | ''",
                "secrets for http, rtsp, sip  | agent: {http: {tokenSecret: {name: t}, privateFrom: [10.0.0.0/8]},"
                        + " rtsp: {usersSecret: {name: r}}, sip: {usersSecret: {name: s}}}",
                "listeners on the node's IP   | agent: {rtsp: {address: node}, sip: {address: node-ipv6},"
                        + " metrics: {address: node}}",
                "userspace, no xdp            | agent: {userspace: true, xdp: {enabled: false}}",
                "interception off             | agent: {kubernetes: {intercept: {enabled: false}}}",
                "extra config: publish rule   | agent: {extraConfig: {rtsp: {defaults: {publish: {from:"
                        + " [10.0.0.0/8]}}}}}",
                "gateway api, static game     | agent: {kubernetes: {gatewayApi: true}, extraConfig: {game:"
                        + " {services: [{name: arena, port: 7777, backends: [{address: 10.0.1.2, port:"
                        + " 9000}]}]}}}",
            })
    void theAgentReadsWhatTheChartRenders(String what, String values) {
        AgentConfig c = load(values);
        assertTrue(c.bpffs().isAbsolute(), what);
        assertEquals(what.startsWith("gateway api"), c.kubernetes().gatewayApi(), what);
        assertEquals(what.startsWith("gateway api"), c.game().any(), what);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "http token  | agent: {http: {tokenSecret: {name: t}}}   | /etc/msm-secrets/http/token",
            })
    void secretFilesAreWhereTheAgentLooks(String what, String values, String path) {
        AgentConfig c = load(values);
        assertEquals(Path.of(path), c.http().tokenFile(), what);
    }
}
