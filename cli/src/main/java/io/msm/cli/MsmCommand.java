package io.msm.cli;

import io.msm.cli.calls.CallsCommand;
import io.msm.cli.fanout.FanoutCommand;
import io.msm.cli.flows.FlowsCommand;
import io.msm.cli.games.GamesCommand;
import io.msm.cli.source.DatapathView;
import io.msm.cli.source.Sources;
import io.msm.cli.status.StatusCommand;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/** {@code msm}: the root command; its subcommands read the pinned datapath. */
@Command(
        name = "msm",
        mixinStandardHelpOptions = true,
        versionProvider = MsmVersion.class,
        description = {
            "Inspect the msm datapath on this node: flows, fan-out groups, SIP calls, status.",
            "Reads the BPF maps msm-agent pinned under --bpffs directly, so it works while the agent is down."
        },
        subcommands = {
            FlowsCommand.class,
            FanoutCommand.class,
            GamesCommand.class,
            CallsCommand.class,
            StatusCommand.class,
            VersionCommand.class,
            HelpCommand.class
        },
        footerHeading = "%nExamples:%n",
        footer = {
            "  msm flows --class rtp --sort loss --limit 20",
            "  msm flows --watch",
            "  msm fanout --json | jq '.[].subscribers | length'",
            "  msm calls",
            "  msm status"
        })
public final class MsmCommand implements Runnable {
    public static final String DEFAULT_BPFFS = "/sys/fs/bpf/msm";

    private final Sources sources;

    @Spec CommandSpec spec;

    @Option(
            names = "--bpffs",
            paramLabel = "DIR",
            defaultValue = DEFAULT_BPFFS,
            scope = ScopeType.INHERIT,
            description =
                    "bpffs directory msm-agent pinned the datapath in (default: ${DEFAULT-VALUE})")
    Path bpffs;

    public MsmCommand(Sources sources) {
        this.sources = sources;
    }

    public Sources sources() {
        return sources;
    }

    public Path bpffs() {
        return bpffs == null ? Path.of(DEFAULT_BPFFS) : bpffs;
    }

    /** Open the pinned datapath (throws a {@link CliFailure} saying why not). */
    public DatapathView open() {
        return sources.datapaths().open(bpffs());
    }

    @Override
    public void run() {
        throw new ParameterException(
                spec.commandLine(),
                "missing command: one of flows, fanout, calls, status, version, help");
    }
}
