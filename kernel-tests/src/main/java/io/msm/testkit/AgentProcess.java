package io.msm.testkit;

import java.io.File;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * An msm-agent started as a real process inside a test namespace, its log captured to a file. It
 * enters only the network namespace ({@code nsenter --net}): {@code ip netns exec} would also give
 * it a private /sys, and so a private bpffs whose pins die with the process. {@link #kill()} sends
 * SIGKILL to exactly that process (by PID), as a crash would.
 */
public final class AgentProcess implements AutoCloseable {
    private final Process process;
    private final Path log;
    private final Netns ns;
    private final String metrics;

    private AgentProcess(Process process, Path log, Netns ns, String metrics) {
        this.process = process;
        this.log = log;
        this.ns = ns;
        this.metrics = metrics;
    }

    /** The built agent jar (agent/target/msm-agent.jar next to this module). */
    public static Path jar() {
        for (Path p :
                List.of(
                        Path.of("../agent/target/msm-agent.jar"),
                        Path.of("agent/target/msm-agent.jar"))) {
            if (Files.exists(p)) {
                return p.toAbsolutePath().normalize();
            }
        }
        throw new IllegalStateException(
                "agent/target/msm-agent.jar not built: run 'make build' (mvn package)");
    }

    /** bin/msm-agent, the launcher users run (its JVM settings are part of what is tested). */
    public static Path launcher() {
        Path bin = jar().getParent().getParent().getParent().resolve("bin/msm-agent");
        if (!Files.isExecutable(bin)) {
            throw new IllegalStateException(bin + " missing or not executable");
        }
        return bin;
    }

    /**
     * Start msm-agent in ns with the given arguments; metricsHostPort is the --metrics-listen
     * address (inside ns) used for readiness and scrapes.
     */
    public static AgentProcess start(Netns ns, String metricsHostPort, List<String> args)
            throws IOException {
        return start(ns, metricsHostPort, args, List.of());
    }

    /**
     * The capabilities the Helm chart gives the agent (BPF, NET_ADMIN, PERFMON; no SYS_ADMIN), as a
     * command prefix: a root process whose bounding set holds only these has only these after exec.
     */
    public static final List<String> CHART_CAPS =
            List.of(
                    "setpriv",
                    "--bounding-set=-all,+bpf,+net_admin,+perfmon",
                    "--inh-caps=-all",
                    "--");

    /** Start msm-agent in ns under a command prefix such as {@link #CHART_CAPS}. */
    public static AgentProcess start(
            Netns ns, String metricsHostPort, List<String> args, List<String> prefix)
            throws IOException {
        Path log = Files.createTempFile("msm-agent-", ".log");
        List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=/var/run/netns/" + ns.name()));
        cmd.addAll(prefix);
        cmd.addAll(List.of(launcher().toString(), "--metrics-listen", metricsHostPort));
        cmd.addAll(args);
        Process p =
                new ProcessBuilder(cmd)
                        .redirectErrorStream(true)
                        .redirectOutput(log.toFile())
                        .start();
        return new AgentProcess(p, log, ns, metricsHostPort);
    }

    public long pid() {
        return process.pid();
    }

    /** Wait until /readyz answers 200 (or the process died). */
    public AgentProcess awaitReady(long timeoutMs) throws Exception {
        timeoutMs = Timeouts.ms(timeoutMs);
        long end = System.nanoTime() + timeoutMs * 1_000_000;
        while (System.nanoTime() < end) {
            if (!process.isAlive()) {
                throw new IllegalStateException(
                        "msm-agent exited with " + process.exitValue() + ":\n" + log());
            }
            if (get("/readyz").startsWith("200")) {
                return this;
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException(
                "msm-agent not ready after " + timeoutMs + " ms:\n" + log());
    }

    /** "CODE body" of an HTTP GET to the agent (made from inside its namespace). */
    public String get(String path) {
        return ns.call(
                () -> {
                    try {
                        HttpURLConnection c =
                                (HttpURLConnection)
                                        URI.create("http://" + metrics + path)
                                                .toURL()
                                                .openConnection();
                        c.setConnectTimeout(1000);
                        c.setReadTimeout(5000);
                        int code = c.getResponseCode();
                        var in = code < 400 ? c.getInputStream() : c.getErrorStream();
                        String body =
                                in == null
                                        ? ""
                                        : new String(in.readAllBytes(), StandardCharsets.UTF_8);
                        return code + " " + body;
                    } catch (IOException e) {
                        return "000 " + e.getMessage();
                    }
                });
    }

    public PromText scrape() {
        String r = get("/metrics");
        if (!r.startsWith("200 ")) {
            throw new IllegalStateException("/metrics answered " + r);
        }
        return PromText.parse(r.substring(4));
    }

    public String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    public boolean alive() {
        return process.isAlive();
    }

    /** SIGKILL, as a crash: no shutdown hook runs. */
    public void kill() throws InterruptedException {
        Sh.exec("kill", "-9", Long.toString(process.pid()));
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** SIGTERM and wait: the agent's orderly stop. */
    public int stop() throws InterruptedException {
        Sh.exec("kill", "-TERM", Long.toString(process.pid()));
        if (!process.waitFor(15, TimeUnit.SECONDS)) {
            kill();
        }
        return process.exitValue();
    }

    /** Run 'msm-agent args...' to completion (e.g. cleanup) in ns; returns exit code and output. */
    public static Sh.Result run(Netns ns, String... args) {
        return run(ns, List.of(), args);
    }

    /** The same under a command prefix such as {@link #CHART_CAPS}. */
    public static Sh.Result run(Netns ns, List<String> prefix, String... args) {
        List<String> cmd = new ArrayList<>(List.of("nsenter", "--net=/var/run/netns/" + ns.name()));
        cmd.addAll(prefix);
        cmd.add(launcher().toString());
        cmd.addAll(List.of(args));
        return Sh.exec(60, cmd.toArray(new String[0]));
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            stop();
        }
        new File(log.toString()).deleteOnExit();
    }
}
