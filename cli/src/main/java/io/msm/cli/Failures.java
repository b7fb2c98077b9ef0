package io.msm.cli;

import io.msm.bpf.BpfException;
import io.msm.bpf.maps.Meta;
import java.nio.file.Path;
import java.util.List;

/**
 * The failures a user meets reading pins, worded once: what failed, why, and what to do. Every
 * reader of the datapath reports through these so the same cause always gives the same message and
 * exit code.
 */
public final class Failures {
    /** What to do about a layout mismatch. */
    static final String LAYOUT_ADVICE =
            "use the msm CLI from the same release as the running msm-agent, "
                    + "or restart msm-agent from this release so it re-creates the pins";

    private Failures() {}

    public static CliFailure notPinned(Path dir) {
        return notPinned(dir, List.of());
    }

    /**
     * Nothing (or an incomplete set) pinned at dir; {@code missing} names the absent pins, if
     * known.
     */
    public static CliFailure notPinned(Path dir, List<String> missing) {
        String msg = "no msm datapath pinned at " + dir + " (is msm-agent running? see msm status)";
        if (!missing.isEmpty()) {
            msg += "\n  missing pins: " + String.join(", ", missing);
        }
        return new CliFailure(ExitCode.NOT_PINNED, msg);
    }

    public static CliFailure permission(Path dir, String detail) {
        // libbpf's message may carry the generic hint already: say it once
        String why = detail.replaceFirst(" — needs root.*$", "");
        return new CliFailure(
                ExitCode.PERMISSION,
                "cannot read the msm datapath pinned at "
                        + dir
                        + ": needs root or CAP_BPF (run with sudo, or grant CAP_BPF)\n  "
                        + why);
    }

    /** msm_meta says another layout version than {@link Meta#LAYOUT_VERSION}. */
    public static CliFailure layoutVersion(Path dir, int pinned) {
        String which = pinned < 0 ? "an unreadable layout version" : "layout version " + pinned;
        return new CliFailure(
                ExitCode.LAYOUT,
                "the msm datapath pinned at "
                        + dir
                        + " has "
                        + which
                        + " but this msm understands layout version "
                        + Meta.LAYOUT_VERSION
                        + ": "
                        + LAYOUT_ADVICE);
    }

    /** A pinned map whose key or value size is not what this release's structs have. */
    public static CliFailure layoutSizes(Path dir, List<String> mismatches, Integer pinnedVersion) {
        String version =
                pinnedVersion == null
                        ? "its layout version is unknown"
                        : "it says layout version " + pinnedVersion;
        return new CliFailure(
                ExitCode.LAYOUT,
                "the msm datapath pinned at "
                        + dir
                        + " has another layout than this msm"
                        + " (layout version "
                        + Meta.LAYOUT_VERSION
                        + ") understands; "
                        + version
                        + ":\n  "
                        + String.join("\n  ", mismatches)
                        + "\n"
                        + LAYOUT_ADVICE);
    }

    /**
     * The failure a BPF error means for a user of the pins at dir. Errors that are not about pins
     * keep their own message (it already says what failed) with exit code 1.
     */
    public static CliFailure of(BpfException e, Path dir) {
        if (e.isNotFound()) {
            return notPinned(dir);
        }
        if (e.isPermissionDenied()) {
            return permission(dir, e.getMessage());
        }
        if (e.errno() == 0 && e.getMessage() != null && e.getMessage().contains("key/value size")) {
            // BpfMap's own check, for a map the up-front layout check did not cover
            return new CliFailure(ExitCode.LAYOUT, e.getMessage() + "\n" + LAYOUT_ADVICE, e);
        }
        return new CliFailure(ExitCode.FAILURE, e.getMessage(), e);
    }
}
