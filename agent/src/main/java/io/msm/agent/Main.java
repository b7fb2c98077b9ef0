package io.msm.agent;

import ch.qos.logback.classic.Level;
import io.msm.agent.auth.PasswdCommand;
import io.msm.agent.config.AgentConfig;
import io.msm.agent.config.ConfigException;
import io.msm.agent.config.ConfigLoader;
import io.msm.agent.config.KubernetesSettings;
import io.msm.agent.datapath.DatapathOwner;
import io.msm.agent.intercept.Interception;
import io.msm.bpf.BpfException;
import io.msm.bpf.maps.Meta;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/** msm-agent's command line. */
@Command(
        name = "msm-agent",
        mixinStandardHelpOptions = true,
        versionProvider = Main.VersionInfo.class,
        description = {
            "The msm node agent: loads and attaches the eBPF datapath (classification, flow table, "
                    + "in-kernel fan-out), runs the RTSP and SIP proxies, and serves Prometheus metrics.",
            "UDP game services (per-session backends in the kernel) come from the config's game: "
                    + "section or, in a cluster with kubernetes.gateway-api, from Gateway API UDPRoutes; "
                    + "none by default.",
            "Every option can also be set in the YAML file given by --config (the command line wins)."
        },
        subcommands = {Main.Cleanup.class, PasswdCommand.class, CommandLine.HelpCommand.class},
        footer = {
            "",
            "Exit codes: 0 stopped cleanly, 1 runtime failure, 2 usage or config error.",
            "Stopping the agent leaves the datapath attached and forwarding; a restart adopts it.",
            "'msm-agent cleanup' removes everything msm attached and pinned."
        })
