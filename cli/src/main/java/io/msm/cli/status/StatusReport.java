package io.msm.cli.status;

import io.msm.bpf.maps.Counters;
import io.msm.bpf.maps.Meta;
import io.msm.cli.CliFailure;
import io.msm.cli.ExitCode;
import io.msm.cli.source.AgentProbe;
import io.msm.cli.source.MapFill;
import io.msm.cli.source.PinScan;
import io.msm.cli.source.PinnedProgram;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Everything {@code msm status} found, including what it could not read.
 *
 * @param openFailure why the pins could not be opened (then meta .. totals are empty)
 * @param meta msm_meta, null when not stamped or not readable
 * @param shippedSha SHA-256 of the datapath object this msm ships (null if absent)
 * @param nowNs CLOCK_MONOTONIC when the report was made
 * @param tree the relay tree edges the agent reports (/tree), or why they are not known
 */
public record StatusReport(
        String kernel,
        Path dir,
        PinScan pins,
        CliFailure openFailure,
        Meta meta,
        String shippedSha,
        List<PinnedProgram> programs,
        List<Hook> hooks,
        List<MapFill> fills,
        Counters totals,
        URI agentUrl,
        AgentProbe.Health agent,
        long nowNs,
        AgentProbe.Tree tree) {

    /** State of one hook msm recorded in msm_attachments, checked against the kernel. */
    public enum HookState {
        /** the recorded program is attached */
        ATTACHED,
        /** another program sits where msm's was */
        REPLACED,
        /** nothing is attached there any more */
        DETACHED,
        /** the interface no longer exists */
        GONE;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }

        public boolean healthy() {
            return this == ATTACHED;
        }
    }

    /**
     * One program msm recorded as attached on an interface.
     *
     * @param kind "tc" or "xdp" / "xdp-generic"
     * @param recordedId program id msm_attachments holds
     * @param liveId program id the kernel reports there now (0: none)
     */
    public record Hook(
            int ifindex, String ifname, String kind, int recordedId, int liveId, HookState state) {}

    /** The problems found, most serious first. */
    public List<String> problems() {
        List<String> p = new ArrayList<>();
        if (openFailure != null) {
            p.add(openFailure.getMessage());
        }
        for (Hook h : hooks) {
            if (!h.state().healthy()) {
                p.add(
                        h.kind()
                                + " program "
                                + h.recordedId()
                                + " on "
                                + h.ifname()
                                + " (ifindex "
                                + h.ifindex()
                                + ") is "
                                + h.state().label()
                                + (h.liveId() != 0 ? " (now program " + h.liveId() + ")" : "")
                                + ": restart msm-agent to re-attach");
            }
        }
        if (!agent.reachable()) {
            p.add(
                    "msm-agent is not answering at "
                            + agentUrl
                            + ": "
                            + agent.detail()
                            + " (forwarding goes on; control and new fan-out groups need the agent)");
        }
        return p;
    }

    /** The exit code: the most serious problem decides. */
    public ExitCode exitCode() {
        if (openFailure != null) {
            return openFailure.exitCode();
        }
        if (hooks.stream().anyMatch(h -> !h.state().healthy())) {
            return ExitCode.DETACHED;
        }
        if (!agent.reachable()) {
            return ExitCode.AGENT_DOWN;
        }
        return ExitCode.OK;
    }

    public boolean sameObjectAsShipped() {
        return meta != null && shippedSha != null && shippedSha.equals(meta.shaHex());
    }
}
