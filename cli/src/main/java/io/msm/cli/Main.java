package io.msm.cli;

import io.msm.bpf.BpfException;
import io.msm.cli.source.Sources;
import java.io.BufferedWriter;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine;

/** Entry point of {@code msm} (bin/msm runs cli/target/msm.jar). */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        // a large buffer: 'msm flows --json' writes tens of MB; System.out would flush every few kB
        PrintWriter out =
                new PrintWriter(
                        new BufferedWriter(
                                new OutputStreamWriter(
                                        new FileOutputStream(FileDescriptor.out),
                                        StandardCharsets.UTF_8),
                                1 << 16));
        PrintWriter err =
                new PrintWriter(
                        new OutputStreamWriter(
                                new FileOutputStream(FileDescriptor.err), StandardCharsets.UTF_8),
                        true);
        int code = run(Sources.live(), out, err, args);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /** Run one command line against sources; returns the exit code. */
    public static int run(Sources sources, PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = commandLine(sources);
        cl.setOut(out);
        cl.setErr(err);
        try {
            return cl.execute(args);
        } finally {
            out.flush();
            err.flush();
        }
    }

    /** The command tree with msm's error handling and exit-code help on every command. */
    public static CommandLine commandLine(Sources sources) {
        MsmCommand root = new MsmCommand(sources);
        CommandLine cl = new CommandLine(root);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        Map<String, String> codes = new LinkedHashMap<>();
        for (ExitCode c : ExitCode.values()) {
            codes.put(Integer.toString(c.code()), c.meaning());
        }
        exitCodeHelp(cl, codes);
        cl.setExecutionExceptionHandler(
                (ex, cmd, parsed) -> {
                    CliFailure f = failure(ex, root);
                    cmd.getErr().println("msm: " + f.getMessage());
                    if (System.getenv("MSM_DEBUG") != null && f.getCause() != null) {
                        f.getCause().printStackTrace(cmd.getErr());
                    }
                    cmd.getErr().flush();
                    return f.exitCode().code();
                });
        return cl;
    }

    private static void exitCodeHelp(CommandLine cl, Map<String, String> codes) {
        cl.getCommandSpec()
                .usageMessage()
                .exitCodeListHeading("%nExit codes:%n")
                .exitCodeList(codes);
        for (CommandLine sub : cl.getSubcommands().values()) {
            exitCodeHelp(sub, codes);
        }
    }

    /** What an exception means for the user, as message and exit code. */
    static CliFailure failure(Exception ex, MsmCommand root) {
        if (ex instanceof CliFailure f) {
            return f;
        }
        if (ex instanceof BpfException b) {
            return Failures.of(b, root.bpffs());
        }
        if (ex instanceof UncheckedIOException io) {
            return new CliFailure(
                    ExitCode.FAILURE, "cannot write the output: " + io.getCause().getMessage(), ex);
        }
        return new CliFailure(
                ExitCode.FAILURE,
                "internal error: "
                        + ex
                        + " (set MSM_DEBUG=1 for the stack trace, and please report it)",
                ex);
    }
}
