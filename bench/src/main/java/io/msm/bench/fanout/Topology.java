package io.msm.bench.fanout;

import io.msm.testkit.Names;
import io.msm.testkit.Netns;
import io.msm.testkit.Sh;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The bench's namespaces: a sender, the node under test, and one receiver namespace holding the far
 * ends of N veth pairs.
 *
 * <pre>
 *  [snd] s0 10.79.0.2 ── n-in 10.79.0.1 [node] n-r{i} 10.80.x.(4i+1) ── r{i} 10.80.x.(4i+2) [rcv]
 * </pre>
 *
 * Each receiver is its own veth pair and /30, so every copy leaves the node by its own device, as
 * it would towards N pods; the receivers' ends share one namespace because a namespace per receiver
 * adds nothing to what is measured but setup time (1024 of them). Links are made in batches ({@code
 * ip -batch}); MAC addresses are fixed and the node has permanent neighbour entries, so no ARP
 * happens during a measurement and the three systems under test see identical next hops.
 *
 * <p>CPU placement (see BENCH-NOTES): the sender is pinned to CPU 0 and has it to itself; RPS sends
 * the node's receive work on n-in to CPU 1, where the systems under test are pinned. A copy sent to
 * a receiver veth is received on the CPU that sent it (no RPS there), so the receivers' (sink) work
 * also lands on CPU 1 — like pods on the same node. The node-only view takes it away (receivers
 * down).
 */
public final class Topology implements AutoCloseable {
    public static final String SENDER_IF = "s0";
    public static final String NODE_IN_IF = "n-in";
    public static final String SENDER_ADDR = "10.79.0.2";
    public static final String NODE_ADDR = "10.79.0.1";
    public static final String SENDER_MAC = "02:6d:73:00:00:01";
    public static final String NODE_IN_MAC = "02:6d:73:00:00:02";
    public static final int NODE_CPU = 1;
    public static final int SENDER_CPU = 0;
    static final int STREAM_PORT = 5004;
    static final int RECEIVER_PORT = 6000;

    final String id;
    public final Netns sender;
    public final Netns node;
    public final Netns receivers;
    final int size;

    private Topology(String id, Netns sender, Netns node, Netns receivers, int size) {
        this.id = id;
        this.sender = sender;
        this.node = node;
        this.receivers = receivers;
        this.size = size;
    }

    static String nodeIf(int i) {
        return "n-r" + i;
    }

    static String receiverIf(int i) {
        return "r" + i;
    }

    /** 10.80.0.0/18 carved into /30s: receiver i has .(4i+2), the node .(4i+1). */
    public static String receiverAddr(int i) {
        int host = 4 * i + 2;
        return "10.80." + (host >> 8) + "." + (host & 255);
    }

    static String nodeAddr(int i) {
        int host = 4 * i + 1;
        return "10.80." + (host >> 8) + "." + (host & 255);
    }

    static String receiverMac(int i) {
        return String.format("02:6d:72:%02x:%02x:02", i >> 8, i & 255);
    }

    static String nodeMac(int i) {
        return String.format("02:6d:72:%02x:%02x:01", i >> 8, i & 255);
    }

    /**
     * The receiver's address as the sink keys it: IPv4 in network order read as a little-endian
     * u32.
     */
    static int receiverKey(int i) {
        int host = 4 * i + 2;
        int a = 10, b = 80, c = host >> 8, d = host & 255;
        return a | b << 8 | c << 16 | d << 24;
    }

    public static Topology create(int size) {
        if (size < 1 || size > 4096) {
            throw new IllegalArgumentException("receivers must be 1..4096, got " + size);
        }
        String id = Names.runId();
        List<Netns> made = new ArrayList<>();
        try {
            Netns snd = Netns.create(id + "-snd");
            made.add(snd);
            Netns node = Netns.create(id + "-node");
            made.add(node);
            Netns rcv = Netns.create(id + "-rcv");
            made.add(rcv);
            Topology t = new Topology(id, snd, node, rcv, size);
            t.build();
            return t;
        } catch (RuntimeException e) {
            for (Netns ns : made) {
                ns.close();
            }
            throw e;
        }
    }