public final class Main implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE", description = "YAML config file")
    Path config;

    @Option(
            names = "--interface",
            paramLabel = "IF",
            description =
                    "interface to attach to (repeatable; default: every non-loopback interface that is up, followed as interfaces come and go)")
    List<String> interfaces;

    @Option(
            names = "--bpffs",
            paramLabel = "DIR",
            description =
                    "where the datapath is pinned (default: " + AgentConfig.DEFAULT_BPFFS + ")")
    String bpffs;

    @Option(
            names = "--metrics-listen",
            paramLabel = "ADDR:PORT",
            description =
                    "/metrics, /healthz, /readyz (default: " + AgentConfig.DEFAULT_METRICS + ")")
    String metricsListen;

    @Option(
            names = "--rtsp-listen",
            paramLabel = "ADDR:PORT",
            description = "RTSP proxy (default: " + AgentConfig.DEFAULT_RTSP + ")")
    String rtspListen;

    @Option(
            names = "--sip-listen",
            paramLabel = "ADDR:PORT",
            description = "SIP proxy (default: " + AgentConfig.DEFAULT_SIP + ")")
    String sipListen;

    @Option(
            names = "--ng-listen",
            paramLabel = "ADDR:PORT",
            description =
                    "rtpengine NG protocol listener (UDP) for Kamailio/OpenSIPS; off by default,"
                            + " loopback only unless ng.allow-non-loopback")
    String ngListen;

    @Option(
            names = "--userspace",
            description = "no BPF at all: the media plane relays in userspace (slower)")
    Boolean userspace;

    @Option(
            names = "--handover",
            arity = "0..1",
            fallbackValue = "",
            paramLabel = "SOCKET",
            description =
                    "seamless upgrade: take over the sockets, RTSP connections and sessions of the agent"
                            + " listening on SOCKET (if one does), and listen there for the next one"
                            + " (default SOCKET: upgrade.socket, "
                            + AgentConfig.Upgrade.DEFAULT_SOCKET
                            + ")")
    String handover;

    @Option(
            names = "--after-handover",
            paramLabel = "WHAT",
            description =
                    "once a new agent took over: exit (default), or wait for SIGTERM (in a"
                            + " container that restarts, so the restarted old agent does not take"
                            + " everything back)")
    String afterHandover;

    @Option(
            names = "--log-level",
            paramLabel = "LEVEL",
            description = "trace, debug, info (default), warn, error")
    String logLevel;

    static Agent.ServiceFactory services = Agent::defaultServices;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String... args) {
        return new CommandLine(new Main()).setExitCodeExceptionMapper(Main::exitCode).execute(args);
    }

    static int exitCode(Throwable t) {
        return t instanceof ConfigException ? 2 : 1;
    }

    @Override
    public Integer call() throws Exception {
        AgentConfig cfg;
        try {
            cfg =
                    ConfigLoader.load(
                            config,
                            new ConfigLoader.Overrides(
                                    interfaces,
                                    bpffs,
                                    metricsListen,
                                    rtspListen,
                                    sipListen,
                                    userspace,
                                    logLevel,
                                    ngListen));
        } catch (ConfigException e) {
            System.err.println("msm-agent: " + e.getMessage());
            return 2;
        }
        if (handover != null) {
            cfg = cfg.withHandover(handover.isEmpty() ? null : Path.of(handover));
        }
        if (afterHandover != null && !List.of("exit", "wait").contains(afterHandover)) {
            System.err.println(
                    "msm-agent: --after-handover: exit or wait, not '" + afterHandover + "'");
            return 2;
        }
        setLogLevel(cfg.logLevel());
        Agent agent = new Agent(cfg);
        try {
            agent.start(services);
        } catch (ConfigException e) {
            System.err.println("msm-agent: " + e.getMessage());
            return 2;
        } catch (BpfException e) {
            System.err.println("msm-agent: " + e.getMessage());
            return 1;
        }
        // SIGTERM/SIGINT: an orderly stop that exits 0 (a JVM shutdown hook would exit 143)
        Runnable stop =
                () -> {
                    LoggerFactory.getLogger(Main.class)
                            .info("stopping (the datapath stays attached and keeps forwarding)");
                    agent.close();
                };
        CountDownLatch signalled = new CountDownLatch(1);
        for (String sig : new String[] {"TERM", "INT"}) {
            Signal.handle(
                    new Signal(sig),
                    s -> {
                        signalled.countDown();
                        new Thread(stop, "msm-stop").start();
                    });
        }
        agent.awaitStop();
        if (agent.wasHandedOver() && "wait".equals(afterHandover)) {
            LoggerFactory.getLogger(Main.class)
                    .info(
                            "handed over to the new agent; idle until SIGTERM (--after-handover wait)");
            signalled.await();
        }
        return 0;
    }

    static void setLogLevel(String level) {
        ch.qos.logback.classic.Logger root =
                (ch.qos.logback.classic.Logger)
                        LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.toLevel(level, Level.INFO));
    }

    @Command(
            name = "cleanup",
            mixinStandardHelpOptions = true,
            description =
                    "Detach every program msm attached (only msm's: foreign filters and XDP programs stay), "
                            + "delete clsact qdiscs msm created if they are empty, detach pod interception from every pod "
                            + "cgroup, and remove msm's pins.")
    static final class Cleanup implements Callable<Integer> {
        @Option(
                names = "--bpffs",
                paramLabel = "DIR",
                description = "pin directory (default: " + AgentConfig.DEFAULT_BPFFS + ")")
        String bpffs = AgentConfig.DEFAULT_BPFFS;

        @Option(
                names = "--intercept-pins",
                paramLabel = "DIR",
                description =
                        "pin directory of pod interception "
                                + "(default: "
                                + KubernetesSettings.DEFAULT_PIN_DIR
                                + ")")
        String interceptPins = KubernetesSettings.DEFAULT_PIN_DIR;

        @Override
        public Integer call() {
            try {
                List<String> from = DatapathOwner.cleanup(Path.of(bpffs));
                List<String> pods = Interception.cleanup(Path.of(interceptPins));
                System.out.println(
                        "msm-agent cleanup: detached from "
                                + (from.isEmpty() ? "no interface" : String.join(", ", from))
                                + "; removed "
                                + bpffs
                                + "; interception detached from "
                                + pods.size()
                                + " pod(s), removed "
                                + interceptPins);
                return 0;
            } catch (BpfException e) {
                System.err.println("msm-agent cleanup: " + e.getMessage());
                return 1;
            }
        }
    }

    static final class VersionInfo implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {
                "msm-agent " + Version.get() + " (datapath layout v" + Meta.LAYOUT_VERSION + ")"
            };
        }
    }
}
