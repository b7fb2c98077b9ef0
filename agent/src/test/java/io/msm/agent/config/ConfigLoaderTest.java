package io.msm.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.bpf.attach.XdpMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfigLoaderTest {
    static AgentConfig yaml(String y) {
        return ConfigLoader.parseYaml(y, ConfigLoader.Overrides.NONE);
    }

    @Test
    void defaultsWithoutAFile() {
        AgentConfig c = ConfigLoader.load(null, ConfigLoader.Overrides.NONE);
        assertEquals(Path.of("/sys/fs/bpf/msm"), c.bpffs());
        assertEquals("0.0.0.0:9469", c.metricsListen().toString());
        assertEquals("0.0.0.0:8554", c.rtspListen().toString());
        assertEquals(List.of(), c.interfaces(), "empty = every non-loopback interface that is up");
        assertFalse(c.userspace());
        assertTrue(c.xdp().enabled());
        assertEquals(XdpMode.AUTO, c.xdp().mode());
        assertEquals(Duration.ofSeconds(60), c.flows().idleTimeout());
        assertEquals(List.of(554, 8554, 5060), c.classifier().controlTcpPorts());
        assertEquals(100_000, c.datapath().netdevMaxBacklog());
        assertTrue(c.rtsp().publishByDefault());
    }

    @Test
    void handoverIsOffUnlessAsked() {
        AgentConfig c = ConfigLoader.load(null, ConfigLoader.Overrides.NONE);
        assertFalse(
                c.upgrade().handover(), "agents sharing a state dir must not take each other over");
        assertEquals(Path.of("/var/lib/msm/handover.sock"), c.upgrade().socket());
        assertEquals(Duration.ofSeconds(10), c.upgrade().timeout());
        AgentConfig on = yaml("upgrade: {handover: true, socket: /run/msm/h.sock, timeout: 3s}\n");
        assertTrue(on.upgrade().handover());
        assertEquals(Path.of("/run/msm/h.sock"), on.upgrade().socket());
        assertEquals(Duration.ofSeconds(3), on.upgrade().timeout());
        // --handover (the command line) turns it on, with its own socket or the file's
        assertEquals(Path.of("/x.sock"), c.withHandover(Path.of("/x.sock")).upgrade().socket());
        assertEquals(Path.of("/run/msm/h.sock"), on.withHandover(null).upgrade().socket());
        assertTrue(c.withHandover(null).upgrade().handover());
        ConfigException e =
                assertThrows(ConfigException.class, () -> yaml("upgrade: {socket: h.sock}\n"));
        assertTrue(e.getMessage().contains("upgrade.socket"), e.getMessage());
        assertThrows(ConfigException.class, () -> yaml("upgrade: {sokcet: /h.sock}\n"));
    }

    @Test
    void theNewFlowLimitIsOnByDefault() {
        AgentConfig c = ConfigLoader.load(null, ConfigLoader.Overrides.NONE);
        assertEquals(2000, c.protection().newFlowsPerSecond());
        assertEquals(20000, c.protection().newFlowBurst());
        AgentConfig off = yaml("protection: {new-flows-per-second: 0}\n");
        assertEquals(0, off.protection().newFlowsPerSecond(), "0 turns it off");
    }

    @Test
    void aFullFileIsRead() {
        AgentConfig c =
                yaml(
                        """
                interfaces: [eth0, eth1]
                bpffs: /sys/fs/bpf/other
                metrics-listen: "[::1]:9000"
                userspace: true
                log-level: DEBUG
                xdp: {enabled: false, mode: generic}
                datapath: {max-flows: 200000, max-groups: 64, tc-priority: 7, on-layout-change: refuse}
                flows: {idle-timeout: 2m, expiry-interval: 500ms}
                classifier:
                  control-tcp-ports: [554]
                  game-udp-ports: ["27015-27030", "3074"]
                  clock-rates: {97: 48000}
                protection: {deny: ["10.66.0.0/16", "2001:db8::/32"], new-flows-per-second: 50}
                media: {port-range: 30000-30999}
                streams:
                  - {name: cam1, listen: "10.0.0.1:5004", source: 10.0.0.9, subscribers: ["10.0.1.2:6000"]}
                  - {name: cam2, listen: "10.0.0.1:5006", source: "10.0.0.9:40000", subscribers: []}
                rtsp:
                  paths:
                    lobby: {source: "rtsp://10.0.0.5:554/stream"}
                    cam1: {source: publish}
                sip:
                  routes: [{match: "@example.com", target: "10.0.0.7:5060"}]
                """);
        assertEquals(List.of("eth0", "eth1"), c.interfaces());
        assertEquals("[0:0:0:0:0:0:0:1]:9000", c.metricsListen().toString());
        assertTrue(c.userspace());
        assertEquals("debug", c.logLevel());
        assertEquals(XdpMode.GENERIC, c.xdp().mode());
        assertEquals(AgentConfig.LayoutChange.REFUSE, c.datapath().onLayoutChange());
        assertEquals(Duration.ofMillis(500), c.flows().expiryInterval());
        assertEquals(2, c.classifier().gameUdpPorts().size());
        assertEquals(48000, c.classifier().clockRates().get(97));
        assertEquals(2, c.protection().deny().size());
        assertEquals(30000, c.media().portRange().lo());
        assertEquals(0, c.streams().get(0).source().getPort(), "an address without port: any port");
        assertEquals(40000, c.streams().get(1).source().getPort());
        assertEquals(RtspSettings.PathSource.Kind.PULL, c.rtsp().paths().get("lobby").kind());
        assertEquals("10.0.0.7:5060", c.sip().routes().get(0).target().toString());
        assertNull(c.streams().get(1).subscribers().isEmpty() ? null : "x");
    }

    @Test
    void theCommandLineWins() throws Exception {
        Path f = Files.createTempFile("msm", ".yaml");
        try {
            Files.writeString(f, "bpffs: /sys/fs/bpf/a\nuserspace: false\ninterfaces: [eth0]\n");
            AgentConfig c =
                    ConfigLoader.load(
                            f,
                            new ConfigLoader.Overrides(
                                    List.of("veth9"),
                                    "/sys/fs/bpf/b",
                                    null,
                                    "127.0.0.1:1554",
                                    null,
                                    true,
                                    "warn"));
            assertEquals(Path.of("/sys/fs/bpf/b"), c.bpffs());
            assertTrue(c.userspace());
            assertEquals(List.of("veth9"), c.interfaces());
            assertEquals(1554, c.rtspListen().port());
            assertEquals("warn", c.logLevel());
        } finally {
            Files.deleteIfExists(f);
        }
    }

    /** Every bad value is rejected with the field it was in and the reason. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "bpfs: /x                                          | bpfs                          | unknown setting",
                "bpffs: relative/dir                               | bpffs                         | absolute path",
                "metrics-listen: localhost:9469                    | metrics-listen                | IP literal",
                "metrics-listen: '0.0.0.0:99999'                   | metrics-listen                | 0..65535",
                "rtsp-listen: '::1:8554'                           | rtsp-listen                   | brackets",
                "log-level: loud                                   | log-level                     | one of",
                "userspace: maybe                                  | userspace                     | true or false",
                "xdp: {mode: turbo}                                | xdp.mode                      | native, generic, auto",
                "datapath: {max-flows: 12}                         | datapath.max-flows            | 1024..",
                "datapath: {on-layout-change: ignore}              | datapath.on-layout-change     | replace, refuse",
                "flows: {idle-timeout: 0s}                         | flows.idle-timeout            | at least 1s",
                "flows: {idle-timeout: soon}                       | flows.idle-timeout            | duration",
                "classifier: {control-tcp-ports: [554, 70000]}     | classifier.control-tcp-ports[1] | 1..65535",
                "classifier: {game-udp-ports: ['9-3']}             | classifier.game-udp-ports[0]  | lo <= hi",
                "classifier: {clock-rates: {200: 8000}}            | classifier.clock-rates.200    | 0..127",
                "protection: {deny: ['10.0.0.0/40']}               | protection.deny[0]            | prefix length",
                "media: {port-range: 5000-5001}                    | media.port-range              | at least 4 ports",
                "streams: [{name: a, listen: '10.0.0.1:0'}]        | streams[0].listen             | needs a port",
                "streams: [{listen: '10.0.0.1:5004'}]              | streams[0].name               | required",
                "streams: [{name: a, listen: '10.0.0.1:5004', subscribers: [x]}] | streams[0].subscribers[0] | ADDR:PORT",
                "rtsp: {paths: {cam: {source: 'http://x/y'}}}      | rtsp.paths.cam.source         | rtsp://",
                "rtsp: {paths: {cam: {sauce: publish}}}            | rtsp.paths.cam.sauce          | unknown setting",
                "rtsp: {session-timeout: 1s}                       | rtsp.session-timeout          | at least 5s",
                "sip: {routes: [{target: '10.0.0.1:5060'}]}        | sip.routes[0].match           | required",
                "interfaces: ['eth 0']                             | interfaces                    | not an interface name",
            })
    void badValuesNameTheirField(String y, String field, String reason) {
        ConfigException e = assertThrows(ConfigException.class, () -> yaml(y));
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(
                e.reason().contains(reason),
                "reason '" + e.reason() + "' should mention '" + reason + "'");
        assertTrue(e.getMessage().startsWith("config error: " + field + ": "));
    }

    @Test
    void brokenYamlSaysWhere() {
        ConfigException e = assertThrows(ConfigException.class, () -> yaml("bpffs: [unclosed\n"));
        assertEquals("--config", e.field());
        assertTrue(e.reason().contains("YAML"), e.reason());
    }

    @Test
    void aMissingFileIsAConfigError() {
        ConfigException e =
                assertThrows(
                        ConfigException.class,
                        () ->
                                ConfigLoader.load(
                                        Path.of("/nonexistent/msm.yaml"),
                                        ConfigLoader.Overrides.NONE));
        assertTrue(e.reason().contains("cannot read"));
    }
}
