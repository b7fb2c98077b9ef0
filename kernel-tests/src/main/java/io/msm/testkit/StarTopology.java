package io.msm.testkit;

import java.net.Inet4Address;
import java.util.ArrayList;
import java.util.List;

/**
 * The fan-out test bed: a sender, a node, and N receivers, each in a namespace of its own, joined
 * to the node by veth pairs.
 *
 * <pre>
 *  [sender] s0 10.77.1.2 ── n-in 10.77.1.1 [node] n-r{i} 10.77.(10+i).1 ── r{i} 10.77.(10+i).2 [recv i]
 * </pre>
 *
 * Receivers beyond 240 use 10.78.x.y. All names carry the run id, and {@link #close()} deletes
 * every namespace (and with them every link, qdisc and filter).
 */
public final class StarTopology implements AutoCloseable {
    public final String id;
    public final Netns sender;
    public final Netns node;
    public final List<Receiver> receivers = new ArrayList<>();
    public static final String SENDER_IF = "s0";
    public static final String NODE_IN_IF = "n-in";
    public static final Inet4Address SENDER_ADDR = (Inet4Address) Packets.addr("10.77.1.2");
    public static final Inet4Address NODE_IN_ADDR = (Inet4Address) Packets.addr("10.77.1.1");

    /**
     * @param ns the receiver's namespace
     * @param ifname its interface
     * @param addr its address
     * @param nodeIf the node-side interface towards it
     * @param nodeAddr the node's address on that link
     */
    public record Receiver(
            int index,
            Netns ns,
            String ifname,
            Inet4Address addr,
            String nodeIf,
            Inet4Address nodeAddr) {}

    private StarTopology(String id, Netns sender, Netns node) {
        this.id = id;
        this.sender = sender;
        this.node = node;
    }

    public static StarTopology create(int receivers) {
        String id = Names.runId();
        Netns sender = null;
        Netns node = null;
        StarTopology t = null;
        try {
            sender = Netns.create(id + "-snd");
            node = Netns.create(id + "-node");
            t = new StarTopology(id, sender, node);
            Veth.create(sender, SENDER_IF, "10.77.1.2/24", node, NODE_IN_IF, "10.77.1.1/24");
            node.exec("sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
            for (int i = 0; i < receivers; i++) {
                String net = i < 240 ? "10.77." + (10 + i) : "10.78." + (i - 240);
                Netns r = Netns.create(id + "-r" + i);
                t.receivers.add(
                        new Receiver(
                                i,
                                r,
                                "r" + i,
                                (Inet4Address) Packets.addr(net + ".2"),
                                "n-r" + i,
                                (Inet4Address) Packets.addr(net + ".1")));
                Veth.create(node, "n-r" + i, net + ".1/24", r, "r" + i, net + ".2/24");
            }
            return t;
        } catch (RuntimeException e) {
            if (t != null) {
                t.close();
            } else {
                if (node != null) {
                    node.close();
                }
                if (sender != null) {
                    sender.close();
                }
            }
            throw e;
        }
    }

    @Override
    public void close() {
        for (Receiver r : receivers) {
            r.ns.close();
        }
        node.close();
        sender.close();
    }
}