    private void build() {
        List<String> nodeCmds = new ArrayList<>();
        nodeCmds.add(
                "link add "
                        + NODE_IN_IF
                        + " address "
                        + NODE_IN_MAC
                        + " type veth peer name "
                        + SENDER_IF
                        + " address "
                        + SENDER_MAC
                        + " netns "
                        + sender.name());
        nodeCmds.add("addr add " + NODE_ADDR + "/30 dev " + NODE_IN_IF);
        nodeCmds.add("link set " + NODE_IN_IF + " up");
        nodeCmds.add(
                "neigh replace "
                        + SENDER_ADDR
                        + " lladdr "
                        + SENDER_MAC
                        + " dev "
                        + NODE_IN_IF
                        + " nud permanent");
        for (int i = 0; i < size; i++) {
            nodeCmds.add(
                    "link add "
                            + nodeIf(i)
                            + " address "
                            + nodeMac(i)
                            + " type veth peer name "
                            + receiverIf(i)
                            + " address "
                            + receiverMac(i)
                            + " netns "
                            + receivers.name());
            nodeCmds.add("addr add " + nodeAddr(i) + "/30 dev " + nodeIf(i));
            nodeCmds.add("link set " + nodeIf(i) + " up");
        }
        batch(node, nodeCmds);
        // permanent neighbours once the links are up (an address on a down link has no route yet)
        List<String> neigh = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            neigh.add(
                    "neigh replace "
                            + receiverAddr(i)
                            + " lladdr "
                            + receiverMac(i)
                            + " dev "
                            + nodeIf(i)
                            + " nud permanent");
        }
        batch(node, neigh);

        batch(
                sender,
                List.of(
                        "addr add " + SENDER_ADDR + "/30 dev " + SENDER_IF,
                        "link set " + SENDER_IF + " up",
                        "neigh replace "
                                + NODE_ADDR
                                + " lladdr "
                                + NODE_IN_MAC
                                + " dev "
                                + SENDER_IF
                                + " nud permanent"));

        List<String> rcvCmds = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            rcvCmds.add("addr add " + receiverAddr(i) + "/30 dev " + receiverIf(i));
            rcvCmds.add("link set " + receiverIf(i) + " up");
        }
        batch(receivers, rcvCmds);

        rps(node, List.of(NODE_IN_IF), 1 << NODE_CPU);
    }

    /** Run ip commands in ns from a file: one process for thousands of links. */
    static void batch(Netns ns, List<String> commands) {
        Path f = null;
        try {
            f = Files.createTempFile("msm-bench-ip", ".batch");
            Files.write(f, commands);
            Sh.Result r = Sh.exec(120, "ip", "-n", ns.name(), "-batch", f.toString());
            if (r.exit() != 0) {
                throw new IllegalStateException(
                        "ip -batch in "
                                + ns.name()
                                + " failed (exit "
                                + r.exit()
                                + "): "
                                + r.err().trim());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write an ip batch file: " + e.getMessage(), e);
        } finally {
            if (f != null) {
                try {
                    Files.deleteIfExists(f);
                } catch (IOException ignored) {
                    // a temp file
                }
            }
        }
    }

    /** Set rps_cpus on each interface's rx-0 (inside ns: ip netns exec gives it its own /sys). */
    public static void rps(Netns ns, List<String> ifnames, int cpuMask) {
        StringBuilder script = new StringBuilder();
        for (String i : ifnames) {
            script.append("echo ")
                    .append(Integer.toHexString(cpuMask))
                    .append(" > /sys/class/net/")
                    .append(i)
                    .append("/queues/rx-0/rps_cpus || exit 1\n");
        }
        Sh.Result r = Sh.exec(120, "ip", "netns", "exec", ns.name(), "sh", "-c", script.toString());
        if (r.exit() != 0) {
            throw new IllegalStateException(
                    "cannot set RPS in " + ns.name() + ": " + r.err().trim());
        }
    }

    /**
     * Bring the receivers' ends of links 0..n-1 up or down (down: the node's copies become TX
     * drops).
     */
    public void receiversUp(int n, boolean up) {
        List<String> cmds = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            cmds.add("link set " + receiverIf(i) + (up ? " up" : " down"));
        }
        batch(receivers, cmds);
    }

    public List<String> receiverIfs(int n) {
        List<String> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            l.add(receiverIf(i));
        }
        return l;
    }

    @Override
    public void close() {
        receivers.close();
        node.close();
        sender.close();
    }
}
