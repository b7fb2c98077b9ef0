package io.msm.cli.source;

/** Everything the commands read from, bundled so tests can swap it whole. */
public record Sources(Datapaths datapaths, Host host, AgentProbe agent) {
    /** The real machine: pinned BPF maps, netlink, HTTP. */
    public static Sources live() {
        return new Sources(PinnedDatapath::open, new LiveHost(), new HttpAgentProbe());
    }
}
