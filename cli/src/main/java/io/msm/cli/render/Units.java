package io.msm.cli.render;

/**
 * Numbers for people: decimal SI prefixes (network convention: 1 kB = 1000 B, 1 kbit/s = 1000
 * bit/s), durations from ms to days.
 */
public final class Units {
    private Units() {}

    /** 999 B, 1.2 kB, 34.5 MB, 1.0 GB */
    public static String bytes(long b) {
        return scaled((double) b, "B");
    }

    /** 12 pps, 1.5 kpps */
    public static String pps(double rate) {
        return scaled(rate, "pps");
    }

    /** From bytes per second: 640 bit/s, 64.0 kbit/s, 2.5 Mbit/s */
    public static String bitrate(double bytesPerSecond) {
        double bits = bytesPerSecond * 8;
        String s = scaled(bits, "bit/s");
        return s;
    }

    private static String scaled(double v, String unit) {
        String[] prefixes = {"", "k", "M", "G", "T", "P"};
        double a = Math.abs(v);
        int i = 0;
        while (a >= 999.95 && i < prefixes.length - 1) {
            a /= 1000;
            v /= 1000;
            i++;
        }
        if (i == 0) {
            return Math.round(v) + " " + unit;
        }
        return fixed(v, 1) + " " + prefixes[i] + unit;
    }

    /** 0 ms, 850 ms, 1.2 s, 59.9 s, 3m05s, 2h03m, 4d02h */
    public static String duration(long ms) {
        if (ms < 0) {
            return "-";
        }
        if (ms < 1000) {
            return ms + " ms";
        }
        if (ms < 60_000) {
            return ms / 1000 + "." + (ms % 1000) / 100 + " s"; // truncated: 59.99 s is not yet 1m
        }
        long s = ms / 1000;
        if (s < 3600) {
            return s / 60 + "m" + two(s % 60) + "s";
        }
        if (s < 86_400) {
            return s / 3600 + "h" + two((s % 3600) / 60) + "m";
        }
        return s / 86_400 + "d" + two((s % 86_400) / 3600) + "h";
    }

    /** 0.00 ms, 12.35 ms */
    public static String millis(double ms) {
        return fixed(ms, 2) + " ms";
    }

    /** 3 (0.25%) — a count and its share of a total. */
    public static String countOf(long n, long total) {
        if (total <= 0) {
            return Long.toString(n);
        }
        return n + " (" + fixed(100.0 * n / total, 2) + "%)";
    }

    /** 12.5% */
    public static String percent(double p) {
        return fixed(p, 1) + "%";
    }

    private static String two(long v) {
        return v < 10 ? "0" + v : Long.toString(v);
    }

    /**
     * v rounded half-up to the given decimals, without String.format: a table of 100,000 flows
     * formats half a million numbers, and format() is slow.
     */
    public static String fixed(double v, int decimals) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return Double.toString(v);
        }
        long scale =
                decimals == 1
                        ? 10
                        : decimals == 2
                                ? 100
                                : decimals == 3 ? 1000 : (long) Math.pow(10, decimals);
        long r = Math.round(Math.abs(v) * scale);
        StringBuilder sb = new StringBuilder(24);
        if (v < 0 && r != 0) {
            sb.append('-');
        }
        sb.append(r / scale);
        if (decimals > 0) {
            sb.append('.');
            String frac = Long.toString(r % scale);
            for (int i = frac.length(); i < decimals; i++) {
                sb.append('0');
            }
            sb.append(frac);
        }
        return sb.toString();
    }
}
