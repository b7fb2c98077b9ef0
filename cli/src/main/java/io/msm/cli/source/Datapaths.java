package io.msm.cli.source;

import java.nio.file.Path;

/**
 * Opens the datapath pinned under a bpffs directory. Failures are {@link io.msm.cli.CliFailure}s
 * (not pinned, permission, layout) or {@link io.msm.bpf.BpfException}s that {@link
 * io.msm.cli.Failures#of} classifies.
 */
@FunctionalInterface
public interface Datapaths {
    DatapathView open(Path dir);
}
