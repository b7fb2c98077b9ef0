package io.msm.bench.fanout;

import io.msm.testkit.Sh;
import java.util.List;

/**
 * GStreamer's relay: {@code udpsrc ! multiudpsink} with the same receivers as clients (multiudpsink
 * sends each buffer to every client with sendmmsg). Socket buffers as large as msm's relay asks for
 * (4 MB, capped by net.core.[rw]mem_max like everyone's).
 */
final class GstreamerSut implements SystemUnderTest {
    static final String BINARY = "gst-launch-1.0";
    private NodeProcess process;

    @Override
    public String name() {
        return "gstreamer";
    }

    @Override
    public String label() {
        return "GStreamer udpsrc ! multiudpsink";
    }

    static boolean available() {
        return Sh.have(BINARY);
    }

    static String clients(int n) {
        StringBuilder c = new StringBuilder();
        for (int i = 0; i < n; i++) {
            c.append(i == 0 ? "" : ",")
                    .append(Topology.receiverAddr(i))
                    .append(':')
                    .append(Topology.RECEIVER_PORT);
        }
        return c.toString();
    }

    @Override
    public void start(Topology topo, int n) throws Exception {
        process =
                NodeProcess.start(
                        topo,
                        "gstreamer",
                        List.of(
                                BINARY,
                                "-q",
                                "udpsrc",
                                "address=" + Topology.NODE_ADDR,
                                "port=" + Topology.STREAM_PORT,
                                "buffer-size=4194304",
                                "!",
                                "multiudpsink",
                                "clients=" + clients(n),
                                "sync=false",
                                "async=false",
                                "buffer-size=4194304"));
        long end = System.nanoTime() + 30_000_000_000L;
        while (!bound(topo)) {
            process.checkAlive();
            if (System.nanoTime() > end) {
                throw new IllegalStateException(
                        "gst-launch did not bind "
                                + Topology.NODE_ADDR
                                + ":"
                                + Topology.STREAM_PORT
                                + " in 30 s:\n"
                                + process.log());
            }
            Thread.sleep(50);
        }
    }

    private static boolean bound(Topology topo) {
        Sh.Result r =
                Sh.exec(
                        "ip",
                        "netns",
                        "exec",
                        topo.node.name(),
                        "ss",
                        "-Hunl",
                        "src",
                        Topology.NODE_ADDR + ":" + Topology.STREAM_PORT);
        return r.exit() == 0 && !r.out().isBlank();
    }

    @Override
    public List<Long> pids() {
        return process == null ? List.of() : List.of(process.pid());
    }

    @Override
    public void stop() {
        if (process != null) {
            process.stop();
            process = null;
        }
    }
}
