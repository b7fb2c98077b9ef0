package io.msm.cli.flows;

import io.msm.bpf.maps.RtpStats;
import io.msm.cli.render.Table;
import io.msm.cli.render.Units;
import java.io.PrintWriter;
import java.util.List;

/** The human view of flows: one aligned row each, with units. */
public final class FlowTable {
    private FlowTable() {}

    /**
     * @param withRates add PPS and BITRATE columns (while watching)
     */
    public static void print(PrintWriter out, List<FlowRow> rows, long nowNs, boolean withRates) {
        print(out, rows, nowNs, withRates, false);
    }

    /**
     * @param withIdentity add an IDENTITY column: the source's workload identity (when the node
     *     knows identities)
     */
    public static void print(
            PrintWriter out,
            List<FlowRow> rows,
            long nowNs,
            boolean withRates,
            boolean withIdentity) {
        print(out, rows, nowNs, withRates, withIdentity, false);
    }

    /**
     * @param withBackend add a BACKEND column: the backend a game session is pinned to (when the
     *     node has game sessions)
     */
    public static void print(
            PrintWriter out,
            List<FlowRow> rows,
            long nowNs,
            boolean withRates,
            boolean withIdentity,
            boolean withBackend) {
        Table t =
                new Table()
                        .left("PROTO")
                        .left("SRC")
                        .left("DST")
                        .left("CLASS")
                        .right("PACKETS")
                        .right("BYTES");
        if (withRates) {
            t.right("RATE").right("BITRATE");
        }
        t.right("LOST").right("JITTER").right("AGE").right("IDLE").right("FANOUT");
        if (withIdentity) {
            t.left("IDENTITY");
        }
        if (withBackend) {
            t.left("BACKEND");
        }
        for (FlowRow r : rows) {
            String[] cells =
                    new String
                            [(withRates ? 13 : 11)
                                    + (withIdentity ? 1 : 0)
                                    + (withBackend ? 1 : 0)];
            int c = 0;
            cells[c++] = r.key().protoName();
            cells[c++] = r.src();
            cells[c++] = r.dst();
            cells[c++] = r.trafficClass().label();
            cells[c++] = Long.toString(r.flow().packets());
            cells[c++] = Units.bytes(r.flow().bytes());
            if (withRates) {
                cells[c++] = r.hasRates() ? Units.pps(r.pps()) : "-";
                cells[c++] = r.hasRates() ? Units.bitrate(r.bytesPerSec()) : "-";
            }
            if (r.isRtp()) {
                RtpStats s = r.rtp();
                cells[c++] = Units.countOf(s.lost(), s.expected());
                cells[c++] = Units.millis(s.jitterMs());
            } else {
                cells[c++] = "-";
                cells[c++] = "-";
            }
            cells[c++] = Units.duration(r.flow().ageMs(nowNs));
            cells[c++] = Units.duration(r.flow().idleMs(nowNs));
            cells[c++] = r.fanout() == 0 ? "-" : Integer.toString(r.fanout());
            if (withIdentity) {
                cells[c++] = r.identity();
            }
            if (withBackend) {
                cells[c++] = r.backend() == null ? "-" : r.backend();
            }
            t.row(cells);
        }
        t.print(out);
    }
}
