package io.msm.bpf.maps;

import java.util.Collection;
import java.util.List;

/**
 * The msm_ports table: one byte of flags per port number telling the classifier what the port
 * means. Built from the agent's control-port lists and game port ranges.
 */
public final class PortTable {
    public static final int SIZE = 65536;
    public static final int F_CONTROL_TCP = 1;
    public static final int F_CONTROL_UDP = 2;
    public static final int F_GAME_UDP = 4;

    /** RTSP (554, 8554) on TCP; SIP (5060) on TCP and UDP. */
    public static final List<Integer> DEFAULT_CONTROL_TCP = List.of(554, 8554, 5060);

    public static final List<Integer> DEFAULT_CONTROL_UDP = List.of(5060);

    /** An inclusive port range. */
    public record Range(int lo, int hi) {
        public Range {
            if (lo < 1 || hi > 65535 || lo > hi) {
                throw new IllegalArgumentException(
                        "bad port range " + lo + "-" + hi + " (1..65535, lo <= hi)");
            }
        }

        /** "27015-27030" or "3074" */
        public static Range parse(String s) {
            String t = s.trim();
            int dash = t.indexOf('-');
            try {
                if (dash < 0) {
                    int p = Integer.parseInt(t);
                    return new Range(p, p);
                }
                return new Range(
                        Integer.parseInt(t.substring(0, dash).trim()),
                        Integer.parseInt(t.substring(dash + 1).trim()));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(
                        "bad port range '" + s + "' (expected N or LO-HI)");
            }
        }

        @Override
        public String toString() {
            return lo == hi ? Integer.toString(lo) : lo + "-" + hi;
        }
    }

    private PortTable() {}

    public static int[] build(
            Collection<Integer> controlTcp,
            Collection<Integer> controlUdp,
            Collection<Range> gameUdp) {
        int[] t = new int[SIZE];
        for (int p : controlTcp) {
            t[checkPort(p)] |= F_CONTROL_TCP;
        }
        for (int p : controlUdp) {
            t[checkPort(p)] |= F_CONTROL_UDP;
        }
        for (Range r : gameUdp) {
            for (int p = r.lo(); p <= r.hi(); p++) {
                t[p] |= F_GAME_UDP;
            }
        }
        return t;
    }

    public static int[] defaults() {
        return build(DEFAULT_CONTROL_TCP, DEFAULT_CONTROL_UDP, List.of());
    }

    private static int checkPort(int p) {
        if (p < 1 || p > 65535) {
            throw new IllegalArgumentException("port must be 1..65535, got " + p);
        }
        return p;
    }
}
