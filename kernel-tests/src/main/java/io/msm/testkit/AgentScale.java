package io.msm.testkit;

import io.msm.bpf.Bpffs;
import io.msm.bpf.Datapath;
import io.msm.bpf.maps.BpfMap;
import io.msm.bpf.maps.Flow;
import io.msm.bpf.maps.FlowKey;
import io.msm.bpf.maps.RtpStats;
import io.msm.bpf.maps.TrafficClass;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Agent footprint (issue 3's performance targets, measured, not asserted): idle RSS of a running
 * msm-agent, and /metrics scrape time with a flow table of N flows. Runs the real agent jar in a
 * throw-away namespace.
 *
 * <p>bench/agent/agent-scale.sh [flows] [scrapes]
 */
public final class AgentScale {
    private AgentScale() {}

    public static void main(String[] args) throws Exception {
        int flows = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        int scrapes = args.length > 1 ? Integer.parseInt(args[1]) : 30;
        String why = KernelTestCondition.whyNot();
        if (why != null) {
            System.err.println("agent-scale: " + why);
            System.exit(2);
        }
        String id = Names.runId();
        Path bpffs = Path.of("/sys/fs/bpf/msmscale-" + id);
        try (Netns ns = Netns.create(id + "-scale")) {
            Veth.create(ns, "sa", "10.88.0.1/24", ns, "sb", "10.88.0.2/24");
            Path cfg = Files.createTempFile("msm-scale", ".yaml");
            Files.writeString(
                    cfg,
                    "interfaces: [sa]\nbpffs: "
                            + bpffs
                            + "\nrtsp-listen: 127.0.0.1:18554\n"
                            + "sip-listen: 127.0.0.1:15060\nflows: {idle-timeout: 10m, expiry-interval: 1s}\n");
            try (AgentProcess agent =
                    AgentProcess.start(
                            ns, "127.0.0.1:19470", List.of("--config", cfg.toString()))) {
                agent.awaitReady(60_000);
                Thread.sleep(5000);
                long rssIdle = rssKb(agent.pid());
                try (Datapath dp = Datapath.openPinned(bpffs)) {
                    fill(dp.flows(), flows);
                }
                Thread.sleep(1500); // one expiry pass to count them
                List<Double> ms = new ArrayList<>();
                agent.get("/metrics"); // warm-up
                for (int i = 0; i < scrapes; i++) {
                    long t0 = System.nanoTime();
                    String r = agent.get("/metrics");
                    ms.add((System.nanoTime() - t0) / 1e6);
                    if (!r.startsWith("200")) {
                        throw new IllegalStateException("scrape failed: " + r);
                    }
                }
                PromText p = agent.scrape();
                double active = 0;
                for (TrafficClass c : TrafficClass.values()) {
                    active += p.value("msm_flows_active", "class", c.label()).orElse(0.0);
                }
                Collections.sort(ms);
                // the same scrape by curl (no JVM client, no per-request thread): the server's own
                // time
                List<Double> curl = new ArrayList<>();
                if (Sh.have("curl")) {
                    for (int i = 0; i < scrapes; i++) {
                        Sh.Result r =
                                Sh.exec(
                                        "nsenter",
                                        "--net=/var/run/netns/" + ns.name(),
                                        "curl",
                                        "-s",
                                        "-o",
                                        "/dev/null",
                                        "-w",
                                        "%{time_total}",
                                        "http://127.0.0.1:19470/metrics");
                        curl.add(Double.parseDouble(r.out().trim()) * 1000);
                    }
                    Collections.sort(curl);
                }
                System.out.printf(
                        "agent idle RSS: %.1f MB (after start, before traffic)%n",
                        rssIdle / 1024.0);
                System.out.printf(
                        "agent RSS with %d flows after %d scrapes: %.1f MB%n",
                        flows, scrapes, rssKb(agent.pid()) / 1024.0);
                System.out.printf(
                        "/metrics scrape with %d flows in the table (msm_flows_active sums to %.0f): "
                                + "median %.1f ms, p90 %.1f ms, max %.1f ms over %d scrapes (HTTP round trip included)%n",
                        flows,
                        active,
                        ms.get(ms.size() / 2),
                        ms.get((int) (ms.size() * 0.9)),
                        ms.get(ms.size() - 1),
                        scrapes);
                if (!curl.isEmpty()) {
                    System.out.printf(
                            "/metrics scrape by curl: median %.1f ms, p90 %.1f ms, max %.1f ms%n",
                            curl.get(curl.size() / 2),
                            curl.get((int) (curl.size() * 0.9)),
                            curl.get(curl.size() - 1));
                }
            } finally {
                AgentProcess.run(ns, "cleanup", "--bpffs", bpffs.toString());
                Files.deleteIfExists(cfg);
                Bpffs.removeTree(bpffs);
            }
        }
    }

    static long rssKb(long pid) throws Exception {
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (l.startsWith("VmRSS:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    static void fill(BpfMap<FlowKey, Flow> m, int n) throws Exception {
        long now = System.nanoTime();
        TrafficClass[] cls = {
            TrafficClass.RTP, TrafficClass.RTCP, TrafficClass.GAME, TrafficClass.OTHER
        };
        for (int i = 0; i < n; i++) {
            InetAddress src =
                    InetAddress.getByAddress(new byte[] {10, 1, (byte) (i >> 8), (byte) i});
            FlowKey k =
                    FlowKey.udp(src, 10000 + (i % 50000), InetAddress.getByName("10.2.0.1"), 5004);
            m.update(
                    k,
                    new Flow(
                            cls[i % 4].id(),
                            0,
                            0,
                            1000 + i,
                            1_200_000L + i,
                            now - 1_000_000_000L,
                            now,
                            RtpStats.EMPTY));
        }
    }
}
