package io.msm.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SipSettingsTest {
    static SipSettings sip(String y) {
        return ConfigLoader.parseYaml(y, ConfigLoader.Overrides.NONE).sip();
    }

    @Test
    void defaults() {
        SipSettings s = SipSettings.defaults();
        assertEquals(16384, s.maxMessageBytes());
        assertEquals(Path.of("/var/lib/msm/sip-state.json"), s.stateFile());
        assertEquals(SipSettings.Timers.RFC, s.timers());
        assertEquals(Duration.ofSeconds(32), s.timers().sixtyFourT1());
        assertTrue(s.tcp());
        assertEquals(Duration.ofSeconds(5), s.retryAfter());
        // no open relay by default: nobody trusted, no users
        SipSettings.Security sec = s.security();
        assertTrue(sec.trusted().isEmpty());
        assertNull(sec.usersFile());
        assertEquals("msm", sec.realm());
        assertEquals(4, sec.maxMediaLines());
        assertEquals(50, sec.callsPerSource());
        assertEquals(10, sec.invitesPerSourcePerSecond());
        assertEquals(32, sec.tcpConnectionsPerSource());
        assertEquals(Duration.ofSeconds(5), sec.firstMessageTimeout());
    }

    @Test
    void routesAreForAuthenticatedCallersUnlessSaidOtherwise() {
        SipSettings s =
                sip(
                        """
                sip:
                  trusted: [10.0.0.0/24]
                  routes:
                    - {match: "@pstn", target: "10.0.0.7:5060"}
                    - {match: "@lab", target: "10.0.0.8:5060", from: any}
                    - {match: "@core", target: "10.0.0.9:5060", from: trusted}
                """);
        assertEquals(SipSettings.From.AUTHENTICATED, s.routes().get(0).from());
        assertEquals(SipSettings.From.ANY, s.routes().get(1).from());
        assertEquals(SipSettings.From.TRUSTED, s.routes().get(2).from());
        assertEquals(1, s.security().trusted().prefixes().size());
    }

    @Test
    void everythingCanBeSet() {
        SipSettings s =
                sip(
                        """
                sip:
                  max-calls: 5
                  invites-per-second: 7
                  retry-after: 9s
                  state-file: ""
                  tcp: false
                  domains: [Example.COM]
                  timers: {t1: 50ms, t2: 400ms, t4: 200ms, c: 8s}
                  routes:
                    - {match: "bob", target: "10.0.0.7:5070", transport: TCP}
                """);
        assertEquals(5, s.maxCalls());
        assertEquals(7, s.invitesPerSecond());
        assertNull(s.stateFile(), "\"\" keeps calls in memory only");
        assertEquals("example.com", s.domains().get(0));
        assertEquals(Duration.ofMillis(50), s.timers().t1());
        assertEquals("tcp", s.routes().get(0).transport());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "sip: {max-message-bytes: 100}                     | sip.max-message-bytes     | 1024..65535",
                "sip: {state-file: relative.json}                  | sip.state-file            | absolute path",
                "sip: {timers: {t1: 1ms}}                          | sip.timers.t1             | at least 10ms",
                "sip: {timers: {t1: 500ms, t2: 100ms}}             | sip.timers.t2             | at least t1",
                "sip: {timers: {t1: 500ms, c: 10s}}                | sip.timers.c              | longer than 64*t1",
                "sip: {timers: {t5: 1s}}                           | sip.timers.t5             | unknown setting",
                "sip: {domains: ['not a domain']}                  | sip.domains[0]            | domain name",
                "sip: {routes: [{match: bob, target: '10.0.0.1'}]} | sip.routes[0].target      | ADDR:PORT",
                "sip: {routes: [{match: bob, target: '10.0.0.1:0'}]} | sip.routes[0].target    | needs a port",
                "sip: {routes: [{match: 'a@b@c', target: '10.0.0.1:5060'}]} | sip.routes[0].match | user@domain",
                "sip: {routes: [{match: bob, target: '10.0.0.1:5060', transport: sctp}]} | sip.routes[0].transport | udp or tcp",
                "sip: {rtp-timeout: 0s}                            | sip.rtp-timeout           | at least 1s",
                "sip: {trusted: [10.0.0.0/33]}                     | sip.trusted[0]            | 33",
                "sip: {users-file: users}                          | sip.users-file            | absolute path",
                "sip: {realm: 'a:b'}                               | sip.realm                 | colons",
                "sip: {max-media-lines: 0}                         | sip.max-media-lines       | 1..64",
                "sip: {auth: {algorithms: [SHA-512]}}              | sip.auth.algorithms[0]    | SHA-512",
                "sip: {per-source: {tcp-connections: 99}, connections: {max-inbound: 10}} | sip.per-source.tcp-connections | max-inbound",
                "sip: {routes: [{match: bob, target: '10.0.0.1:5060', from: friends}]} | sip.routes[0].from | any, authenticated, trusted",
            })
    void badValuesNameTheirField(String y, String field, String reason) {
        ConfigException e = assertThrows(ConfigException.class, () -> sip(y));
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(
                e.reason().contains(reason),
                "reason '" + e.reason() + "' should mention '" + reason + "'");
    }

    @Test
    void trustedIdentitiesAreSpiffeIdsOrWholeNamespaces() {
        SipSettings s =
                sip(
                        """
                sip:
                  trusted-identities: [spiffe://cluster.local/ns/pbx/sa/asterisk, "spiffe://cluster.local/ns/voice/sa/*"]
                """);
        assertTrue(
                s.security().trustedIdentities().contains("spiffe://cluster.local/ns/voice/sa/x"));
        assertTrue(sip("sip: {}").security().trustedIdentities().isEmpty());
        ConfigException e =
                assertThrows(
                        ConfigException.class,
                        () ->
                                sip(
                                        "sip: {trusted-identities: [\"spiffe://cluster.local/ns/*/sa/*\"]}"));
        assertEquals("sip.trusted-identities[0]", e.field());
        assertTrue(
                e.getMessage().contains("spiffe://<trust-domain>/ns/<namespace>/sa/"),
                e.getMessage());
    }
}
