package io.msm.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code msm version}: needs no pins, so it works anywhere. */
@Command(
        name = "version",
        mixinStandardHelpOptions = true,
        versionProvider = MsmVersion.class,
        description = {
            "Print the msm release, the datapath layout version it reads and the SHA-256 of the "
                    + "datapath object it ships (compare with 'msm status')."
        })
public final class VersionCommand implements Runnable {
    @Spec CommandSpec spec;

    @Override
    public void run() {
        for (String line : new MsmVersion().getVersion()) {
            spec.commandLine().getOut().println(line);
        }
    }
}
