package io.msm.testkit;

import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.attach.TcIngress;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.FanoutSub;
import io.msm.bpf.maps.Flow;
import io.msm.bpf.maps.FlowKey;
import io.msm.bpf.maps.GroupStats;
import io.msm.bpf.maps.PortTable;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * The datapath on its own, in a namespace "cluster": a sender streams RTP to the node, the kernel
 * fans it out to N receivers, and a table shows every second what each receiver got and what the
 * kernel counted. Runs for DEMO_SECONDS (default 15) or until Ctrl-C, then removes everything.
 */
public final class DatapathDemo {
    private DatapathDemo() {}

    public static void main(String[] args) throws Exception {
        int n = Integer.parseInt(System.getenv().getOrDefault("DEMO_RECEIVERS", "4"));
        int seconds = Integer.parseInt(System.getenv().getOrDefault("DEMO_SECONDS", "15"));
        int pps = 200;
        String why = KernelTestCondition.whyNot();
        if (why != null) {
            System.err.println("demo needs root and BPF: " + why);
            System.exit(2);
        }
        StarTopology topo = StarTopology.create(n);
        Datapath dp =
                Datapath.load(DatapathSpec.DEFAULT.withFlows(4096).withGroups(4).withSubIds(64));
        List<DatagramChannel> socks = new ArrayList<>();
        List<CountingReceiver> receivers = new ArrayList<>();
        Thread cleanup =
                new Thread(
                        () -> {
                            receivers.forEach(
                                    c -> {
                                        try {
                                            c.close();
                                        } catch (Exception ignored) {
                                            // closing anyway
                                        }
                                    });
                            socks.forEach(
                                    c -> {
                                        try {
                                            c.close();
                                        } catch (Exception ignored) {
                                            // closing anyway
                                        }
                                    });
                            dp.close();
                            topo.close();
                            System.out.println("demo: namespaces, links, filters removed");
                        });
        Runtime.getRuntime().addShutdownHook(cleanup);

        dp.configure(DatapathConfig.defaults(), PortTable.defaults());
        int inIf = topo.node.ifindex(StarTopology.NODE_IN_IF);
        topo.node.run(
                () ->
                        TcIngress.attach(
                                inIf,
                                dp.progFd(Datapath.PROG_TC),
                                TcIngress.DEFAULT_HANDLE,
                                TcIngress.DEFAULT_PRIORITY,
                                false));
        List<FanoutSub> subs = new ArrayList<>();
        CountingReceiver[] got = new CountingReceiver[n];
        for (StarTopology.Receiver r : topo.receivers) {
            subs.add(
                    new FanoutSub(
                            topo.node.ifindex(r.nodeIf()),
                            r.index(),
                            r.ns().mac(r.ifname()),
                            topo.node.mac(r.nodeIf()),
                            r.nodeAddr(),
                            r.addr(),
                            5004,
                            6000,
                            0));
            got[r.index()] = CountingReceiver.bind(r.ns(), new InetSocketAddress(r.addr(), 6000));
            receivers.add(got[r.index()]);
        }
        FanoutKey key = new FanoutKey(StarTopology.NODE_IN_ADDR, 5004);
        dp.fanoutGroups().update(key, new FanoutGroup(0, 0, null, 0, subs));
        System.out.printf(
                "demo: sender %s -> node %s:5004, kernel fan-out to %d receivers (namespaces %s-*)%n",
                StarTopology.SENDER_ADDR.getHostAddress(),
                StarTopology.NODE_IN_ADDR.getHostAddress(),
                n,
                topo.id);

        DatagramChannel snd =
                topo.sender.call(
                        () ->
                                DatagramChannel.open()
                                        .bind(
                                                new InetSocketAddress(
                                                        StarTopology.SENDER_ADDR, 40000)));
        socks.add(snd);
        long start = System.nanoTime();
        int seq = 0;
        long nextReport = start + 1_000_000_000L;
        while (System.nanoTime() - start < seconds * 1_000_000_000L) {
            byte[] pkt = Packets.rtp(seq & 0xffff, seq * (90000L / pps), 0xD3E0, 96, false, 1188);
            snd.send(ByteBuffer.wrap(pkt), new InetSocketAddress(StarTopology.NODE_IN_ADDR, 5004));
            seq++;
            long due = start + seq * (1_000_000_000L / pps);
            long now = System.nanoTime();
            if (due > now) {
                Thread.sleep((due - now) / 1_000_000, (int) ((due - now) % 1_000_000));
            }
            if (now >= nextReport) {
                nextReport += 1_000_000_000L;
                report(dp, key, seq, got);
            }
        }
        report(dp, key, seq, got);
        System.exit(0);
    }

    private static void report(Datapath dp, FanoutKey key, int sent, CountingReceiver[] got) {
        GroupStats g = GroupStats.sum(dp.groupStats().lookupPerCpu(0).orElseThrow());
        Flow f =
                dp.flows()
                        .lookup(
                                FlowKey.udp(
                                        StarTopology.SENDER_ADDR,
                                        40000,
                                        StarTopology.NODE_IN_ADDR,
                                        5004))
                        .orElse(null);
        StringBuilder sb = new StringBuilder();
        sb.append(
                String.format(
                        "sent %6d | kernel: upstream %6d, copies %7d, errors %d",
                        sent, g.packets(), g.copies(), g.errors()));
        if (f != null) {
            sb.append(
                    String.format(
                            " | flow %s lost %d jitter %.2f ms",
                            f.trafficClass().label(), f.rtp().lost(), f.rtp().jitterMs()));
        }
        sb.append("\n  receivers:");
        for (int i = 0; i < got.length; i++) {
            sb.append(String.format(" r%d=%d", i, got[i].count()));
        }
        System.out.println(sb);
    }
}
