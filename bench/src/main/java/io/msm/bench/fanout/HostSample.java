package io.msm.bench.fanout;

import java.io.File;
import java.util.List;

/**
 * What the host's CPUs and network stack did up to one moment; two samples bracket a trial.
 *
 * <p>CPU busy time is wall time minus idle time, and the idle time in /proc/stat is exact on this
 * tickless kernel (it comes from the nohz idle accounting and includes an idle period still in
 * progress; it is printed in 10 ms units, so a 1 s window is good to 1-2 %). The
 * user/system/softirq split of /proc/stat is sampled by the timer tick (250 Hz, no IRQ time
 * accounting) and only good for shares at saturation. Process time comes from
 * /proc/PID/task/*&#47;schedstat (ns, exact; it includes softirq work that ran while the process
 * was on the CPU).
 *
 * @param stat per CPU: user, nice, system, idle, iowait, irq, softirq, steal (ns)
 * @param softnet per CPU: processed, dropped (backlog full), time_squeeze
 */
public record HostSample(
        long wallNs, long[] idleNs, long[][] stat, long[][] softnet, double load1) {
    public static final int USER = 0,
            NICE = 1,
            SYSTEM = 2,
            IDLE = 3,
            IOWAIT = 4,
            IRQ = 5,
            SOFTIRQ = 6,
            STEAL = 7;
    private static final long TICK_NS = 10_000_000L; // USER_HZ = 100

    /** CPUs of the machine (not of this process, which taskset may confine to one). */
    public static int cpus() {
        int n = 0;
        for (String line : Procfs.read("/proc/stat").split("\n")) {
            if (line.startsWith("cpu") && !line.startsWith("cpu ")) {
                n++;
            }
        }
        return Math.max(1, n);
    }

    public static HostSample take() {
        int n = cpus();
        long wall = System.nanoTime();
        long[][] stat = procStat(n);
        long[] idle = new long[n];
        for (int c = 0; c < n; c++) {
            idle[c] = stat[c][IDLE] + stat[c][IOWAIT];
        }
        return new HostSample(wall, idle, stat, softnet(n), loadAverage());
    }

    static long[][] procStat(int n) {
        long[][] out = new long[n][8];
        for (String line : Procfs.read("/proc/stat").split("\n")) {
            if (!line.startsWith("cpu") || line.startsWith("cpu ")) {
                continue;
            }
            String[] f = line.trim().split("\\s+");
            int c = Integer.parseInt(f[0].substring(3));
            if (c >= n) {
                continue;
            }
            for (int i = 0; i < 8 && i + 1 < f.length; i++) {
                out[c][i] = Long.parseLong(f[i + 1]) * TICK_NS;
            }
        }
        return out;
    }

    static long[][] softnet(int n) {
        long[][] out = new long[n][3];
        String[] lines = Procfs.read("/proc/net/softnet_stat").split("\n");
        for (int i = 0; i < lines.length; i++) {
            String[] f = lines[i].trim().split("\\s+");
            if (f.length < 3) {
                continue;
            }
            // the CPU index is the 13th column on current kernels; else the line number
            int c = f.length >= 13 ? Integer.parseInt(f[12], 16) : i;
            if (c < n) {
                for (int k = 0; k < 3; k++) {
                    out[c][k] = Long.parseLong(f[k], 16);
                }
            }
        }
        return out;
    }

    public static double loadAverage() {
        return Double.parseDouble(Procfs.read("/proc/loadavg").trim().split("\\s+")[0]);
    }

    /** CPU time (ns) of every thread of the given processes, so far. */
    public static long processNs(List<Long> pids) {
        long t = 0;
        for (long pid : pids) {
            String[] tasks = new File("/proc/" + pid + "/task").list();
            if (tasks == null) {
                continue;
            }
            for (String tid : tasks) {
                String s = Procfs.readOr("/proc/" + pid + "/task/" + tid + "/schedstat", "0");
                t += Long.parseLong(s.trim().split("\\s+")[0]);
            }
        }
        return t;
    }

    long wallSince(HostSample a) {
        return wallNs - a.wallNs;
    }

    /** Busy ns of cpu since a: wall time minus idle time. */
    public long busyNs(HostSample a, int cpu) {
        return Math.max(0, wallSince(a) - (idleNs[cpu] - a.idleNs[cpu]));
    }

    public long statNs(HostSample a, int cpu, int field) {
        return stat[cpu][field] - a.stat[cpu][field];
    }

    public long softnetDrops(HostSample a, int cpu) {
        return softnet[cpu][1] - a.softnet[cpu][1];
    }

    long softnetSqueezed(HostSample a, int cpu) {
        return softnet[cpu][2] - a.softnet[cpu][2];
    }
}
