package io.msm.bench.fanout;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.msm.bpf.Bpffs;
import io.msm.bpf.Datapath;
import io.msm.bpf.ProgInfo;
import io.msm.testkit.PromText;
import io.msm.testkit.Sh;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * msm-agent as shipped (bin/msm-agent, its own JVM settings) with a static stream from its YAML
 * config: the kernel fan-out (default) or the Java relay ({@code --userspace}) — the same config,
 * so the same subscribers.
 *
 * <p>XDP is off: on a veth, XDP turns the receive path into NAPI on the sender's CPU and may copy
 * each skb, which measures veth rather than msm; the TC classifier and fan-out are what is
 * compared.
 */
final class AgentSut implements SystemUnderTest {
    static final String METRICS = "127.0.0.1:19469";

    private final boolean userspace;
    private final Path launcher;
    private Topology topo;
    private NodeProcess process;
    private Path config;
    private Path bpffs;
    private Datapath pinned;

    AgentSut(boolean userspace, Path launcher) {
        this.userspace = userspace;
        this.launcher = launcher;
    }

    @Override
    public String name() {
        return userspace ? "userspace" : "kernel";
    }

    @Override
    public String label() {
        return userspace
                ? "msm --userspace (Netty epoll relay)"
                : "msm kernel fan-out (TC + bpf_clone_redirect)";
    }

    static String yaml(Topology topo, int n, Path bpffs) {
        StringBuilder subs = new StringBuilder();
        for (int i = 0; i < n; i++) {
            subs.append(i == 0 ? "" : ", ")
                    .append(Topology.receiverAddr(i))
                    .append(':')
                    .append(Topology.RECEIVER_PORT);
        }
        return String.join(
                "\n",
                "interfaces: [" + Topology.NODE_IN_IF + "]",
                "bpffs: " + bpffs,
                "rtsp-listen: 127.0.0.1:18554",
                "sip-listen: 127.0.0.1:15060",
                "xdp: {enabled: false}",
                "datapath: {netdev-max-backlog: 100000, orphan-grace: 0s}",
                "streams:",
                "  - name: bench",
                "    listen: " + Topology.NODE_ADDR + ":" + Topology.STREAM_PORT,
                "    source: " + Topology.SENDER_ADDR,
                "    subscribers: [" + subs + "]",
                "");
    }

    @Override
    public void start(Topology topo, int n) throws Exception {
        this.topo = topo;
        bpffs = Path.of("/sys/fs/bpf/msmbench-" + topo.id + "-" + name());
        config = Files.createTempFile("msm-bench-agent", ".yaml");
        Files.writeString(config, yaml(topo, n, bpffs));
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                launcher.toString(),
                                "--config",
                                config.toString(),
                                "--metrics-listen",
                                METRICS));
        if (userspace) {
            cmd.add("--userspace");
        }
        process = NodeProcess.start(topo, "msm-agent-" + name(), cmd);
        long end = System.nanoTime() + 60_000_000_000L;
        while (!ready()) {
            process.checkAlive();
            if (System.nanoTime() > end) {
                throw new IllegalStateException(
                        "msm-agent (" + name() + ") not ready after 60 s:\n" + process.log());
            }
            Thread.sleep(100);
        }
        if (!userspace) {
            // subscribers are resolved asynchronously: wait until the kernel group holds all n
            pinned = Datapath.openPinned(bpffs);
            while (groupSize() < n) {
                process.checkAlive();
                if (System.nanoTime() > end) {
                    throw new IllegalStateException(
                            "the kernel group has "
                                    + groupSize()
                                    + " of "
                                    + n
                                    + " subscribers after 60 s:\n"
                                    + process.log());
                }
                Thread.sleep(100);
            }
        }
    }

    private int groupSize() {
        return pinned.fanoutGroups().entries().stream()
                .mapToInt(e -> e.getValue().subs().size())
                .max()
                .orElse(0);
    }

    @Override
    public Optional<long[]> ownCounters() {
        String body =
                topo.node.call(
                        () -> {
                            try {
                                HttpURLConnection c =
                                        (HttpURLConnection)
                                                URI.create("http://" + METRICS + "/metrics")
                                                        .toURL()
                                                        .openConnection();
                                c.setConnectTimeout(500);
                                c.setReadTimeout(5000);
                                return c.getResponseCode() == 200
                                        ? new String(c.getInputStream().readAllBytes(), UTF_8)
                                        : null;
                            } catch (IOException e) {
                                return null;
                            }
                        });
        if (body == null) {
            return Optional.empty();
        }
        PromText m = PromText.parse(body);
        return Optional.of(
                new long[] {
                    m.value("msm_stream_upstream_packets_total", "stream", "static/bench")
                            .orElse(-1.0)
                            .longValue(),
                    m.value("msm_stream_copies_total", "stream", "static/bench")
                            .orElse(-1.0)
                            .longValue(),
                    m.value("msm_stream_copy_errors_total", "stream", "static/bench")
                            .orElse(-1.0)
                            .longValue()
                });
    }

    private boolean ready() {
        return topo.node.call(
                () -> {
                    try {
                        HttpURLConnection c =
                                (HttpURLConnection)
                                        URI.create("http://" + METRICS + "/readyz")
                                                .toURL()
                                                .openConnection();
                        c.setConnectTimeout(500);
                        c.setReadTimeout(2000);
                        return c.getResponseCode() == 200;
                    } catch (IOException e) {
                        return false;
                    }
                });
    }

    @Override
    public List<Long> pids() {
        return process == null ? List.of() : List.of(process.pid());
    }

    @Override
    public Optional<ProgInfo> program() {
        return pinned == null ? Optional.empty() : Optional.of(pinned.progInfo(Datapath.PROG_TC));
    }

    @Override
    public void stop() {
        if (pinned != null) {
            pinned.close();
            pinned = null;
        }
        if (process != null) {
            process.stop();
            process = null;
        }
        if (bpffs != null) {
            if (!userspace && topo != null) {
                // detach from n-in and unpin, as an operator would
                Sh.exec(
                        60,
                        "nsenter",
                        "--net=/var/run/netns/" + topo.node.name(),
                        launcher.toString(),
                        "cleanup",
                        "--bpffs",
                        bpffs.toString());
            }
            Bpffs.removeTree(bpffs);
            bpffs = null;
        }
        if (config != null) {
            try {
                Files.deleteIfExists(config);
            } catch (IOException ignored) {
                // a temp file
            }
            config = null;
        }
    }
}
