package io.msm.cli.status;

import io.msm.bpf.BpfException;
import io.msm.bpf.maps.Attachment;
import io.msm.bpf.maps.Counters;
import io.msm.bpf.maps.Meta;
import io.msm.cli.CliFailure;
import io.msm.cli.Failures;
import io.msm.cli.MsmCommand;
import io.msm.cli.MsmVersion;
import io.msm.cli.source.AgentProbe;
import io.msm.cli.source.DatapathView;
import io.msm.cli.source.Host;
import io.msm.cli.source.MapFill;
import io.msm.cli.source.PinScan;
import io.msm.cli.source.PinnedProgram;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code msm status}: is the datapath there, attached, of the right layout, how full, what has it
 * counted, and is the agent alive. Prints what it can even when the pins are missing.
 */
@Command(
        name = "status",
        mixinStandardHelpOptions = true,
        versionProvider = MsmVersion.class,
        description = {
            "Show the kernel, the bpffs pins, the datapath layout version and object hash (msm_meta), the programs "
                    + "and where they are attached (checked against the kernel), map fill levels, the global "
                    + "counters, whether msm-agent answers on its health endpoint, and the relay tree edges its node "
                    + "serves and takes (the agent's /tree, next to the health endpoint).",
            "Prints what it can when the pins are missing, then exits non-zero."
        })
public final class StatusCommand implements Callable<Integer> {
    public static final String DEFAULT_AGENT = "http://127.0.0.1:9469/healthz";
    static final Duration AGENT_TIMEOUT = Duration.ofSeconds(1);

    @ParentCommand MsmCommand msm;

    @Spec CommandSpec spec;

    @Option(
            names = "--agent",
            paramLabel = "URL",
            defaultValue = DEFAULT_AGENT,
            description = "msm-agent's health endpoint (default: ${DEFAULT-VALUE})")
    String agent;

    @Option(
            names = "--agent-timeout",
            paramLabel = "MS",
            defaultValue = "1000",
            description =
                    "how long to wait for the agent's answer, in ms (default: ${DEFAULT-VALUE})")
    long agentTimeoutMs;

    @Option(names = "--json", description = "print a JSON object instead of text")
    boolean json;

    @Override
    public Integer call() {
        URI url = agentUrl();
        if (agentTimeoutMs < 1 || agentTimeoutMs > 60_000) {
            throw new ParameterException(
                    spec.commandLine(),
                    "--agent-timeout must be 1..60000 ms, got " + agentTimeoutMs);
        }
        StatusReport r =
                gather(
                        msm.sources().datapaths()::open,
                        msm.sources().host(),
                        msm.sources().agent(),
                        msm.bpffs(),
                        url,
                        Duration.ofMillis(agentTimeoutMs));
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            StatusJson.print(out, r);
        } else {
            StatusText.print(out, r);
        }
        out.flush();
        PrintWriter err = spec.commandLine().getErr();
        if (r.openFailure() != null) {
            err.println("msm: " + r.openFailure().getMessage());
            err.flush();
        }
        return r.exitCode().code();
    }

    private URI agentUrl() {
        try {
            URI u = new URI(agent);
            if ((!"http".equalsIgnoreCase(u.getScheme())
                            && !"https".equalsIgnoreCase(u.getScheme()))
                    || u.getHost() == null) {
                throw new ParameterException(
                        spec.commandLine(),
                        "--agent needs an http:// or https:// URL with a "
                                + "host, e.g. "
                                + DEFAULT_AGENT
                                + "; got '"
                                + agent
                                + "'");
            }
            return u;
        } catch (URISyntaxException e) {
            throw new ParameterException(
                    spec.commandLine(), "--agent is not a URL: " + e.getMessage());
        }
    }

    /** Read what can be read; a failure to open the pins is recorded, not thrown. */
    static StatusReport gather(
            Function<Path, DatapathView> opener,
            Host host,
            AgentProbe probe,
            Path dir,
            URI agentUrl) {
        return gather(opener, host, probe, dir, agentUrl, AGENT_TIMEOUT);
    }

    static StatusReport gather(
            Function<Path, DatapathView> opener,
            Host host,
            AgentProbe probe,
            Path dir,
            URI agentUrl,
            Duration agentTimeout) {
        String kernel = host.kernel();
        PinScan pins = host.scanPins(dir);
        CliFailure failure = null;
        Meta meta = null;
        List<PinnedProgram> programs = List.of();
        List<StatusReport.Hook> hooks = List.of();
        List<MapFill> fills = List.of();
        Counters totals = null;
        long now = host.monotonicNs();
        try (DatapathView view = opener.apply(dir)) {
            meta = view.meta().orElse(null);
            programs = view.programs();
            hooks = hooks(view.attachments(), host);
            fills = view.fills();
            totals = view.totals();
        } catch (CliFailure e) {
            failure = e;
        } catch (BpfException e) {
            failure = Failures.of(e, dir);
        }
        AgentProbe.Health health = probe.probe(agentUrl, agentTimeout);
        AgentProbe.Tree tree =
                health.reachable()
                        ? probe.tree(agentUrl, agentTimeout)
                        : AgentProbe.Tree.notRead("the agent is not answering");
        return new StatusReport(
                kernel,
                dir,
                pins,
                failure,
                meta,
                MsmVersion.shippedObjectSha(),
                programs,
                hooks,
                fills,
                totals,
                agentUrl,
                health,
                now,
                tree);
    }

    /** What msm_attachments records, checked against what the kernel has attached now. */
    static List<StatusReport.Hook> hooks(Map<Integer, Attachment> recorded, Host host) {
        List<StatusReport.Hook> out = new ArrayList<>();
        for (Map.Entry<Integer, Attachment> e : recorded.entrySet()) {
            int ifindex = e.getKey();
            Attachment a = e.getValue();
            Optional<String> live = host.ifname(ifindex);
            String name = live.orElse(a.ifname().isEmpty() ? "?" : a.ifname());
            if (a.has(Attachment.F_TC)) {
                int id =
                        live.isEmpty()
                                ? 0
                                : host.tcProgId(ifindex, a.tcHandle(), a.tcPriority()).orElse(0);
                out.add(
                        new StatusReport.Hook(
                                ifindex,
                                name,
                                "tc",
                                a.tcProgId(),
                                id,
                                state(live, a.tcProgId(), id)));
            }
            if (a.has(Attachment.F_XDP)) {
                boolean generic = a.has(Attachment.F_XDP_GENERIC);
                int id = live.isEmpty() ? 0 : host.xdpProgId(ifindex, generic);
                out.add(
                        new StatusReport.Hook(
                                ifindex,
                                name,
                                generic ? "xdp-generic" : "xdp",
                                a.xdpProgId(),
                                id,
                                state(live, a.xdpProgId(), id)));
            }
        }
        return out;
    }

    private static StatusReport.HookState state(Optional<String> iface, int recorded, int live) {
        if (iface.isEmpty()) {
            return StatusReport.HookState.GONE;
        }
        if (live == 0) {
            return StatusReport.HookState.DETACHED;
        }
        return live == recorded ? StatusReport.HookState.ATTACHED : StatusReport.HookState.REPLACED;
    }
}
