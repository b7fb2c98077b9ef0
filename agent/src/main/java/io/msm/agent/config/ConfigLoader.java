package io.msm.agent.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.attach.XdpMode;
import io.msm.bpf.maps.DenyKey;
import io.msm.bpf.maps.PortTable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads the YAML config, applies command-line overrides, validates.
 *
 * <pre>
 * interfaces: [eth0]            # default: every non-loopback interface that is up, followed
 * bpffs: /sys/fs/bpf/msm
 * metrics-listen: 0.0.0.0:9469
 * http: {...}   # limits and access of the metrics-listen listener; see HttpSettings
 * rtsp-listen: 0.0.0.0:8554
 * sip-listen: 0.0.0.0:5060
 * userspace: false
 * log-level: info
 * xdp: {enabled: true, mode: auto}
 * datapath: {max-flows: 65536, max-groups: 256, max-subscribers: 8192, tc-priority: 1,
 *            on-layout-change: replace, netdev-max-backlog: 100000, orphan-grace: 2m,
 *            max-game-services: 64}   # 0: no game maps (saves the 4 MB Maglev array)
 * flows: {idle-timeout: 60s, expiry-interval: 5s}
 * classifier: {control-tcp-ports: [554, 8554, 5060], control-udp-ports: [5060],
 *              game-udp-ports: ["27015-27030"], raknet: true, clock-rates: {97: 48000}}
 * protection: {deny: ["10.66.0.0/16"], new-flows-per-second: 2000, new-flow-burst: 20000}
 * media: {port-range: 20000-29999}
 * streams: [{name: cam1, listen: 10.0.0.1:5004, source: 10.0.0.9, subscribers: [10.0.1.2:6000]}]
 * rtsp: {...}   # see RtspSettings
 * sip: {...}    # see SipSettings
 * kubernetes: {...}   # see KubernetesSettings
 * upgrade: {handover: false, socket: /var/lib/msm/handover.sock, timeout: 10s}   # see upgrade/
 * ng: {...}    # the rtpengine NG listener (off by default); see NgSettings
 * game: {...}  # UDP game services routed in the kernel (none by default); see GameSettings
 * </pre>
 */
public final class ConfigLoader {
    private ConfigLoader() {}

    /** Values given on the command line; null means "not given". */
    public record Overrides(
            List<String> interfaces,
            String bpffs,
            String metricsListen,
            String rtspListen,
            String sipListen,
            Boolean userspace,
            String logLevel,
            String ngListen) {
        public static final Overrides NONE =
                new Overrides(null, null, null, null, null, null, null, null);

        /** Without --ng-listen. */
        public Overrides(
                List<String> interfaces,
                String bpffs,
                String metricsListen,
                String rtspListen,
                String sipListen,
                Boolean userspace,
                String logLevel) {
            this(
                    interfaces,
                    bpffs,
                    metricsListen,
                    rtspListen,
                    sipListen,
                    userspace,
                    logLevel,
                    null);
        }
    }

    public static AgentConfig load(Path file, Overrides o) {
        JsonNode root = null;
        if (file != null) {
            if (!Files.isReadable(file)) {
                throw new ConfigException("--config", "cannot read " + file);
            }
            try {
                root = new ObjectMapper(new YAMLFactory()).readTree(Files.readString(file));
            } catch (JsonProcessingException e) {
                String where =
                        e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr();
                throw new ConfigException(
                        "--config",
                        file + " is not valid YAML" + where + ": " + e.getOriginalMessage());
            } catch (IOException e) {
                throw new ConfigException(
                        "--config", "cannot read " + file + ": " + e.getMessage());
            }
        }
        return parse(root, o);
    }

    public static AgentConfig parseYaml(String yaml, Overrides o) {
        try {
            return parse(new ObjectMapper(new YAMLFactory()).readTree(yaml), o);
        } catch (JsonProcessingException e) {
            throw new ConfigException("--config", "not valid YAML: " + e.getOriginalMessage());
        }
    }

