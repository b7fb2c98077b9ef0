package io.msm.bench.game;

import io.msm.testkit.Sh;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Who used CPU 1 during a trial, by sampling it: {@code perf record -e cpu-clock -c P -C 1
 * --kernel-callchains}, one sample every P ns of CPU 1's clock whether it is busy or idle, each
 * with its kernel call chain. Every sample falls in exactly one class:
 *
 * <ul>
 *   <li>{@code net}: the chain holds {@code net_rx_action} or {@code net_tx_action} — network
 *       softirq work, in whatever task's context it ran (ksoftirqd, an interrupted process, the
 *       idle task): the node's receive path, msm's TC program and its redirect;
 *   <li>{@code process}: a thread of the proxy under test, outside network softirq (nginx's worker:
 *       its own code and its system calls);
 *   <li>{@code idle}: the idle task;
 *   <li>{@code other}: anything else — other jobs sharing the machine.
 * </ul>
 *
 * A system's forwarding CPU is net + process, the same rule for both systems; unlike the CPU's busy
 * time it leaves out other programs that run on the core, and unlike tick-sampled task times it
 * counts softirq work run inside the proxy's context once. Sampling error: ±1/sqrt(samples).
 */
final class Cpu1Profile {
    static final long PERIOD_NS = 250_000; // 4000 samples per second of CPU 1

    record Split(long net, long process, long idle, long other) {
        long total() {
            return net + process + idle + other;
        }

        double seconds(long samples) {
            return samples * PERIOD_NS / 1e9;
        }

        double forwardingS() {
            return seconds(net + process);
        }
    }

    private final Process perf;
    private final Path data;
    private final OutputStream ctl;
    private final InputStream ack;

    private Cpu1Profile(Process perf, Path data, OutputStream ctl, InputStream ack) {
        this.perf = perf;
        this.data = data;
        this.ctl = ctl;
        this.ack = ack;
    }

    static boolean available() {
        return Sh.have("perf") && Sh.have("mkfifo");
    }

    /**
     * Start perf on cpu (perf itself on recorderCpu), its events disabled; {@link #enable} and
     * {@link #disable} bracket what is measured, through perf's control FIFO, so the window is
     * exact however long perf took to start.
     */
    static Cpu1Profile start(int cpu, int recorderCpu, Path dir) throws Exception {
        Path data = dir.resolve("perf.data");
        Path ctl = dir.resolve("ctl");
        Path ack = dir.resolve("ack");
        for (Path f : List.of(ctl, ack)) {
            Sh.Result r = Sh.exec("mkfifo", f.toString());
            if (r.exit() != 0) {
                throw new IOException("mkfifo " + f + ": " + r.err().trim());
            }
        }
        Process p =
                new ProcessBuilder(
                                "taskset",
                                "-c",
                                Integer.toString(recorderCpu),
                                "perf",
                                "record",
                                "-q",
                                "-e",
                                "cpu-clock",
                                "-c",
                                Long.toString(PERIOD_NS),
                                "-C",
                                Integer.toString(cpu),
                                "-g",
                                "--kernel-callchains",
                                "-D",
                                "-1",
                                "--control",
                                "fifo:" + ctl + "," + ack,
                                "-o",
                                data.toString())
                        .redirectErrorStream(true)
                        .redirectOutput(dir.resolve("perf.log").toFile())
                        .start();
        // opening a FIFO blocks until perf opens its end: bounded
        ExecutorService ex = Executors.newSingleThreadExecutor();
        try {
            OutputStream c = ex.submit(() -> Files.newOutputStream(ctl)).get(30, TimeUnit.SECONDS);
            InputStream a = ex.submit(() -> Files.newInputStream(ack)).get(30, TimeUnit.SECONDS);
            return new Cpu1Profile(p, data, c, a);
        } catch (TimeoutException e) {
            p.destroyForcibly();
            throw new IOException(
                    "perf record did not open its control FIFO: "
                            + Files.readString(dir.resolve("perf.log")));
        } finally {
            ex.shutdownNow();
        }
    }

    private void command(String c) throws IOException {
        ctl.write((c + "\n").getBytes(StandardCharsets.US_ASCII));
        ctl.flush();
        byte[] b = new byte[16];
        if (ack.read(b) <= 0) {
            throw new IOException("perf did not acknowledge " + c);
        }
    }

    void enable() throws IOException {
        command("enable");
    }

    void disable() throws IOException {
        command("disable");
    }

    /** Stop perf (SIGINT: it writes its data and exits); for cleanup too, so idempotent. */
    void stop() throws IOException, InterruptedException {
        ctl.close();
        ack.close();
        if (perf.isAlive()) {
            Sh.exec("kill", "-INT", Long.toString(perf.pid()));
        }
        if (!perf.waitFor(60, TimeUnit.SECONDS)) {
            perf.destroyForcibly();
            throw new IOException("perf record did not stop");
        }
    }

    /** Stop the recording and classify its samples. */
    Split finish(Set<Long> processPids) throws IOException, InterruptedException {
        stop();
        Sh.Result r = Sh.exec(120, "perf", "script", "-i", data.toString(), "-F", "pid,ip,sym");
        if (r.exit() != 0) {
            throw new IOException("perf script failed: " + r.err().trim());
        }
        return classify(r.out(), processPids);
    }

    /** Classify the samples of {@code perf script -F pid,ip,sym} output. */
    static Split classify(String script, Set<Long> processPids) {
        long[] n = new long[4]; // net, process, idle, other
        long pid = -1;
        boolean isNet = false;
        // a sample: a line with its pid, then its call chain, one frame a line, tab-indented
        for (String line : (script + "\n-1\n").split("\n")) {
            if (line.startsWith("\t")) {
                String t = line.trim();
                isNet |= t.endsWith(" net_rx_action") || t.endsWith(" net_tx_action");
                continue;
            }
            String t = line.trim();
            if (t.isEmpty()) {
                continue;
            }
            if (pid >= 0) {
                n[isNet ? 0 : processPids.contains(pid) ? 1 : pid == 0 ? 2 : 3]++;
            }
            pid = Long.parseLong(t.split("\\s+")[0]);
            isNet = false;
        }
        long net = n[0];
        long process = n[1];
        long idle = n[2];
        long other = n[3];
        return new Split(net, process, idle, other);
    }
}
