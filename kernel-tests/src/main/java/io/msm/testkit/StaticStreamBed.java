package io.msm.testkit;

import io.msm.bpf.Bpffs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link StarTopology} with a counting receiver on port 6000 of every receiver, a bpffs directory
 * of its own and an agent config whose static stream "cam" (on the node's n-in address, port 5004)
 * is sent to all of them. {@link #close} removes everything: receivers, what the agent left ({@code
 * msm-agent cleanup}), namespaces, pins, the config file.
 */
public final class StaticStreamBed implements AutoCloseable {
    public static final int STREAM_PORT = 5004;
    public static final int RECEIVER_PORT = 6000;

    public final StarTopology topo;
    public final Path bpffs;
    public final Path config;
    private final CountingReceiver[] got;

    private StaticStreamBed(StarTopology topo, Path bpffs, Path config, CountingReceiver[] got) {
        this.topo = topo;
        this.bpffs = bpffs;
        this.config = config;
        this.got = got;
    }

    /**
     * @param settings config lines besides interfaces, bpffs and streams (listeners, timers…)
     * @param streamExtra more lines of the stream's entry (e.g. "source: 10.77.1.2"), or none
     */
    public static StaticStreamBed create(
            int receivers, List<String> settings, String... streamExtra) {
        StarTopology topo = StarTopology.create(receivers);
        Path bpffs = Path.of("/sys/fs/bpf/msmtest-" + topo.id);
        CountingReceiver[] got = new CountingReceiver[receivers];
        StaticStreamBed bed = new StaticStreamBed(topo, bpffs, null, got);
        try {
            StringBuilder subs = new StringBuilder();
            for (StarTopology.Receiver r : topo.receivers) {
                subs.append(subs.length() == 0 ? "" : ", ")
                        .append(r.addr().getHostAddress())
                        .append(':')
                        .append(RECEIVER_PORT);
                got[r.index()] =
                        CountingReceiver.bind(
                                r.ns(), new InetSocketAddress(r.addr(), RECEIVER_PORT));
            }
            List<String> lines = new ArrayList<>();
            lines.add("interfaces: [" + StarTopology.NODE_IN_IF + "]");
            lines.add("bpffs: " + bpffs);
            lines.addAll(settings);
            lines.add("streams:");
            lines.add("  - name: cam");
            lines.add(
                    "    listen: "
                            + StarTopology.NODE_IN_ADDR.getHostAddress()
                            + ":"
                            + STREAM_PORT);
            for (String x : streamExtra) {
                lines.add("    " + x);
            }
            lines.add("    subscribers: [" + subs + "]");
            Path config = Files.createTempFile("msm-agent", ".yaml");
            Files.writeString(config, String.join("\n", lines) + "\n");
            return new StaticStreamBed(topo, bpffs, config, got);
        } catch (IOException | RuntimeException e) {
            bed.close();
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
    }

    /** Datagrams receiver i got so far. */
    public long count(int i) {
        return got[i].count();
    }

    /** The fewest datagrams any receiver got. */
    public long min() {
        long m = Long.MAX_VALUE;
        for (CountingReceiver c : got) {
            m = Math.min(m, c.count());
        }
        return m;
    }

    /** --config and the file, for {@link AgentProcess#start}. */
    public List<String> configArgs() {
        return List.of("--config", config.toString());
    }

    @Override
    public void close() {
        for (CountingReceiver c : got) {
            if (c != null) {
                try {
                    c.close();
                } catch (IOException ignored) {
                    // closing a test socket
                }
            }
        }
        AgentProcess.run(topo.node, "cleanup", "--bpffs", bpffs.toString());
        topo.close();
        Bpffs.removeTree(bpffs);
        if (config != null) {
            try {
                Files.deleteIfExists(config);
            } catch (IOException ignored) {
                // a temp file
            }
        }
    }
}