    static AgentConfig parse(JsonNode root, Overrides o) {
        ConfigNode n = new ConfigNode("", root);
        // read every file value first (so none is mistaken for unknown), then let the command line
        // win
        List<String> fileIfaces = n.list("interfaces", List.of(), ConfigNode.Element::text);
        List<String> ifaces =
                o.interfaces() != null && !o.interfaces().isEmpty() ? o.interfaces() : fileIfaces;
        for (String i : ifaces) {
            if (i.isBlank() || i.length() > 15 || i.contains("/") || i.contains(" ")) {
                throw new ConfigException("interfaces", "not an interface name: '" + i + "'");
            }
        }
        String bpffs = pick(o.bpffs(), n.string("bpffs", AgentConfig.DEFAULT_BPFFS));
        if (!bpffs.startsWith("/")) {
            throw new ConfigException("bpffs", "must be an absolute path (got '" + bpffs + "')");
        }
        HostPort metrics =
                HostPort.parse(
                        "metrics-listen",
                        pick(
                                o.metricsListen(),
                                n.string("metrics-listen", AgentConfig.DEFAULT_METRICS)));
        HostPort rtspL =
                HostPort.parse(
                        "rtsp-listen",
                        pick(o.rtspListen(), n.string("rtsp-listen", AgentConfig.DEFAULT_RTSP)));
        HostPort sipL =
                HostPort.parse(
                        "sip-listen",
                        pick(o.sipListen(), n.string("sip-listen", AgentConfig.DEFAULT_SIP)));
        boolean fileUserspace = n.bool("userspace", false);
        boolean userspace = o.userspace() != null ? o.userspace() : fileUserspace;
        String level = pick(o.logLevel(), n.string("log-level", "info")).toLowerCase(Locale.ROOT);
        if (!List.of("trace", "debug", "info", "warn", "error").contains(level)) {
            throw new ConfigException(
                    "log-level",
                    "must be one of trace, debug, info, warn, error (got '" + level + "')");
        }

        ConfigNode x = n.section("xdp");
        AgentConfig.Xdp xdp =
                new AgentConfig.Xdp(
                        x.bool("enabled", true),
                        x.enumeration("mode", XdpMode.AUTO, XdpMode.class));
        x.done();

        ConfigNode d = n.section("datapath");
        AgentConfig.Datapath dp =
                new AgentConfig.Datapath(
                        d.integer("max-flows", 65536, 1024, 16_777_216),
                        d.integer("max-groups", 256, 1, 65536),
                        d.integer("max-subscribers", 8192, 1, 1_048_576),
                        d.integer("tc-priority", 1, 1, 65535),
                        d.enumeration(
                                "on-layout-change",
                                AgentConfig.LayoutChange.REPLACE,
                                AgentConfig.LayoutChange.class),
                        d.integer("netdev-max-backlog", 100_000, 0, 10_000_000),
                        d.duration("orphan-grace", Duration.ofMinutes(2), Duration.ZERO),
                        d.integer(
                                "max-game-services",
                                DatapathSpec.MAX_GAME_SERVICES,
                                0,
                                DatapathSpec.MAX_GAME_SERVICES));
        d.done();

        ConfigNode f = n.section("flows");
        AgentConfig.Flows flows =
                new AgentConfig.Flows(
                        f.duration("idle-timeout", Duration.ofSeconds(60), Duration.ofSeconds(1)),
                        f.duration(
                                "expiry-interval", Duration.ofSeconds(5), Duration.ofMillis(100)));
        f.done();

        ConfigNode c = n.section("classifier");
        List<Integer> tcp =
                c.list(
                        "control-tcp-ports",
                        PortTable.DEFAULT_CONTROL_TCP,
                        ConfigNode.Element::port);
        List<Integer> udp =
                c.list(
                        "control-udp-ports",
                        PortTable.DEFAULT_CONTROL_UDP,
                        ConfigNode.Element::port);
        List<PortTable.Range> game =
                c.list(
                        "game-udp-ports",
                        List.of(),
                        e -> {
                            try {
                                return PortTable.Range.parse(e.text());
                            } catch (IllegalArgumentException ex) {
                                throw new ConfigException(e.field(), ex.getMessage());
                            }
                        });
        boolean raknet = c.bool("raknet", true);
        Map<Integer, Integer> rates = new LinkedHashMap<>();
        ConfigNode cr = c.section("clock-rates");
        for (String k : cr.keys()) {
            int pt;
            try {
                pt = Integer.parseInt(k);
            } catch (NumberFormatException e) {
                throw new ConfigException(cr.field(k), "key must be an RTP payload type 0..127");
            }
            if (pt < 0 || pt > 127) {
                throw new ConfigException(cr.field(k), "payload type must be 0..127");
            }
            rates.put(pt, cr.integer(k, 90000, 1000, 10_000_000));
        }
        cr.done();
        c.done();
        AgentConfig.Classifier classifier =
                new AgentConfig.Classifier(tcp, udp, game, raknet, rates);

        ConfigNode p = n.section("protection");
        List<DenyKey> deny =
                p.list(
                        "deny",
                        List.of(),
                        e -> {
                            try {
                                return DenyKey.parse(e.text());
                            } catch (IllegalArgumentException ex) {
                                throw new ConfigException(e.field(), ex.getMessage());
                            }
                        });
        AgentConfig.Protection prot =
                new AgentConfig.Protection(
                        deny,
                        p.integer(
                                "new-flows-per-second",
                                AgentConfig.Protection.DEFAULT_NEW_FLOWS_PER_SECOND,
                                0,
                                10_000_000),
                        p.integer(
                                "new-flow-burst",
                                AgentConfig.Protection.DEFAULT_NEW_FLOW_BURST,
                                0,
                                10_000_000));
        p.done();

        ConfigNode m = n.section("media");
        PortTable.Range range;
        try {
            range = PortTable.Range.parse(m.string("port-range", "20000-29999"));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(m.field("port-range"), e.getMessage());
        }
        if (range.hi() - range.lo() < 3) {
            throw new ConfigException(
                    m.field("port-range"), "needs at least 4 ports (RTP/RTCP pairs)");
        }
        m.done();

        List<AgentConfig.StaticStream> streams =
                n.list(
                        "streams",
                        List.of(),
                        e -> {
                            ConfigNode s = e.node();
                            String name = s.string("name", null);
                            if (name == null || !name.matches("[A-Za-z0-9._\\-/]+")) {
                                throw new ConfigException(
                                        s.field("name"), "required: letters, digits, . _ - /");
                            }
                            InetSocketAddress listen =
                                    HostPort.parse(s.field("listen"), s.string("listen", null))
                                            .socketAddress();
                            if (listen.getPort() == 0) {
                                throw new ConfigException(s.field("listen"), "needs a port");
                            }
                            String src = s.string("source", null);
                            InetSocketAddress source =
                                    src == null
                                            ? null
                                            : HostPort.parseOptionalPort(s.field("source"), src)
                                                    .socketAddress();
                            List<InetSocketAddress> subs =
                                    s.list(
                                            "subscribers",
                                            new ArrayList<>(),
                                            se -> {
                                                InetSocketAddress a =
                                                        HostPort.parse(se.field(), se.text())
                                                                .socketAddress();
                                                if (a.getPort() == 0) {
                                                    throw new ConfigException(
                                                            se.field(), "needs a port");
                                                }
                                                return a;
                                            });
                            s.done();
                            return new AgentConfig.StaticStream(name, listen, source, subs);
                        });

        HttpSettings http = HttpSettings.read(n.section("http"));
        RtspSettings rtsp = RtspSettings.read(n.section("rtsp"));
        SipSettings sip = SipSettings.read(n.section("sip"));
        KubernetesSettings k8s = KubernetesSettings.read(n.section("kubernetes"));
        ConfigNode up = n.section("upgrade");
        String sock = up.string("socket", AgentConfig.Upgrade.DEFAULT_SOCKET);
        if (!sock.startsWith("/")) {
            throw new ConfigException(
                    up.field("socket"), "must be an absolute path (got '" + sock + "')");
        }
        AgentConfig.Upgrade upgrade =
                new AgentConfig.Upgrade(
                        up.bool("handover", false),
                        Path.of(sock),
                        up.duration("timeout", Duration.ofSeconds(10), Duration.ofMillis(100)));
        up.done();
        NgSettings ng = NgSettings.read(n.section("ng"), o.ngListen());
        GameSettings games = GameSettings.read(n.section("game"));
        n.done();
        return new AgentConfig(
                List.copyOf(ifaces),
                Path.of(bpffs),
                metrics,
                rtspL,
                sipL,
                userspace,
                level,
                xdp,
                dp,
                flows,
                classifier,
                prot,
                new AgentConfig.Media(range),
                streams,
                http,
                rtsp,
                sip,
                k8s,
                upgrade,
                ng,
                games);
    }

    private static String pick(String cli, String file) {
        return cli != null ? cli : file;
    }
}
