package io.msm.cli.render;

import java.util.Locale;

/**
 * Numbers for people: decimal SI prefixes (network convention: 1 kB =
 * 1000 B, 1 kbit/s = 1000 bit/s), durations from ms to days.
 */
public final class Units {
    private Units() {
    }

    /** 999 B, 1.2 kB, 34.5 MB, 1.0 GB */
    public static String bytes(long b) {
        return scaled(b, "B");
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
        return String.format(Locale.ROOT, "%.1f %s%s", v, prefixes[i], unit);
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
            return String.format(Locale.ROOT, "%.1f s", Math.floor(ms / 100.0) / 10);
        }
        long s = ms / 1000;
        if (s < 3600) {
            return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        }
        if (s < 86_400) {
            return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
        }
        return String.format(Locale.ROOT, "%dd%02dh", s / 86_400, (s % 86_400) / 3600);
    }

    /** 0.00 ms, 12.35 ms */
    public static String millis(double ms) {
        return String.format(Locale.ROOT, "%.2f ms", ms);
    }

    /** 3 (0.25%) — a count and its share of a total. */
    public static String countOf(long n, long total) {
        if (total <= 0) {
            return Long.toString(n);
        }
        return String.format(Locale.ROOT, "%d (%.2f%%)", n, 100.0 * n / total);
    }

    /** 12.5% */
    public static String percent(double p) {
        return String.format(Locale.ROOT, "%.1f%%", p);
    }
}
