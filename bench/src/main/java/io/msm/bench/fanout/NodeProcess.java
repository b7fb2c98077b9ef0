package io.msm.bench.fanout;

import io.msm.testkit.Sh;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A process of a system under test: started pinned to the node's CPU (taskset) inside the node's
 * network namespace (nsenter --net, which keeps the host's /sys and so its bpffs), its output in a
 * log file. Stopped by its own PID: SIGTERM, then SIGKILL after 5 s (the whole cleanup must fit in
 * the time timeout(1) gives between its TERM and its KILL).
 */
final class NodeProcess {
    private final Process process;
    private final Path log;
    private final String what;

    private NodeProcess(Process process, Path log, String what) {
        this.process = process;
        this.log = log;
        this.what = what;
    }

    static NodeProcess start(Topology topo, String what, List<String> command) throws IOException {
        Path log = Files.createTempFile("msm-bench-" + what + "-", ".log");
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                "taskset",
                                "-c",
                                Integer.toString(Topology.NODE_CPU),
                                "nsenter",
                                "--net=/var/run/netns/" + topo.node.name()));
        cmd.addAll(command);
        Process p =
                new ProcessBuilder(cmd)
                        .redirectErrorStream(true)
                        .redirectOutput(log.toFile())
                        .start();
        return new NodeProcess(p, log, what);
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    String log() {
        try {
            String s = Files.readString(log);
            return s.length() > 4000 ? "..." + s.substring(s.length() - 4000) : s;
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** Throw with the log if the process has exited. */
    void checkAlive() {
        if (!process.isAlive()) {
            throw new IllegalStateException(
                    what + " exited with " + process.exitValue() + ":\n" + log());
        }
    }

    void stop() {
        if (process.isAlive()) {
            Sh.exec("kill", "-TERM", Long.toString(process.pid()));
            try {
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    Sh.exec("kill", "-KILL", Long.toString(process.pid()));
                    process.waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            Files.deleteIfExists(log);
        } catch (IOException ignored) {
            // a temp file
        }
    }
}
