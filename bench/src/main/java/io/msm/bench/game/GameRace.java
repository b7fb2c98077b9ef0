package io.msm.bench.game;

import io.msm.agent.game.GameTables;
import io.msm.bench.fanout.BenchSink;
import io.msm.bench.fanout.Cleanup;
import io.msm.bench.fanout.HostSample;
import io.msm.bench.fanout.Sender;
import io.msm.bench.fanout.Topology;
import io.msm.bench.report.Chart;
import io.msm.bench.report.Csv;
import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.attach.TcIngress;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.PortTable;
import io.msm.testkit.Sh;
import java.awt.Color;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Game traffic (issue 18): UDP packets per second and CPU per packet through msm's kernel game path
 * against nginx's {@code stream} UDP proxy, for the same client sessions, side by side in one run.
 *
 * <pre>
 *  [snd] s0 10.79.0.2:20000+i ── n-in 10.79.0.1:7777 [node] n-r{k} ── r{k} 10.80.0.(4k+2):9000 [rcv]
 *    CPU 0: rtpsend, S source ports     CPU 1: the node's work (RPS on n-in; nginx's worker)
 * </pre>
 *
 * The fan-out benchmark's topology, sender and sink: rtpsend offers fixed-size UDP datagrams from S
 * source ports in turn (S client sessions) to the service address on the node; the node forwards
 * each session to one of K backends; msm_bench_sink on every backend's veth counts what arrives
 * (and drops it). Systems:
 *
 * <ul>
 *   <li>{@code msm}: the datapath as on main with {@code F_GAME}, TC on n-in, one game service
 *       (client address:port sessions, equal weights over the K backends, Maglev slots, NAT to the
 *       backend), written by {@link GameTables} — as kernel-tests' GameNamespaceTest drives it;
 *   <li>{@code nginx}: Debian's nginx with libnginx-mod-stream in the node namespace, one worker
 *       pinned to CPU 1 (the one core msm's softirq work gets), {@code hash
 *       "$remote_addr:$remote_port" consistent} over the same K backends (the same session key as
 *       msm's), {@code listen ... udp reuseport}, no {@code proxy_responses} limit and a {@code
 *       proxy_timeout} longer than the run: a game session's datagrams reuse one upstream socket,
 *       nginx's cheapest path (with {@code proxy_responses 0/1} each datagram or exchange would be
 *       a new session and a new upstream socket); {@code multi_accept on} (every waiting datagram
 *       read per wake-up) and the worker at SCHED_FIFO, so other jobs on the shared machine do not
 *       delay it (msm's softirq work preempts them as well).
 * </ul>
 *
 * Per trial: a warm-up that opens every session, then D seconds at the given rate (0: flat out).
 * Delivered = datagrams counted by the sinks within the trial window (the backends' receive work
 * runs on CPU 0 with the sender, RPS). CPU: all the node's work runs on CPU 1 for both systems (RPS
 * on n-in, nginx's worker pinned there); {@link Cpu1Profile} samples CPU 1 with perf and counts as
 * forwarding the network softirq work (any context) plus the proxy's threads — the same rule for
 * both, and other jobs on the shared machine are left out. Packets per CPU-second = delivered ÷
 * that time. CPU 1's busy time (wall − idle) is kept in the CSV: on a quiet machine it is the same
 * figure plus the core's other work.
 */
public final class GameRace {
    static final int SVC_PORT = 7777;
    static final int BACKEND_PORT = 9000;
    static final int CLIENT_PORT = 20000;

    /**
     * Datagrams reach the node in bursts of this many at a paced rate, as a NIC's interrupt
     * coalescing hands them over (one wake-up of the node's CPU per burst, not per datagram, for
     * both systems).
     */
    static final int BURST = 16;

    static final String NGINX_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so";

    record Result(
            String system,
            int sessions,
            int backends,
            double rate,
            double seconds,
            long offered,
            long sendErrors,
            long delivered,
            double busyS,
            double userS,
            double sysS,
            double softirqS,
            double processS,
            double netS,
            double procSampledS,
            double otherS,
            double sampledS,
            long softnetDrops,
            double load,
            double minShare,
            double maxShare,
            String note) {
        double deliveredPps() {
            return delivered / seconds;
        }

        double offeredPps() {
            return offered / seconds;
        }

        /** CPU 1 time spent forwarding: sampled network softirq + proxy process, else busy. */
        double forwardingS() {
            return Double.isNaN(netS) ? busyS : netS + procSampledS;
        }

        double perCpuSecond() {
            return forwardingS() > 0 ? delivered / forwardingS() : Double.NaN;
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            o.put(args[i], args[i + 1]);
        }
        String mode = o.getOrDefault("--mode", "full");
        String dSessions =
                switch (mode) {
                    case "smoke" -> "16";
                    case "quick" -> "1000";
                    default -> "100,1000,10000";
                };
        String dRates =
                switch (mode) {
                    case "smoke" -> "20000";
                    case "quick" -> "20000,0";
                    default -> "20000,50000,0";
                };
        double dDuration =
                switch (mode) {
                    case "smoke" -> 0.5;
                    case "quick" -> 2;
                    default -> 4;
                };
        List<Integer> sessions = ints(o.getOrDefault("--sessions", dSessions));
        List<Integer> rates = ints(o.getOrDefault("--rates", dRates));
        int backends =
                Integer.parseInt(o.getOrDefault("--backends", mode.equals("smoke") ? "2" : "4"));
        double duration =
                Double.parseDouble(o.getOrDefault("--duration", Double.toString(dDuration)));
        int size = Integer.parseInt(o.getOrDefault("--size", "128"));
        Path out = Path.of(o.getOrDefault("--out", "bench/results"));
        Path sender = Path.of(o.getOrDefault("--sender", "bench/target/rtpsend")).toAbsolutePath();
        List<String> systems =
                new ArrayList<>(List.of(o.getOrDefault("--systems", "msm,nginx").split(",")));
        long deadline =
                System.nanoTime()
                        + TimeUnit.SECONDS.toNanos(
                                Long.parseLong(o.getOrDefault("--time-limit", "300")));
        if (systems.contains("nginx")
                && (!Sh.have("nginx") || !Files.exists(Path.of(NGINX_MODULE)))) {
            if ("true".equals(System.getenv("CI"))) {
                throw new IllegalStateException(
                        "GameRace: nginx or libnginx-mod-stream not installed (make deps-test"
                                + " installs them); under CI=true the race does not skip nginx");
            }
            System.out.println(
                    "GameRace: nginx or libnginx-mod-stream not installed (make deps-bench): nginx"
                            + " skipped");
            systems.remove("nginx");
        }
        Files.createDirectories(out);
        double loadStart = HostSample.loadAverage();
        List<Result> results = new ArrayList<>();
        try (BenchSink sink = BenchSink.load()) {
            sink.expectCopies(1);
            for (int rate : rates) {
                for (int s : sessions) {
                    for (String sys : systems) {
                        if (System.nanoTime() > deadline) {
                            System.out.printf(
                                    Locale.ROOT,
                                    "GameRace: time limit reached; %s S=%d rate=%d not run%n",
                                    sys,
                                    s,
                                    rate);
                            continue;
                        }
                        Result r = run(sys, s, backends, rate, duration, size, sender, sink);
                        results.add(r);
                        System.out.printf(
                                Locale.ROOT,
                                "%-6s S=%-6d rate=%-7s offered=%.0f/s delivered=%.0f/s"
                                        + " forwarding=%.3fs (net %.3f + proxy %.3f) other-jobs=%.2fs"
                                        + " cpu1-busy=%.2fs pkts/cpu-s=%s softnet-drops=%d"
                                        + " backends %.0f-%.0f%% %s%n",
                                r.system(),
                                r.sessions(),
                                rate == 0 ? "max" : Integer.toString(rate),
                                r.offeredPps(),
                                r.deliveredPps(),
                                r.forwardingS(),
                                r.netS(),
                                r.procSampledS(),
                                r.otherS(),
                                r.busyS(),
                                Chart.human(r.perCpuSecond()),
                                r.softnetDrops(),
                                100 * r.minShare(),
                                100 * r.maxShare(),
                                r.note());
                    }
                }
            }
        }
        String run =
                String.format(
                        Locale.ROOT,
                        "%s UTC, kernel %s, %d CPUs, %s; `GameRace %s`; load average %.2f at"
                                + " the start, %.2f at the end.",
                        LocalDateTime.now(ZoneOffset.UTC).withNano(0).toString().replace('T', ' '),
                        System.getProperty("os.version"),
                        HostSample.cpus(),
                        Sh.exec("nginx", "-v").err().trim(),
                        String.join(" ", args),
                        loadStart,
                        HostSample.loadAverage());
        report(results, out, duration, size, backends, run);
        if (o.getOrDefault("--check", "0").equals("1")) {
            // the smoke: every system ran and reached every backend (not the numbers)
            boolean ok = results.size() == systems.size() * sessions.size() * rates.size();
            for (Result r : results) {
                ok &= r.delivered() > 0 && r.minShare() > 0;
            }
            if (!ok) {
                System.out.println("GameRace: check failed: a system did not reach every backend");
                System.exit(1);
            }
        }
    }

    static List<Integer> ints(String csv) {
        List<Integer> l = new ArrayList<>();
        for (String s : csv.split(",")) {
            l.add(Integer.parseInt(s.trim()));
        }
        return l;
    }

    // ------------------------------------------------------------------ one trial

    static Result run(
            String system,
            int sessions,
            int backends,
            int rate,
            double seconds,
            int size,
            Path senderBin,
            BenchSink sink)
            throws Exception {
        try (Cleanup cleanup = new Cleanup()) {
            Topology topo = Topology.create(backends);
            cleanup.push("namespaces", topo::close);
            topo.node.exec("sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
            sink.attach(topo.receivers, topo.receiverIfs(backends));
            // the backends' receive work (the sinks) to the sender's CPU: CPU 1 holds the node's
            // work alone
            Topology.rps(topo.receivers, topo.receiverIfs(backends), 1 << Topology.SENDER_CPU);
            List<Long> pids = new ArrayList<>();
            switch (system) {
                case "msm" -> msm(topo, backends, cleanup);
                case "nginx" -> pids.addAll(nginx(topo, backends, sessions, cleanup));
                default -> throw new IllegalArgumentException("unknown system " + system);
            }
            Sender snd = new Sender(senderBin, topo);
            String dst = Topology.NODE_ADDR + ":" + SVC_PORT;
            // open every session (nginx: its upstream socket; msm: its pinned slot), then settle
            // (at 20 k/s, which nginx keeps up with: 2 datagrams per session, at least 0.3 s)
            double warm = Math.max(0.3, 2.0 * sessions / 20_000);
            snd.send(20_000, warm, dst, CLIENT_PORT, sessions, size, BURST);
            Thread.sleep(300);
            long udp0 = udpRcvbufErrors(topo);
            BenchSink.Snapshot s0 = sink.snapshot();
            HostSample h0 = HostSample.take();
            long p0 = HostSample.processNs(pids);
            Path dir = Files.createTempDirectory("msm-gamebench-perf-");
            cleanup.push("perf directory", () -> Sh.exec("rm", "-rf", dir.toString()));
            Cpu1Profile prof =
                    Cpu1Profile.available()
                            ? Cpu1Profile.start(Topology.NODE_CPU, Topology.SENDER_CPU, dir)
                            : null;
            if (prof != null) {
                cleanup.push("perf", prof::stop);
                prof.enable();
            }
            Sender.Result sr = snd.send(rate, seconds, dst, CLIENT_PORT, sessions, size, BURST);
            Thread.sleep(100); // what is still queued on CPU 1 is forwarded
            Cpu1Profile.Split split = null;
            if (prof != null) {
                prof.disable();
                split = prof.finish(Set.copyOf(pids));
            }
            HostSample h1 = HostSample.take();
            long p1 = HostSample.processNs(pids);
            BenchSink.Snapshot s1 = sink.snapshot();
            long socketDrops = udpRcvbufErrors(topo) - udp0;
            long delivered = s1.deltas(s0, backends)[0];
            long[] per = s1.perReceiver(s0, backends);
            long min = Long.MAX_VALUE;
            long max = 0;
            for (long v : per) {
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            int cpu = Topology.NODE_CPU;
            String note = split == null ? "no perf: CPU = CPU 1 busy" : "";
            if (sr.errors() > 0) {
                note = (note + " " + sr.errors() + " send errors").trim();
            }
            if (socketDrops > 0) {
                note = (note + " " + socketDrops + " dropped at nginx's socket").trim();
            }
            return new Result(
                    system,
                    sessions,
                    backends,
                    rate,
                    sr.elapsedNs() / 1e9,
                    sr.sent(),
                    sr.errors(),
                    delivered,
                    h1.busyNs(h0, cpu) / 1e9,
                    h1.statNs(h0, cpu, HostSample.USER) / 1e9,
                    h1.statNs(h0, cpu, HostSample.SYSTEM) / 1e9,
                    (h1.statNs(h0, cpu, HostSample.SOFTIRQ) + h1.statNs(h0, cpu, HostSample.IRQ))
                            / 1e9,
                    (p1 - p0) / 1e9,
                    split == null ? Double.NaN : split.seconds(split.net()),
                    split == null ? Double.NaN : split.seconds(split.process()),
                    split == null ? Double.NaN : split.seconds(split.other()),
                    split == null ? Double.NaN : split.seconds(split.total()),
                    h1.softnetDrops(h0, cpu) + h1.softnetDrops(h0, Topology.SENDER_CPU),
                    HostSample.loadAverage(),
                    delivered == 0 ? 0 : (double) min / delivered,
                    delivered == 0 ? 0 : (double) max / delivered,
                    note);
        }
    }

    /** UDP datagrams the node dropped because a socket's receive buffer was full. */
    static long udpRcvbufErrors(Topology topo) {
        String[] lines = topo.node.exec("cat", "/proc/net/snmp").split("\n");
        for (int i = 0; i + 1 < lines.length; i++) {
            if (lines[i].startsWith("Udp:") && lines[i + 1].startsWith("Udp:")) {
                List<String> names = List.of(lines[i].trim().split("\\s+"));
                String[] values = lines[i + 1].trim().split("\\s+");
                int k = names.indexOf("RcvbufErrors");
                return k < 0 ? 0 : Long.parseLong(values[k]);
            }
        }
        return 0;
    }

    static List<GameTables.Backend> backendList(int k) throws IOException {
        List<GameTables.Backend> l = new ArrayList<>();
        for (int i = 0; i < k; i++) {
            l.add(
                    new GameTables.Backend(
                            (Inet4Address) InetAddress.getByName(Topology.receiverAddr(i)),
                            BACKEND_PORT,
                            1,
                            null));
        }
        return l;
    }

    /** The datapath with F_GAME, TC on n-in, one game service over the K backends. */
    static void msm(Topology topo, int backends, Cleanup cleanup) throws IOException {
        Datapath dp = Datapath.load(DatapathSpec.DEFAULT);
        cleanup.push("datapath", dp::close);
        DatapathConfig d = DatapathConfig.defaults();
        dp.configure(
                new DatapathConfig(
                        d.flags() | DatapathConfig.F_GAME,
                        d.newflowRate(),
                        d.newflowBurst(),
                        d.clockRates()),
                PortTable.defaults());
        int ifindex = topo.node.ifindex(Topology.NODE_IN_IF);
        topo.node.run(
                () ->
                        TcIngress.attach(
                                ifindex,
                                dp.progFd(Datapath.PROG_TC),
                                TcIngress.DEFAULT_HANDLE,
                                TcIngress.DEFAULT_PRIORITY,
                                false));
        cleanup.push(
                "tc on n-in",
                () ->
                        topo.node.run(
                                () ->
                                        TcIngress.detach(
                                                ifindex,
                                                TcIngress.DEFAULT_HANDLE,
                                                TcIngress.DEFAULT_PRIORITY)));
        new GameTables(dp)
                .apply(
                        List.of(
                                new GameTables.Service(
                                        "bench/game",
                                        (Inet4Address) InetAddress.getByName(Topology.NODE_ADDR),
                                        SVC_PORT,
                                        0,
                                        0,
                                        0,
                                        Duration.ZERO,
                                        backendList(backends))));
    }

    static String nginxConf(Path work, int backends, int sessions) {
        StringBuilder up = new StringBuilder();
        for (int i = 0; i < backends; i++) {
            up.append("        server ")
                    .append(Topology.receiverAddr(i))
                    .append(':')
                    .append(BACKEND_PORT)
                    .append(";\n");
        }
        return String.join(
                "\n",
                "# written by bench GameRace; one worker on CPU 1, the core msm's work gets",
                "load_module " + NGINX_MODULE + ";",
                "daemon off;",
                "worker_processes 1;",
                "worker_cpu_affinity 10;",
                // one upstream socket per session; each session also holds a connection for
                // its client side
                "worker_rlimit_nofile " + (sessions + 1000) + ";",
                "pid " + work.resolve("nginx.pid") + ";",
                "error_log " + work.resolve("error.log") + " warn;",
                "events { worker_connections " + (2 * sessions + 1000) + "; multi_accept on; }",
                "stream {",
                "    upstream game {",
                "        hash \"$remote_addr:$remote_port\" consistent;",
                up + "    }",
                "    server {",
                "        listen " + Topology.NODE_ADDR + ":" + SVC_PORT + " udp reuseport;",
                "        proxy_pass game;",
                "        proxy_timeout 120s;",
                "    }",
                "}",
                "");
    }

    /** nginx in the node namespace with its own config, pid and log files; returns its pids. */
    static List<Long> nginx(Topology topo, int backends, int sessions, Cleanup cleanup)
            throws Exception {
        Path work = Files.createTempDirectory("msm-gamebench-nginx-");
        cleanup.push(
                "nginx directory",
                () -> {
                    Path log = work.resolve("error.log");
                    if (Files.exists(log) && Files.size(log) > 0) {
                        List<String> l = Files.readAllLines(log);
                        System.out.println(
                                "GameRace: nginx error.log ("
                                        + l.size()
                                        + " lines), last: "
                                        + l.get(l.size() - 1));
                    }
                    Sh.exec("rm", "-rf", work.toString());
                });
        Path conf = work.resolve("nginx.conf");
        Files.writeString(conf, nginxConf(work, backends, sessions));
        Process p =
                new ProcessBuilder(
                                "ip",
                                "netns",
                                "exec",
                                topo.node.name(),
                                "nginx",
                                "-p",
                                work.toString(),
                                "-e",
                                work.resolve("error.log").toString(),
                                "-c",
                                conf.toString())
                        .redirectErrorStream(true)
                        .redirectOutput(work.resolve("stdout.log").toFile())
                        .start();
        long master = p.pid(); // ip netns exec execs nginx: the same process
        cleanup.push("nginx", () -> stop(master, p));
        List<Long> pids = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            if (!p.isAlive()) {
                throw new IOException(
                        "nginx exited at start: "
                                + Files.readString(work.resolve("stdout.log"))
                                + Sh.exec("cat", work.resolve("error.log").toString()).out());
            }
            pids.clear();
            pids.add(master);
            ProcessHandle.of(master).ifPresent(h -> h.children().forEach(c -> pids.add(c.pid())));
            if (pids.size() > 1 && Files.exists(work.resolve("nginx.pid"))) {
                // the worker at real-time priority: other jobs on this shared machine cannot
                // delay it (msm's softirq work preempts them too); a bounded run, and the
                // kernel's RT throttling leaves 5 % of the core to the rest
                for (long w : pids.subList(1, pids.size())) {
                    Sh.exec("chrt", "-f", "-p", "10", Long.toString(w));
                }
                return pids;
            }
            Thread.sleep(100);
        }
        throw new IOException("nginx did not start a worker within 10 s");
    }

    static void stop(long master, Process p) throws InterruptedException {
        List<Long> children = new ArrayList<>();
        ProcessHandle.of(master).ifPresent(h -> h.children().forEach(c -> children.add(c.pid())));
        Sh.exec("kill", "-TERM", Long.toString(master));
        if (!p.waitFor(5, TimeUnit.SECONDS)) {
            Sh.exec("kill", "-KILL", Long.toString(master));
            p.waitFor(5, TimeUnit.SECONDS);
        }
        for (long c : children) {
            if (ProcessHandle.of(c).map(ProcessHandle::isAlive).orElse(false)) {
                Sh.exec("kill", "-KILL", Long.toString(c));
            }
        }
    }

    // ------------------------------------------------------------------ report

    static void report(
            List<Result> rs, Path out, double duration, int size, int backends, String run)
            throws IOException {
        StringBuilder md = new StringBuilder();
        md.append("# Game traffic: msm's kernel game path against nginx's stream UDP proxy\n\n")
                .append(
                        String.format(
                                Locale.ROOT,
                                "S client sessions (source ports) send %d-byte UDP datagrams to one"
                                        + " service address:port on the node, which forwards each"
                                        + " session to one of %d backends; %.1f s per trial after"
                                        + " a warm-up that opens every session. Rate \"max\": the"
                                        + " sender flat out. Delivered = counted at the backends."
                                        + " All the node's work runs on CPU 1 for both systems"
                                        + " (RPS on the node's input, nginx's one worker pinned"
                                        + " there; the backends' receive work goes to CPU 0 with"
                                        + " the sender). Forwarding CPU = CPU 1 sampled by perf"
                                        + " (cpu-clock, every 250 µs, kernel call chains):"
                                        + " network softirq work (net_rx_action/net_tx_action in"
                                        + " the chain, in any context) plus the proxy's own"
                                        + " threads outside it; other jobs on the shared machine"
                                        + " are left out.%n%n",
                                size,
                                backends,
                                duration))
                .append(
                        "| system | sessions | rate | offered pkts/s | delivered pkts/s | loss |"
                                + " forwarding CPU (net softirq + proxy) | pkts per CPU-second |"
                                + " CPU per pkt | other jobs on CPU 1 | backends min–max share |"
                                + " load |\n")
                .append("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|\n");
        List<List<String>> rows = new ArrayList<>();
        for (Result r : rs) {
            double loss =
                    r.offered() == 0 ? 0 : Math.max(0, 1 - (double) r.delivered() / r.offered());
            md.append(
                    String.format(
                            Locale.ROOT,
                            "| %s | %d | %s | %s | %s | %.1f %% | %.3f s (%.3f + %.3f) | %s | %s"
                                    + " | %.0f %% | %.0f–%.0f %% | %.2f |%n",
                            r.system(),
                            r.sessions(),
                            r.rate() == 0 ? "max" : Chart.human(r.rate()),
                            Chart.human(r.offeredPps()),
                            Chart.human(r.deliveredPps()),
                            100 * loss,
                            r.forwardingS(),
                            r.netS(),
                            r.procSampledS(),
                            Chart.human(r.perCpuSecond()),
                            r.delivered() == 0
                                    ? "n/a"
                                    : String.format(
                                            Locale.ROOT,
                                            "%.2f µs",
                                            r.forwardingS() / r.delivered() * 1e6),
                            r.sampledS() > 0 ? 100 * r.otherS() / r.sampledS() : Double.NaN,
                            100 * r.minShare(),
                            100 * r.maxShare(),
                            r.load()));
            rows.add(
                    List.of(
                            r.system(),
                            Integer.toString(r.sessions()),
                            Integer.toString(r.backends()),
                            fmt(r.rate()),
                            fmt(r.seconds()),
                            Long.toString(r.offered()),
                            Long.toString(r.sendErrors()),
                            Long.toString(r.delivered()),
                            fmt(r.forwardingS()),
                            fmt(r.netS()),
                            fmt(r.procSampledS()),
                            fmt(r.otherS()),
                            fmt(r.sampledS()),
                            fmt(r.busyS()),
                            fmt(r.userS()),
                            fmt(r.sysS()),
                            fmt(r.softirqS()),
                            fmt(r.processS()),
                            Long.toString(r.softnetDrops()),
                            fmt(r.perCpuSecond()),
                            fmt(r.minShare()),
                            fmt(r.maxShare()),
                            fmt(r.load()),
                            r.note()));
        }
        md.append("\n");
        for (Result m : rs) {
            Result n = match(rs, m);
            if (n != null) {
                md.append(
                        String.format(
                                Locale.ROOT,
                                "S = %d, rate %s: msm forwards %.1f× nginx's packets per"
                                        + " CPU-second (%s vs %s); delivered %s vs %s pkt/s"
                                        + " (loss %.1f %% vs %.1f %%).%n",
                                m.sessions(),
                                m.rate() == 0 ? "max" : Chart.human(m.rate()),
                                m.perCpuSecond() / n.perCpuSecond(),
                                Chart.human(m.perCpuSecond()),
                                Chart.human(n.perCpuSecond()),
                                Chart.human(m.deliveredPps()),
                                Chart.human(n.deliveredPps()),
                                100 * loss(m),
                                100 * loss(n)));
            }
        }
        md.append(
                "\nForwarding CPU is the same measure for both systems: the samples of CPU 1"
                        + " (perf, cpu-clock every 250 µs, so ±1/sqrt(samples)) whose kernel call"
                        + " chain is in network softirq work — the node's receive path, msm's TC"
                        + " program and its redirect, in whatever context it ran — plus nginx's"
                        + " threads outside it (its code and system calls: recvmsg, sendmsg and"
                        + " the transmit they cause). A softirq run inside nginx's context is"
                        + " counted once. \"Other jobs\" is the share of CPU 1 that other programs"
                        + " on the shared machine took during the trial: not counted, but they"
                        + " compete with nginx's worker for the core (it runs at SCHED_FIFO; msm's"
                        + " softirq work preempts them), so a trial with a large share loses more."
                        + " With the sender flat out nginx is overloaded: the receive softirq"
                        + " takes the core before its worker can read (receive livelock), so"
                        + " compare packets per CPU-second at rates nginx keeps up with.\n");
        md.append("\nThis run: ").append(run).append('\n');
        Files.writeString(out.resolve("game.md"), md.toString());
        Csv.write(
                out.resolve("game.csv"),
                List.of(
                        "system",
                        "sessions",
                        "backends",
                        "rate_pps",
                        "seconds",
                        "offered",
                        "send_errors",
                        "delivered",
                        "forwarding_cpu_s",
                        "net_softirq_s",
                        "proxy_process_sampled_s",
                        "other_jobs_s",
                        "sampled_s",
                        "cpu1_busy_s",
                        "cpu1_user_s",
                        "cpu1_system_s",
                        "cpu1_softirq_s",
                        "proxy_process_schedstat_s",
                        "softnet_drops",
                        "pkts_per_cpu_s",
                        "backend_min_share",
                        "backend_max_share",
                        "load1",
                        "note"),
                rows);
        chart(rs, out);
    }

    static void chart(List<Result> rs, Path out) throws IOException {
        String[] names = {"msm", "nginx"};
        Color[] colors = {new Color(0, 110, 200), new Color(0, 150, 60)};
        List<Chart.Series> pps = new ArrayList<>();
        List<Chart.Series> eff = new ArrayList<>();
        List<Double> rates = new ArrayList<>();
        for (Result r : rs) {
            if (!rates.contains(r.rate())) {
                rates.add(r.rate());
            }
        }
        for (int k = 0; k < names.length; k++) {
            for (double rate : rates) {
                List<double[]> pts = new ArrayList<>();
                for (Result r : rs) {
                    if (r.system().equals(names[k]) && r.rate() == rate) {
                        pts.add(new double[] {r.sessions(), r.deliveredPps(), r.perCpuSecond()});
                    }
                }
                if (pts.isEmpty()) {
                    continue;
                }
                double[] x = pts.stream().mapToDouble(p -> p[0]).toArray();
                String label =
                        names[k] + (rate == 0 ? ", flat out" : ", " + Chart.human(rate) + " pkt/s");
                boolean dashed = rate != 0;
                if (rate == 0) {
                    pps.add(
                            new Chart.Series(
                                    label,
                                    colors[k],
                                    false,
                                    x,
                                    pts.stream().mapToDouble(p -> p[1]).toArray()));
                }
                eff.add(
                        new Chart.Series(
                                label,
                                colors[k],
                                dashed,
                                x,
                                pts.stream().mapToDouble(p -> p[2]).toArray()));
            }
        }
        Chart.write(
                out.resolve("game.png"),
                "Game UDP sessions: msm kernel game path vs nginx stream proxy",
                "one core (CPU 1) for the node's work; delivered = counted at the backends",
                List.of(
                        new Chart.Panel(
                                "delivered packets/s, sender flat out",
                                "client sessions",
                                "packets/s",
                                true,
                                true,
                                pps),
                        new Chart.Panel(
                                "packets per CPU-second",
                                "client sessions",
                                "packets per CPU-second",
                                true,
                                true,
                                eff)));
    }

    /** nginx's result for msm's m (same sessions and rate), or null. */
    static Result match(List<Result> rs, Result m) {
        if (!m.system().equals("msm")) {
            return null;
        }
        for (Result n : rs) {
            if (n.system().equals("nginx")
                    && n.sessions() == m.sessions()
                    && n.rate() == m.rate()
                    && n.perCpuSecond() > 0
                    && m.perCpuSecond() > 0) {
                return n;
            }
        }
        return null;
    }

    static double loss(Result r) {
        return r.offered() == 0 ? 1 : Math.max(0, 1 - (double) r.delivered() / r.offered());
    }

    static String fmt(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.6g", v);
    }

    private GameRace() {}
}
