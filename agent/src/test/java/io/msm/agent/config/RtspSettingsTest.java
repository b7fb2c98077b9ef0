package io.msm.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The rtsp: section: defaults, paths, and errors that name their field. */
class RtspSettingsTest {
    static RtspSettings parse(String yaml) {
        return ConfigLoader.parseYaml(yaml, ConfigLoader.Overrides.NONE).rtsp();
    }

    @Test
    void defaults() {
        RtspSettings s = parse("{}");
        assertTrue(s.publishByDefault());
        assertEquals(Duration.ofSeconds(60), s.sessionTimeout());
        assertEquals(256, s.maxPaths());
        assertEquals(Duration.ofSeconds(10), s.upstreamTimeout());
        assertEquals(Duration.ofSeconds(10), s.upstreamLinger());
        assertTrue(s.paths().isEmpty());
    }

    @Test
    void pathsPublishAndPull() {
        RtspSettings s =
                parse(
                        "rtsp:\n  max-paths: 3\n  upstream-timeout: 2s\n  paths:\n    cam: {source: publish}\n"
                                + "    lobby/door: {source: \"rtsp://10.0.0.9:554/live\"}\n");
        assertEquals(3, s.maxPaths());
        assertEquals(Duration.ofSeconds(2), s.upstreamTimeout());
        assertEquals(RtspSettings.PathSource.Kind.PUBLISH, s.paths().get("cam").kind());
        assertEquals(RtspSettings.PathSource.Kind.PULL, s.paths().get("lobby/door").kind());
        assertEquals("10.0.0.9", s.paths().get("lobby/door").upstream().getHost());
    }

    @Test
    void errorsNameTheirField() {
        assertField("rtsp.max-paths", "rtsp: {max-paths: 0}");
        assertField("rtsp.upstream-timeout", "rtsp: {upstream-timeout: 1ms}");
        assertField("rtsp.paths.cam.source", "rtsp: {paths: {cam: {source: \"http://x/y\"}}}");
        assertField("rtsp.paths.bad name", "rtsp: {paths: {\"bad name\": {source: publish}}}");
        assertField("rtsp.max-header-bytes", "rtsp: {max-header-bytes: 10}");
        assertField("rtsp.linger", "rtsp: {linger: 5s}");
    }

    static void assertField(String field, String yaml) {
        ConfigException e = assertThrows(ConfigException.class, () -> parse(yaml));
        assertTrue(e.getMessage().contains(field), "'" + e.getMessage() + "' names " + field);
    }
}
