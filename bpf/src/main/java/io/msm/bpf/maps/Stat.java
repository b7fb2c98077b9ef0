package io.msm.bpf.maps;

import java.util.Locale;

/** enum msm_stat: datapath events counted per CPU in msm_counters. */
public enum Stat {
    TC_PACKETS(0, "packets seen by the TC classifier"),
    NOT_IP(1, "non-IP frames passed untouched"),
    MALFORMED(2, "truncated or inconsistent headers passed untouched"),
    FRAGMENT(3, "non-first IP fragments passed untouched"),
    FLOW_NEW(4, "flow table entries created"),
    FLOW_FAIL(5, "flow table insert failures"),
    FANOUT_PACKETS(6, "upstream packets that hit a fan-out group"),
    FANOUT_COPIES(7, "copies sent to subscribers"),
    FANOUT_ERRORS(8, "failed copy rewrites or redirects"),
    FANOUT_LOCAL(9, "originals also delivered to the local stack"),
    FANOUT_EMPTY(10, "packets for a fan-out group without subscribers"),
    XDP_PACKETS(11, "packets seen by the XDP program"),
    XDP_DENY(12, "packets dropped by the source deny-list"),
    XDP_RATELIMIT(13, "packets dropped by the new-flow rate limit"),
    XDP_NEWFLOW(14, "packets of flows not yet in the flow table"),
    STRICT_DROP(15, "fan-out packets from a source other than the negotiated one"),
    XDP_V6_EXT(
            16,
            "IPv6 packets dropped by XDP: extension-header chain longer than the parser follows"),
    IDENT_UNKNOWN(
            17,
            "fan-out packets refused: the sender has no workload identity and the group admits none"),
    IDENT_DENIED(18, "fan-out packets refused: the sender's workload identity is not admitted"),
    IDENT_LOCAL(
            19,
            "of the packets refused by identity, those handed to the local stack (not dropped)"),
    GAME_PACKETS(20, "packets NATed for a game service (both ways)"),
    GAME_DROPS(21, "game service packets dropped (no backend, unknown token, rewrite error)"),
    REWRITE_DROP(
            23,
            "rewriting groups' packets dropped: sender reports of a non-current source, standby"
                    + " packets while the active source is live");

    /** MSM_STAT_MAX: slots in msm_counters.stat (some spare). */
    public static final int SLOTS = 24;

    private final int id;
    private final String help;

    Stat(int id, String help) {
        this.id = id;
        this.help = help;
    }

    public int id() {
        return id;
    }

    public String help() {
        return help;
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
