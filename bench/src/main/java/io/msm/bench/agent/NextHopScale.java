package io.msm.bench.agent;

import io.msm.agent.datapath.Interfaces;
import io.msm.agent.net.NextHop;
import io.msm.agent.net.NextHops;
import io.msm.testkit.Names;
import io.msm.testkit.Netns;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How long the agent takes to find a subscriber's next hop (route, egress interface MAC, neighbour
 * MAC) — what every kernel-served viewer or call leg costs before its first copy — and to list the
 * interfaces it attaches to.
 *
 * <p>A throw-away namespace with one veth pair and N permanent neighbour entries on 10.77.0.0/16;
 * every destination is resolved once, cold (no cache), on a thread inside the namespace. No packet
 * is sent.
 *
 * <p>bench/agent/nexthops.sh [destinations=500] [rounds=3]
 */
public final class NextHopScale {
    private NextHopScale() {}

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 500;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        if (n < 1 || n > 60_000 || rounds < 1) {
            System.err.println("nexthops: destinations must be 1..60000 and rounds at least 1");
            System.exit(64);
        }
        if (!"root".equals(System.getProperty("user.name"))) {
            System.err.println("nexthops: needs root (it creates a network namespace)");
            System.exit(2);
        }
        try (Netns ns = Netns.create(Names.runId() + "-nh")) {
            ns.ip("link", "add", "nha", "type", "veth", "peer", "name", "nhb");
            ns.ip("addr", "add", "10.77.0.1/16", "dev", "nha");
            ns.ip("link", "set", "nha", "up");
            ns.ip("link", "set", "nhb", "up");
            List<InetAddress> dsts = new ArrayList<>();
            StringBuilder batch = new StringBuilder();
            for (int i = 0; i < n; i++) {
                int host = i + 2;
                String a = "10.77." + (host >> 8) + "." + (host & 0xff);
                dsts.add(InetAddress.getByName(a));
                batch.append(
                        String.format(
                                "neigh add %s lladdr 02:00:00:00:%02x:%02x nud permanent dev nha%n",
                                a, host >> 8, host & 0xff));
            }
            Path f = Files.createTempFile("msm-nh", ".batch");
            try {
                Files.writeString(f, batch);
                ns.ip("-batch", f.toString());
            } finally {
                Files.deleteIfExists(f);
            }
            System.out.printf(
                    "next-hop resolution: %d destinations, %d rounds, %d cores, %s%n",
                    n,
                    rounds,
                    Runtime.getRuntime().availableProcessors(),
                    System.getProperty("java.vm.version"));
            for (int r = 1; r <= rounds; r++) {
                long[] ns1 =
                        ns.call(
                                () -> {
                                    long[] t = new long[dsts.size()];
                                    for (int i = 0; i < dsts.size(); i++) {
                                        long t0 = System.nanoTime();
                                        NextHop h = NextHops.resolve(dsts.get(i), null, 0);
                                        t[i] = System.nanoTime() - t0;
                                        if (!"nha".equals(h.ifname())
                                                || h.dstMac()[5] != (byte) ((i + 2) & 0xff)) {
                                            throw new IllegalStateException(
                                                    "wrong next hop for " + dsts.get(i) + ": " + h);
                                        }
                                    }
                                    return t;
                                });
                long[] ifs =
                        ns.call(
                                () -> {
                                    long[] t = new long[20];
                                    for (int i = 0; i < t.length; i++) {
                                        long t0 = System.nanoTime();
                                        List<String> l = Interfaces.defaultSet();
                                        t[i] = System.nanoTime() - t0;
                                        if (!l.equals(List.of("nha", "nhb"))) {
                                            throw new IllegalStateException(
                                                    "default interface set " + l);
                                        }
                                    }
                                    return t;
                                });
                System.out.printf(
                        "round %d: resolve %s; total %.1f ms | interface list %s%n",
                        r, stats(ns1), Arrays.stream(ns1).sum() / 1e6, stats(ifs));
            }
        }
    }

    private static String stats(long[] t) {
        long[] s = t.clone();
        Arrays.sort(s);
        return String.format(
                "p50 %.1f µs, p99 %.1f µs, max %.1f µs",
                s[s.length / 2] / 1e3,
                s[Math.min(s.length - 1, (int) Math.ceil(s.length * 0.99) - 1)] / 1e3,
                s[s.length - 1] / 1e3);
    }
}
