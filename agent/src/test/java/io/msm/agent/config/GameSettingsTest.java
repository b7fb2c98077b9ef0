package io.msm.agent.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.agent.game.GameControl;
import io.msm.agent.game.GameTables;
import io.msm.bpf.maps.GameService;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class GameSettingsTest {
    static AgentConfig yaml(String y) {
        return ConfigLoader.parseYaml(y, ConfigLoader.Overrides.NONE);
    }

    static void rejects(String y, String field, String reason) {
        ConfigException e = assertThrows(ConfigException.class, () -> yaml(y));
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(
                e.reason().contains(reason),
                "reason '" + e.reason() + "' should mention '" + reason + "'");
    }

    static Inet4Address ip(String s) throws Exception {
        return (Inet4Address) InetAddress.getByName(s);
    }

    static final String ONE =
            "game:\n  services:\n  - name: arena\n    port: 7777\n    backends:\n"
                    + "    - {address: 10.0.1.2, port: 9000}\n";

    @Test
    void noGameServicesByDefault() {
        AgentConfig c = yaml("log-level: info\n");
        assertFalse(c.game().any());
        assertFalse(c.kubernetes().gatewayApi());
        assertEquals(Duration.ofSeconds(10), c.game().sweepInterval());
    }

    @Test
    void aStaticServiceWithEveryKindOfKey() throws Exception {
        AgentConfig c =
                yaml(
                        "game:\n  silent-min-packets: 50\n  services:\n"
                                + "  - name: arena\n    port: 7777\n    idle-timeout: 30s\n    backends:\n"
                                + "    - {address: 10.0.1.2, port: 9000, weight: 9}\n"
                                + "    - {address: 10.0.1.3, port: 9000}\n"
                                + "  - name: tunnel\n    port: 4000\n    address: 192.0.2.10\n"
                                + "    session-key: kcp\n    kcp-offset: 20\n    backends:\n"
                                + "    - {address: 10.0.1.4, port: 4000}\n"
                                + "  - name: lobby\n    port: 5000\n    session-key: token\n"
                                + "    token-length: 4\n    backends:\n"
                                + "    - {address: 10.0.1.5, port: 5000, token: 'hex:0a0b0c0d'}\n"
                                + "    - {address: 10.0.1.6, port: 5000, token: 'base64:AQIDBA=='}\n"
                                + "    - {address: 10.0.1.7, port: 5000, token: '01020305'}\n");
        GameSettings g = c.game();
        assertEquals(3, g.services().size());
        assertEquals(50, g.silentMinPackets());
        assertEquals(9, g.services().get(0).backends().get(0).weight());
        assertEquals(1, g.services().get(0).backends().get(1).weight());
        assertEquals(Duration.ofSeconds(30), g.services().get(0).idleTimeout());
        assertEquals(ip("192.0.2.10"), g.services().get(1).address().orElseThrow());
        assertEquals(20, g.services().get(1).kcpOffset());
        assertArrayEquals(new byte[] {1, 2, 3, 4}, g.services().get(2).backends().get(1).token());

        // to the kernel's: one per node address unless the service names its own
        List<GameTables.Service> k =
                GameControl.fromConfig(g, List.of(ip("192.0.2.10"), ip("198.51.100.1")));
        assertEquals(
                List.of(
                        "arena@192.0.2.10",
                        "arena@198.51.100.1",
                        "tunnel",
                        "lobby@192.0.2.10",
                        "lobby@198.51.100.1"),
                k.stream().map(GameTables.Service::name).toList());
        assertEquals(GameService.F_KCP, k.get(2).flags());
        assertEquals(20, k.get(2).keyOff());
        assertEquals(GameService.F_TOKEN, k.get(3).flags());
        assertEquals(4, k.get(3).tokenLen());
        assertEquals("arena", GameControl.fromConfig(g, List.of(ip("192.0.2.10"))).get(0).name());
    }

    @Test
    void badFieldsAreNamedWithTheReason() {
        rejects("game: {services: [{port: 1, backends: []}]}", "game.services[0].name", "required");
        rejects(
                "game: {services: [{name: 'a b', port: 1}]}",
                "game.services[0].name",
                "letters, digits");
        rejects("game: {services: [{name: a}]}", "game.services[0].port", "required");
        rejects("game: {services: [{name: a, port: 70000}]}", "game.services[0].port", "1..65535");
        rejects(
                "game: {services: [{name: a, port: 1, address: eth0}]}",
                "game.services[0].address",
                "IPv4");
        rejects(
                "game: {services: [{name: a, port: 1, session-key: guid}]}",
                "game.services[0].session-key",
                "client-address, kcp, token");
        rejects(
                "game: {services: [{name: a, port: 1}]}",
                "game.services[0].backends",
                "at least one");
        rejects(
                "game: {services: [{name: a, port: 1, kcp-offset: 20, backends: []}]}",
                "game.services[0].kcp-offset",
                "only with session-key: kcp");
        rejects(
                "game: {services: [{name: a, port: 1, session-key: token, backends: []}]}",
                "game.services[0].token-length",
                "required");
        rejects(
                "game: {services: [{name: a, port: 1, session-key: token, token-length: 17}]}",
                "game.services[0].token-length",
                "1..16");
        rejects(
                "game: {services: [{name: a, port: 1, backends: [{address: '::1', port: 2}]}]}",
                "game.services[0].backends[0].address",
                "IPv4");
        rejects(
                "game: {services: [{name: a, port: 1, backends: [{address: 10.0.0.1}]}]}",
                "game.services[0].backends[0].port",
                "required");
        rejects(
                "game: {services: [{name: a, port: 1, backends: [{address: 10.0.0.1, port: 2,"
                        + " weight: 0}]}]}",
                "game.services[0].backends[0].weight",
                "1..65535");
        rejects(
                "game: {services: [{name: a, port: 1, backends: [{address: 10.0.0.1, port: 2,"
                        + " token: abcd}]}]}",
                "game.services[0].backends[0].token",
                "only with session-key: token");
        rejects(
                "game: {services: [{name: a, port: 1, session-key: token, token-length: 2,"
                        + " backends: [{address: 10.0.0.1, port: 2}]}]}",
                "game.services[0].backends[0].token",
                "required");
        rejects(
                "game: {services: [{name: a, port: 1, session-key: token, token-length: 2,"
                        + " backends: [{address: 10.0.0.1, port: 2, token: 'hex:zz'}]}]}",
                "game.services[0].backends[0].token",
                "hex:");
        rejects(
                "game: {services: [{name: a, port: 1, session-key: token, token-length: 2,"
                        + " backends: [{address: 10.0.0.1, port: 2, token: 'hex:010203'}]}]}",
                "game.services[0].backends[0].token",
                "token-length = 2");
        rejects(
                "game: {services: [{name: a, port: 1, session-key: token, token-length: 1,"
                        + " backends: [{address: 10.0.0.1, port: 2, token: '01'},"
                        + " {address: 10.0.0.2, port: 2, token: '01'}]}]}",
                "game.services[0].backends",
                "share the token");
        rejects(
                "game: {services: [{name: a, port: 1, backends: [{address: 10.0.0.1, port: 2},"
                        + " {address: 10.0.0.1, port: 2}]}]}",
                "game.services[0].backends[1]",
                "listed twice");
        rejects(
                ONE + "  - {name: arena, port: 7778, backends: [{address: 10.0.0.1, port: 2}]}\n",
                "game.services[1].name",
                "another service is named");
        rejects(
                ONE
                        + "  - {name: b, port: 7777, address: 10.0.0.9, backends: [{address: 10.0.0.1,"
                        + " port: 2}]}\n",
                "game.services[1].port",
                "another service listens");
        rejects(
                "game: {services: [{name: a, port: 1, idle-timeout: 10ms, backends: []}]}",
                "game.services[0].idle-timeout",
                "at least");
        rejects("game: {sevices: []}", "game.sevices", "unknown setting");
        rejects(
                "game: {services: [{name: a, port: 1, backends: [{address: 10.0.0.1, port: 2,"
                        + " wieght: 2}]}]}",
                "game.services[0].backends[0].wieght",
                "unknown setting");
        rejects("kubernetes: {gateway-api: maybe}", "kubernetes.gateway-api", "true or false");
    }

    @Test
    void twoServicesMayShareAPortOnDifferentAddresses() {
        AgentConfig c =
                yaml(
                        "game:\n  services:\n"
                                + "  - {name: a, port: 7777, address: 10.0.0.8, backends: [{address: 10.0.1.1, port: 1}]}\n"
                                + "  - {name: b, port: 7777, address: 10.0.0.9, backends: [{address: 10.0.1.1, port: 1}]}\n");
        assertEquals(2, c.game().services().size());
        assertTrue(yaml("kubernetes: {gateway-api: true}").kubernetes().gatewayApi());
    }

    @Test
    void rebindingPolicyRaknetAndTheKernelsCapacity() throws Exception {
        AgentConfig c =
                yaml(
                        "game:\n  services:\n  - name: arena\n    port: 7777\n"
                                + "    session-key: raknet\n    rebind: none\n    rebind-confirm: 4\n"
                                + "    backends:\n    - {address: 10.0.1.2, port: 9000}\n");
        GameSettings.Service s = c.game().services().get(0);
        assertEquals(GameTables.Rebind.NONE, s.rebind());
        assertEquals(4, s.rebindConfirm());
        GameTables.Service k = GameControl.fromConfig(c.game(), List.of(ip("192.0.2.10"))).get(0);
        assertEquals(GameService.F_RAKNET, k.flags());
        assertEquals(GameTables.Rebind.NONE, k.rebind());
        assertEquals(4, k.rebindConfirm());
        // the default: same IP, another port, at the first packet
        GameSettings.Service d = yaml(ONE).game().services().get(0);
        assertEquals(GameTables.Rebind.PORT, d.rebind());
        assertEquals(0, d.rebindConfirm());

        rejects(
                ONE.replace("port: 7777\n", "port: 7777\n    rebind: anywhere\n"),
                "game.services[0].rebind",
                "prefix");
        rejects(
                ONE.replace("port: 7777\n", "port: 7777\n    rebind-confirm: -1\n"),
                "game.services[0].rebind-confirm",
                "");

        assertEquals(64, yaml("log-level: info\n").datapath().maxGameServices());
        assertEquals(0, yaml("datapath: {max-game-services: 0}\n").datapath().maxGameServices());
        rejects("datapath: {max-game-services: 65}\n", "datapath.max-game-services", "");
    }
}
