package io.msm.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class NgSettingsTest {
    static ConfigLoader.Overrides ngListen(String l) {
        return new ConfigLoader.Overrides(null, null, null, null, null, null, null, l);
    }

    @Test
    void offByDefaultAndLoopbackOnly() throws Exception {
        assertFalse(ConfigLoader.parseYaml("{}", ConfigLoader.Overrides.NONE).ng().enabled());
        AgentConfig c = ConfigLoader.parseYaml("{}", ngListen("127.0.0.1:2223"));
        assertTrue(c.ng().enabled());
        assertTrue(c.ng().sources().contains(InetAddress.getByName("127.0.0.1")));
        assertFalse(c.ng().sources().contains(InetAddress.getByName("10.0.0.1")));
        ConfigException e =
                assertThrows(
                        ConfigException.class,
                        () ->
                                ConfigLoader.parseYaml(
                                        "ng: {listen: 0.0.0.0:2223}", ConfigLoader.Overrides.NONE));
        assertTrue(e.getMessage().contains("ng.listen"), e.getMessage());
        AgentConfig open =
                ConfigLoader.parseYaml(
                        "ng: {listen: 10.0.0.5:2223, allow-non-loopback: true, sources: [10.0.0.0/24],"
                                + " interfaces: {pub: 203.0.113.5, priv: 10.0.0.5},"
                                + " reply-cache: {size: 10, ttl: 5s}}",
                        ConfigLoader.Overrides.NONE);
        assertEquals(2223, open.ng().listen().port());
        assertEquals(
                List.of("priv", "pub"), open.ng().interfaces().keySet().stream().sorted().toList());
        assertEquals(10, open.ng().replyCacheSize());
        assertThrows(
                ConfigException.class,
                () ->
                        ConfigLoader.parseYaml(
                                "ng: {listen: 127.0.0.1:2223, nope: 1}",
                                ConfigLoader.Overrides.NONE));
    }
}
