package io.msm.bench.sipmedia;

import io.msm.agent.ng.Bencode;
import io.msm.agent.ng.BencodeException;
import io.msm.bench.report.Chart;
import io.msm.bench.report.Csv;
import io.msm.testkit.AgentProcess;
import io.msm.testkit.Names;
import io.msm.testkit.Netns;
import io.msm.testkit.Sh;
import io.msm.testkit.Veth;
import java.awt.Color;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The SIP media race (issue 16): N concurrent calls, each 50 packets a second both ways of G.711
 * (172-byte RTP), relayed by msm's kernel plane, msm's userspace plane and rtpengine (userspace
 * forwarding: its kernel module is not packaged for this kernel), and — as the baseline for "added"
 * latency and CPU — routed directly by the node's kernel with no relay. Calls are set up over the
 * NG protocol with the requests Kamailio's rtpengine module sends for the shipped config
 * (kernel-tests resources/kamailio/kamailio-ng.cfg: the same flags); driving 1,000 calls through
 * Kamailio and sipp with RTP would cost the 2-core machine more than the relays under test.
 *
 * <pre>
 *  [caller] c0 10.90.1.2 ── n-a 10.90.1.1 [node: relay, NG on 127.0.0.1:2223] n-b 10.90.2.1 ── d0 10.90.2.2 [callee]
 * </pre>
 *
 * Per system and N: node CPU per relayed packet (all CPUs, /proc/stat, less the baseline's at the
 * same load: what the relay adds), the relay process's own CPU, loss, one-way latency p50/p99
 * (added: less the baseline's), NG set-up time (offer + answer) p50/p99. Output: sipmedia.md,
 * sipmedia.csv, sipmedia.png.
 */
public final class SipMediaRace {
    static final String NODE_A = "10.90.1.1";
    static final String CALLER = "10.90.1.2";
    static final String NODE_B = "10.90.2.1";
    static final String CALLEE = "10.90.2.2";
    static final int BASE = 40000;
    static final String NG = "127.0.0.1:2223";

    record Result(
            String system,
            int calls,
            long sent,
            long received,
            double nodeCpuS,
            double processCpuS,
            double p50us,
            double p99us,
            double setupP50ms,
            double setupP99ms,
            String note) {
        double loss() {
            return sent == 0 ? Double.NaN : Math.max(0, 1.0 - (double) received / sent);
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            o.put(args[i], args[i + 1]);
        }
        List<Integer> sizes = new ArrayList<>();
        for (String s : o.getOrDefault("--calls", "100,500,1000").split(",")) {
            sizes.add(Integer.parseInt(s.trim()));
        }
        double duration = Double.parseDouble(o.getOrDefault("--duration", "10"));
        Path out = Path.of(o.getOrDefault("--out", "bench/results"));
        Path callload = Path.of(o.getOrDefault("--callload", "bench/target/callload"));
        Path launcher = Path.of(o.getOrDefault("--launcher", "bin/msm-agent"));
        long deadline =
                System.nanoTime()
                        + TimeUnit.SECONDS.toNanos(
                                Long.parseLong(o.getOrDefault("--time-limit", "600")));
        List<String> systems =
                new ArrayList<>(
                        Arrays.asList(
                                o.getOrDefault(
                                                "--systems",
                                                "direct,msm-kernel,msm-userspace,rtpengine")
                                        .split(",")));
        if (!Sh.have("rtpengine")) {
            System.out.println("SipMediaRace: rtpengine not installed (make deps-bench): skipped");
            systems.remove("rtpengine");
        }
        Files.createDirectories(out);
        List<Result> results = new ArrayList<>();
        for (int n : sizes) {
            for (String sys : systems) {
                if (System.nanoTime() > deadline) {
                    System.out.println(
                            "SipMediaRace: time limit reached; " + sys + " N=" + n + " not run");
                    continue;
                }
                Result r = run(sys, n, duration, callload, launcher);
                results.add(r);
                System.out.printf(
                        Locale.ROOT,
                        "%-14s N=%-5d sent=%d received=%d loss=%.4f%% nodeCpu=%.2fs procCpu=%.2fs p50=%.0fus p99=%.0fus setup p50=%.2fms p99=%.2fms %s%n",
                        r.system(),
                        r.calls(),
                        r.sent(),
                        r.received(),
                        100 * r.loss(),
                        r.nodeCpuS(),
                        r.processCpuS(),
                        r.p50us(),
                        r.p99us(),
                        r.setupP50ms(),
                        r.setupP99ms(),
                        r.note());
            }
        }
        report(results, out, duration);
    }

    // ------------------------------------------------------------------ one run

    static Result run(String system, int n, double duration, Path callload, Path launcher)
            throws Exception {
        String id = Names.runId();
        Netns node = Netns.create(id + "-node");
        Netns a = null;
        Netns b = null;
        Process relay = null;
        AgentProcess agent = null;
        Path work = Files.createTempDirectory("msm-sipmedia-" + id);
        try {
            a = Netns.create(id + "-a");
            b = Netns.create(id + "-b");
            Veth.create(a, "c0", CALLER + "/24", node, "n-a", NODE_A + "/24");
            Veth.create(b, "d0", CALLEE + "/24", node, "n-b", NODE_B + "/24");
            a.ip("route", "add", "default", "via", NODE_A);
            b.ip("route", "add", "default", "via", NODE_B);
            node.exec("sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
            long pid = -1;
            switch (system) {
                case "msm-kernel", "msm-userspace" -> {
                    Path cfg = work.resolve("agent.yaml");
                    Files.writeString(
                            cfg,
                            String.join(
                                    "\n",
                                    "interfaces: [n-a, n-b]",
                                    "bpffs: /sys/fs/bpf/msmbench-" + id,
                                    "rtsp-listen: 127.0.0.1:18554",
                                    "sip-listen: 127.0.0.1:15060",
                                    "datapath: {max-groups: 16384, max-subscribers: 32768}",
                                    "media: {port-range: 20000-29999}",
                                    "sip: {state-file: \"\"}",
                                    "ng:",
                                    "  listen: " + NG,
                                    "  interfaces: {uac: " + NODE_A + ", uas: " + NODE_B + "}",
                                    "  state-file: \"\"",
                                    "  max-calls: 5000",
                                    "  requests-per-second: 100000",
                                    ""));
                    List<String> args = new ArrayList<>(List.of("--config", cfg.toString()));
                    if (system.equals("msm-userspace")) {
                        args.add("--userspace");
                    }
                    agent = AgentProcess.start(node, "127.0.0.1:19469", args);
                    agent.awaitReady(60_000);
                    pid = agent.pid();
                }
                case "rtpengine" -> {
                    relay =
                            new ProcessBuilder(
                                            "ip",
                                            "netns",
                                            "exec",
                                            node.name(),
                                            "rtpengine",
                                            "--config-file=none",
                                            "--foreground",
                                            "--log-stderr",
                                            "--log-level=3",
                                            "--table=-1",
                                            "--interface=uac/" + NODE_A,
                                            "--interface=uas/" + NODE_B,
                                            "--listen-ng=" + NG,
                                            "--port-min=30000",
                                            "--port-max=39999",
                                            "--delete-delay=0",
                                            "--pidfile=" + work.resolve("rtpengine.pid"))
                                    .redirectErrorStream(true)
                                    .redirectOutput(work.resolve("rtpengine.log").toFile())
                                    .start();
                    pid = awaitPid(work.resolve("rtpengine.pid"), relay);
                }
                default -> {}
            }
            List<String> toRelayA = new ArrayList<>();
            List<String> toRelayB = new ArrayList<>();
            List<Double> setup = new ArrayList<>();
            String note = "";
            if (system.equals("direct")) {
                for (int i = 0; i < n; i++) {
                    toRelayA.add(CALLEE + " " + (BASE + 2 * i));
                    toRelayB.add(CALLER + " " + (BASE + 2 * i));
                }
            } else {
                try (Ng ng = new Ng(node)) {
                    ng.awaitPong(20_000);
                    for (int i = 0; i < n; i++) {
                        long t0 = System.nanoTime();
                        String[] ports = ng.call("race-" + i, BASE + 2 * i);
                        setup.add((System.nanoTime() - t0) / 1e6);
                        toRelayA.add(ports[0]);
                        toRelayB.add(ports[1]);
                    }
                }
            }
            Path da = work.resolve("a.dsts");
            Path db = work.resolve("b.dsts");
            Files.write(da, toRelayA);
            Files.write(db, toRelayB);
            Thread.sleep(500);
            long[] cpu0 = nodeCpu();
            long k0 = ksoftirqd();
            long proc0 = pid > 0 ? processCpu(pid) : 0;
            String[] load = {
                callload.toAbsolutePath().toString(),
                "--rate",
                "50",
                "--size",
                "172",
                "--duration",
                Double.toString(duration),
                "--warmup",
                "1"
            };
            Process pa = loader(a, load, CALLER, da, work.resolve("a.out"));
            Process pb = loader(b, load, CALLEE, db, work.resolve("b.out"));
            boolean okA = pa.waitFor((long) duration + 30, TimeUnit.SECONDS);
            boolean okB = pb.waitFor((long) duration + 30, TimeUnit.SECONDS);
            long[] cpu1 = nodeCpu();
            long k1 = ksoftirqd();
            long proc1 = pid > 0 ? processCpu(pid) : 0;
            if (!okA || !okB) {
                pa.destroyForcibly();
                pb.destroyForcibly();
                note = "load generator did not finish";
            }
            Map<String, Long> ra = parse(Files.readString(work.resolve("a.out")));
            Map<String, Long> rb = parse(Files.readString(work.resolve("b.out")));
            double hz = 100.0; // USER_HZ
            double procCpu = (proc1 - proc0) / hz;
            // what the node spends on these packets: the generators' own CPU (on veth the
            // receive path, TC included, runs in the sender's context), ksoftirqd, irq/softirq
            // time accounted apart, and the relay process
            double loaders =
                    (ra.getOrDefault("user_us", 0L)
                                    + ra.getOrDefault("sys_us", 0L)
                                    + rb.getOrDefault("user_us", 0L)
                                    + rb.getOrDefault("sys_us", 0L))
                            / 1e6;
            double nodeCpu = loaders + (k1 - k0) / hz + (cpu1[0] - cpu0[0]) / hz + procCpu;
            setup.sort(Double::compare);
            // packets sent in the first --warmup second count neither as sent nor as received
            long sent = ra.getOrDefault("sent", 0L) + rb.getOrDefault("sent", 0L);
            long received = ra.getOrDefault("received", 0L) + rb.getOrDefault("received", 0L);
            return new Result(
                    system,
                    n,
                    sent,
                    received,
                    nodeCpu,
                    procCpu,
                    (ra.getOrDefault("lat_p50_us", 0L) + rb.getOrDefault("lat_p50_us", 0L)) / 2.0,
                    Math.max(ra.getOrDefault("lat_p99_us", 0L), rb.getOrDefault("lat_p99_us", 0L)),
                    pct(setup, 0.50),
                    pct(setup, 0.99),
                    note);
        } finally {
            if (agent != null) {
                agent.close();
                AgentProcess.run(node, "cleanup", "--bpffs", "/sys/fs/bpf/msmbench-" + id);
            }
            if (relay != null) {
                Sh.exec("kill", "-9", Long.toString(relay.pid()));
                for (ProcessHandle h : relay.descendants().toList()) {
                    Sh.exec("kill", "-9", Long.toString(h.pid()));
                }
                relay.waitFor(5, TimeUnit.SECONDS);
            }
            for (Netns x : new Netns[] {b, a, node}) {
                if (x != null) {
                    x.close();
                }
            }
            Sh.exec("rm", "-rf", work.toString());
        }
    }

    static double pct(List<Double> sorted, double p) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        return sorted.get(Math.min(sorted.size() - 1, (int) (sorted.size() * p)));
    }

    static long awaitPid(Path pidFile, Process p) throws Exception {
        for (int i = 0; i < 100; i++) {
            if (Files.exists(pidFile)) {
                String s = Files.readString(pidFile).trim();
                if (!s.isEmpty()) {
                    return Long.parseLong(s);
                }
            }
            if (!p.isAlive()) {
                throw new IOException("rtpengine exited at start");
            }
            Thread.sleep(100);
        }
        return p.pid();
    }

    static Process loader(Netns ns, String[] load, String local, Path dsts, Path outFile)
            throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns.name()));
        cmd.addAll(Arrays.asList(load));
        cmd.addAll(
                List.of(
                        "--local",
                        local,
                        "--base",
                        Integer.toString(BASE),
                        "--dsts",
                        dsts.toString()));
        return new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(outFile.toFile())
                .start();
    }

    static Map<String, Long> parse(String line) {
        Map<String, Long> m = new LinkedHashMap<>();
        Matcher k = Pattern.compile("(\\w+)=(\\d+)").matcher(line);
        while (k.find()) {
            m.put(k.group(1), Long.parseLong(k.group(2)));
        }
        if (m.isEmpty()) {
            System.out.println("SipMediaRace: callload said: " + line);
        }
        return m;
    }

    /**
     * irq and softirq jiffies over all CPUs (/proc/stat; with IRQ time accounting off, most of it
     * is charged to the task it interrupted instead).
     */
    static long[] nodeCpu() throws IOException {
        String l = Files.readAllLines(Path.of("/proc/stat")).get(0);
        String[] f = l.trim().split("\\s+");
        return new long[] {Long.parseLong(f[6]) + Long.parseLong(f[7])};
    }

    /** CPU of the ksoftirqd threads, in jiffies (softirq work deferred from interrupts). */
    static long ksoftirqd() throws IOException {
        long n = 0;
        try (var dirs = Files.list(Path.of("/proc"))) {
            for (Path d : dirs.toList()) {
                String name = d.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    if (Files.readString(d.resolve("comm")).startsWith("ksoftirqd")) {
                        n += processCpu(Long.parseLong(name));
                    }
                } catch (IOException e) {
                    // gone
                }
            }
        }
        return n;
    }

    /** utime + stime of a process (all its threads), in jiffies. */
    static long processCpu(long pid) {
        try {
            String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    // ------------------------------------------------------------------ NG client

    /** A minimal NG client (UDP, bencode) inside the node namespace. */
    static final class Ng implements AutoCloseable {
        final DatagramChannel ch;
        final InetSocketAddress to = new InetSocketAddress("127.0.0.1", 2223);
        int cookie;

        Ng(Netns ns) {
            ch =
                    ns.call(
                            () -> {
                                DatagramChannel c = DatagramChannel.open();
                                c.bind(new InetSocketAddress("127.0.0.1", 0));
                                c.configureBlocking(true);
                                c.socket().setSoTimeout(5000);
                                return c;
                            });
        }

        Map<String, Object> req(Map<String, Object> d) throws IOException, BencodeException {
            String c = "b" + (++cookie);
            byte[] body = Bencode.encode(d);
            ByteBuffer out = ByteBuffer.allocate(c.length() + 1 + body.length);
            out.put((c + " ").getBytes(StandardCharsets.US_ASCII)).put(body).flip();
            ch.send(out, to);
            DatagramPacket p = new DatagramPacket(new byte[65536], 65536);
            ch.socket().receive(p);
            byte[] r = Arrays.copyOf(p.getData(), p.getLength());
            int sp = new String(r, StandardCharsets.ISO_8859_1).indexOf(' ');
            return Bencode.decodeDict(r, sp + 1, r.length - sp - 1, Bencode.Limits.NG);
        }

        void awaitPong(long ms) throws Exception {
            long end = System.currentTimeMillis() + ms;
            while (true) {
                try {
                    if ("pong".equals(req(Map.of("command", "ping")).get("result"))) {
                        return;
                    }
                } catch (IOException e) {
                    if (System.currentTimeMillis() > end) {
                        throw new IOException("no NG pong within " + ms + " ms", e);
                    }
                    Thread.sleep(200);
                }
            }
        }

        static String sdp(String addr, int port) {
            return "v=0\r\no=- 1 1 IN IP4 "
                    + addr
                    + "\r\ns=-\r\nc=IN IP4 "
                    + addr
                    + "\r\nt=0 0\r\nm=audio "
                    + port
                    + " RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";
        }

        /**
         * Offer and answer as Kamailio sends them for kamailio-ng.cfg; returns where the caller and
         * the callee send ("IP PORT").
         */
        String[] call(String callId, int port) throws Exception {
            Map<String, Object> offer = new LinkedHashMap<>();
            offer.put("sdp", sdp(CALLER, port));
            offer.put("call-id", callId);
            offer.put("from-tag", "ft-" + callId);
            offer.put("command", "offer");
            offer.put("flags", List.of("trust-address", "symmetric"));
            offer.put("replace", List.of("origin", "session-connection"));
            offer.put("ICE", "remove");
            offer.put("transport-protocol", "RTP/AVP");
            offer.put("label", "caller");
            offer.put("direction", List.of("uac", "uas"));
            Map<String, Object> ro = req(offer);
            if (!"ok".equals(ro.get("result"))) {
                throw new IOException("offer " + callId + ": " + ro);
            }
            Map<String, Object> answer = new LinkedHashMap<>(offer);
            answer.remove("direction");
            answer.put("command", "answer");
            answer.put("to-tag", "tt-" + callId);
            answer.put("label", "callee");
            answer.put("sdp", sdp(CALLEE, port));
            Map<String, Object> ra = req(answer);
            if (!"ok".equals(ra.get("result"))) {
                throw new IOException("answer " + callId + ": " + ra);
            }
            return new String[] {media((String) ra.get("sdp")), media((String) ro.get("sdp"))};
        }

        static String media(String sdp) {
            Matcher c = Pattern.compile("c=IN IP4 ([0-9.]+)").matcher(sdp);
            Matcher m = Pattern.compile("m=audio (\\d+)").matcher(sdp);
            if (!c.find() || !m.find()) {
                throw new IllegalStateException("no media address in " + sdp);
            }
            return c.group(1) + " " + m.group(1);
        }

        @Override
        public void close() throws IOException {
            ch.close();
        }
    }

    // ------------------------------------------------------------------ report

    static void report(List<Result> rs, Path out, double duration) throws IOException {
        Map<Integer, Result> base = new LinkedHashMap<>();
        for (Result r : rs) {
            if (r.system().equals("direct")) {
                base.put(r.calls(), r);
            }
        }
        List<List<String>> rows = new ArrayList<>();
        StringBuilder md = new StringBuilder();
        md.append("# SIP media race: msm (kernel, userspace) against rtpengine (userspace)\n\n")
                .append("N concurrent calls, 50 packets/s each way per call, 172-byte G.711 RTP, ")
                .append(String.format(Locale.ROOT, "%.0f s", duration))
                .append(" per run (the first second not counted); calls set up over NG with the ")
                .append(
                        "requests Kamailio sends for kernel-tests' kamailio-ng.cfg. \"direct\" is the ")
                .append(
                        "node's kernel routing the same packets with no relay, the baseline of the ")
                .append("\"added\" columns.\n\n")
                .append(
                        "| system | N | relayed pkts | loss | CPU per pkt (path) | added over direct")
                .append(" | relay process CPU per pkt | pkts per added CPU-second")
                .append(" | latency p50 / p99 (added p50) | NG set-up p50 / p99 |\n")
                .append("|---|---|---|---|---|---|---|---|---|---|\n");
        Map<Integer, double[]> kernelVsRtpengine = new LinkedHashMap<>();
        for (Result r : rs) {
            Result b = base.get(r.calls());
            double added = b == null || r == b ? Double.NaN : r.nodeCpuS() - b.nodeCpuS();
            double perPkt = r.received() == 0 ? Double.NaN : added / r.received();
            double path = r.received() == 0 ? Double.NaN : r.nodeCpuS() / r.received();
            double procPer = r.received() == 0 ? Double.NaN : r.processCpuS() / r.received();
            double pps = perPkt > 0 ? 1 / perPkt : Double.NaN;
            double addedP50 = b == null ? Double.NaN : r.p50us() - b.p50us();
            if (r.system().equals("msm-kernel") || r.system().equals("rtpengine")) {
                double[] v = kernelVsRtpengine.computeIfAbsent(r.calls(), k -> new double[4]);
                int at = r.system().equals("msm-kernel") ? 0 : 2;
                v[at] = path;
                v[at + 1] = perPkt;
            }
            String setupText =
                    Double.isNaN(r.setupP50ms())
                            ? "—"
                            : String.format(
                                    Locale.ROOT, "%.2f / %.2f ms", r.setupP50ms(), r.setupP99ms());
            md.append(
                    String.format(
                            Locale.ROOT,
                            "| %s | %d | %d | %.3f %% | %s | %s | %s | %s | %.0f / %.0f µs (%s) | %s |%n",
                            r.system(),
                            r.calls(),
                            r.received(),
                            100 * r.loss(),
                            us(path),
                            r == b ? "(baseline)" : us(perPkt),
                            r == b ? "—" : us(procPer),
                            r == b
                                    ? "—"
                                    : Double.isNaN(pps)
                                            ? "n/a (not above direct)"
                                            : Chart.human(pps),
                            r.p50us(),
                            r.p99us(),
                            r == b ? "—" : String.format(Locale.ROOT, "%+.0f µs", addedP50),
                            setupText));
            rows.add(
                    List.of(
                            r.system(),
                            Integer.toString(r.calls()),
                            Long.toString(r.sent()),
                            Long.toString(r.received()),
                            fmt(r.loss()),
                            fmt(r.nodeCpuS()),
                            fmt(r.processCpuS()),
                            fmt(perPkt),
                            fmt(r.p50us()),
                            fmt(r.p99us()),
                            fmt(r.setupP50ms()),
                            fmt(r.setupP99ms()),
                            r.note()));
        }
        md.append("\n");
        for (Map.Entry<Integer, double[]> e : kernelVsRtpengine.entrySet()) {
            double[] v = e.getValue();
            if (v[0] > 0 && v[2] > 0) {
                md.append(
                        String.format(
                                Locale.ROOT,
                                "N = %d: msm kernel relays %.1f× rtpengine's packets per CPU-second"
                                        + " on the whole path, %s on what each adds over routing.%n",
                                e.getKey(),
                                v[2] / v[0],
                                v[1] > 0 && v[3] > 0
                                        ? String.format(Locale.ROOT, "%.1f×", v[3] / v[1])
                                        : "not comparable (msm's addition is not above the noise)"));
            }
        }
        md.append("\nCPU per packet (path) is what the node spends on the packets: the two load ")
                .append("generators' own CPU (on veth the receive path — routing, or msm's TC ")
                .append("program — runs in the sender's context and is charged to it), the ")
                .append("ksoftirqd threads, irq/softirq time accounted apart, and the relay ")
                .append("process. \"Added over direct\" subtracts the same figure with the node ")
                .append("only routing the packets. Other processes on the machine are not counted ")
                .append("(except through ksoftirqd), but they compete for the two cores: latency ")
                .append("tails follow the machine's load (machine.txt). rtpengine forwards in ")
                .append("userspace: its kernel module (xt_RTPENGINE) would have to be built for ")
                .append("this kernel, which the package registries do not provide.\n");
        Files.writeString(out.resolve("sipmedia.md"), md.toString());
        Csv.write(
                out.resolve("sipmedia.csv"),
                List.of(
                        "system",
                        "calls",
                        "sent",
                        "received",
                        "loss",
                        "node_cpu_s",
                        "process_cpu_s",
                        "added_node_cpu_s_per_pkt",
                        "lat_p50_us",
                        "lat_p99_us",
                        "ng_setup_p50_ms",
                        "ng_setup_p99_ms",
                        "note"),
                rows);
        List<Chart.Series> cpu = new ArrayList<>();
        List<Chart.Series> lat = new ArrayList<>();
        Color[] colors = {
            Color.GRAY, new Color(0, 110, 200), new Color(230, 140, 0), new Color(200, 30, 30)
        };
        String[] names = {"direct", "msm-kernel", "msm-userspace", "rtpengine"};
        for (int k = 0; k < names.length; k++) {
            List<Double> xs = new ArrayList<>();
            List<Double> ys = new ArrayList<>();
            List<Double> ls = new ArrayList<>();
            for (Result r : rs) {
                if (!r.system().equals(names[k])) {
                    continue;
                }
                Result b = base.get(r.calls());
                xs.add((double) r.calls());
                ys.add(
                        b == null || r == b || r.received() == 0
                                ? Double.NaN
                                : (r.nodeCpuS() - b.nodeCpuS()) / r.received() * 1e6);
                ls.add(r.p99us());
            }
            double[] x = xs.stream().mapToDouble(Double::doubleValue).toArray();
            if (k > 0) {
                cpu.add(
                        new Chart.Series(
                                names[k],
                                colors[k],
                                false,
                                x,
                                ys.stream().mapToDouble(Double::doubleValue).toArray()));
            }
            lat.add(
                    new Chart.Series(
                            names[k],
                            colors[k],
                            k == 0,
                            x,
                            ls.stream().mapToDouble(Double::doubleValue).toArray()));
        }
        Chart.write(
                out.resolve("sipmedia.png"),
                "SIP media race: N calls x 50 pps each way, G.711",
                "node CPU added per relayed packet (less direct routing); one-way latency p99",
                List.of(
                        new Chart.Panel(
                                "CPU per relayed packet",
                                "concurrent calls",
                                "µs of node CPU",
                                true,
                                true,
                                cpu),
                        new Chart.Panel("latency p99", "concurrent calls", "µs", true, true, lat)));
    }

    static String us(double s) {
        return Double.isNaN(s) ? "n/a" : String.format(Locale.ROOT, "%.2f µs", s * 1e6);
    }

    static String fmt(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.6g", v);
    }

    private SipMediaRace() {}
}
