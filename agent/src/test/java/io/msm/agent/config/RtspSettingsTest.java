package io.msm.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
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

    @Test
    void publishingNeedsAPermissionByDefaultAndReadingDoesNot() {
        RtspSettings s = parse("{}");
        assertEquals(RtspSettings.Permission.NONE, s.auth().defaults().publish());
        assertEquals(RtspSettings.Permission.ANY, s.auth().defaults().read());
        assertEquals(RtspSettings.BasicAuth.TLS, s.auth().basic());
        assertEquals(null, s.tls(), "RTSPS is off unless configured");
        assertEquals(RtspSettings.Limits.DEFAULTS, s.limits());
    }

    @Test
    void permissionsUsersLimitsAndTls() {
        RtspSettings s =
                parse(
                        """
                        rtsp:
                          users-file: /etc/msm/rtsp-users
                          basic-auth: always
                          defaults: {publish: {from: [10.0.1.0/24]}, read: {users: ["*"]}}
                          routed: {read: none}
                          upstream-credentials-file: /etc/msm/upstreams
                          max-connections: 10
                          max-connections-per-source: 2
                          request-timeout: 3s
                          idle-timeout: 4s
                          max-sessions-per-connection: 1
                          max-sessions-per-source: 5
                          announce-timeout: 2s
                          max-paths-per-source: 1
                          tls: {listen: "127.0.0.1:8322", cert: /c.pem, key: /k.pem}
                          paths:
                            cam: {source: publish, publish: {users: [cam1]}}
                            open: {source: publish, read: any}
                        """);
        RtspSettings.Auth a = s.auth();
        assertEquals("/etc/msm/rtsp-users", a.usersFile().toString());
        assertEquals(RtspSettings.BasicAuth.ALWAYS, a.basic());
        assertTrue(a.defaults().publish().from().contains(address("10.0.1.7")));
        assertTrue(!a.defaults().publish().from().contains(address("10.0.2.7")));
        assertTrue(!a.defaults().publish().needsLogin());
        assertTrue(a.defaults().read().needsLogin() && a.defaults().read().admits("anyone"));
        assertEquals(RtspSettings.Permission.NONE, a.routedRead());
        assertEquals(List.of("cam1"), a.rules("cam").publish().users());
        assertTrue(a.rules("cam").publish().from().contains(address("192.0.2.1")), "anywhere");
        assertEquals(a.defaults().read(), a.rules("cam").read(), "the defaults fill the rest");
        assertEquals(RtspSettings.Permission.ANY, a.rules("open").read());
        assertEquals(a.defaults(), a.rules("elsewhere"));
        assertEquals("/etc/msm/upstreams", a.upstreamCredentialsFile().toString());
        assertEquals(
                new RtspSettings.Limits(
                        10,
                        2,
                        Duration.ofSeconds(3),
                        Duration.ofSeconds(4),
                        1,
                        5,
                        Duration.ofSeconds(2),
                        1),
                s.limits());
        assertEquals(8322, s.tls().listen().port());
        assertEquals("/c.pem", s.tls().cert().toString());
    }

    @Test
    void aPasswordInAConfiguredUrlIsRefused() {
        ConfigException e =
                assertThrows(
                        ConfigException.class,
                        () ->
                                parse(
                                        "rtsp: {paths: {door: {source: \"rtsp://admin:secret@10.0.0.9/live\"}}}"));
        assertTrue(e.getMessage().contains("upstream-credentials-file"), e.getMessage());
        assertTrue(!e.getMessage().contains("secret"), "the error does not repeat the password");
        // a user name alone is fine: its password comes from the credentials file
        parse("rtsp: {paths: {door: {source: \"rtsp://admin@10.0.0.9/live\"}}}");
    }

    @Test
    void newErrorsNameTheirField() {
        assertField("rtsp.defaults.publish", "rtsp: {defaults: {publish: sometimes}}");
        assertField("rtsp.defaults.read.users", "rtsp: {defaults: {read: {users: []}}}");
        assertField("rtsp.defaults.read.from[0]", "rtsp: {defaults: {read: {from: [nonsense]}}}");
        assertField(
                "rtsp.max-connections-per-source",
                "rtsp: {max-connections: 2, max-connections-per-source: 3}");
        assertField("rtsp.tls.key", "rtsp: {tls: {cert: /c.pem}}");
        assertField("rtsp.basic-auth", "rtsp: {basic-auth: maybe}");
        assertField(
                "rtsp.paths.door.publish",
                "rtsp: {paths: {door: {source: \"rtsp://h/x\", publish: any}}}");
    }

    @Test
    void publisherGraceAndHotStandbyAreBounded() {
        RtspSettings d = parse("rtsp: {}");
        assertEquals(RtspSettings.Grace.DEFAULT, d.grace().of(null), "a few seconds by default");
        assertEquals(null, d.grace().standbyOf("cam"), "no standby unless configured");
        RtspSettings s =
                parse(
                        "rtsp: {defaults: {publisher-grace: 0s}, paths: {cam: {publisher-grace:"
                                + " 30s, hot-standby: 300ms}}}");
        assertEquals(Duration.ZERO, s.grace().of(null), "0: as before");
        assertEquals(Duration.ofSeconds(30), s.grace().of("cam"));
        assertEquals(Duration.ofMillis(300), s.grace().standbyOf("cam"));
        assertField("rtsp.defaults.publisher-grace", "rtsp: {defaults: {publisher-grace: 61s}}");
        assertField("rtsp.paths.cam.hot-standby", "rtsp: {paths: {cam: {hot-standby: 11s}}}");
        assertField("rtsp.paths.cam.hot-standby", "rtsp: {paths: {cam: {hot-standby: 5ms}}}");
    }

    @Test
    void publisherSilenceIsOffUnlessConfiguredAndBounded() {
        assertEquals(null, parse("rtsp: {}").grace().silenceOf("cam"), "off by default");
        RtspSettings s =
                parse(
                        "rtsp: {defaults: {publisher-silence: 2s}, paths: {cam:"
                                + " {publisher-silence: 500ms}}}");
        assertEquals(Duration.ofSeconds(2), s.grace().silenceOf(null));
        assertEquals(Duration.ofMillis(500), s.grace().silenceOf("cam"));
        assertEquals(Duration.ofSeconds(2), s.grace().silenceOf("other"));
        assertField(
                "rtsp.defaults.publisher-silence", "rtsp: {defaults: {publisher-silence: 50ms}}");
        assertField(
                "rtsp.paths.cam.publisher-silence",
                "rtsp: {paths: {cam: {publisher-silence: 61s}}}");
    }

    static InetAddress address(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    static void assertField(String field, String yaml) {
        ConfigException e = assertThrows(ConfigException.class, () -> parse(yaml));
        assertTrue(e.getMessage().contains(field), "'" + e.getMessage() + "' names " + field);
    }
}
