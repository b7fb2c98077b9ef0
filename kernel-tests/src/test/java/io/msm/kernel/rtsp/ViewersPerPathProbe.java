package io.msm.kernel.rtsp;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.bpf.Bpffs;
import io.msm.testkit.AgentProcess;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Netns;
import io.msm.testkit.StarTopology;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A measurement, not a test (tag probe; run with {@code -Dgroups=probe -Dmsm.excludedGroups=none
 * -Dtest=ViewersPerPathProbe}): one published path, a synthetic 1 Mbit/s RTP stream (100 packets/s
 * of 1200 bytes), N RTSP viewers over UDP (one namespace, a port pair each), on the kernel plane
 * and in --userspace mode. Prints what fraction of the packets every viewer got and what CPU the
 * agent and the machine used.
 */
@KernelTest
@Tag("probe")
class ViewersPerPathProbe {
    static final int PPS = 100;
    static final int PAYLOAD = 1200;
    static final int[] VIEWERS = {50, 200, 500, 1000};
    static final String SDP =
            "v=0\r\no=- 1 1 IN IP4 10.77.1.2\r\ns=probe\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n"
                    + "a=rtpmap:96 H264/90000\r\na=control:streamid=0\r\n";

    @Test
    void kernelAndUserspace() throws Exception {
        List<String> rows = new ArrayList<>();
        for (boolean userspace : new boolean[] {false, true}) {
            for (int n : VIEWERS) {
                rows.add(run(userspace, n));
            }
        }
        System.out.println(
                "viewers-per-path probe: "
                        + PPS
                        + " pkt/s x "
                        + PAYLOAD
                        + " B, "
                        + Runtime.getRuntime().availableProcessors()
                        + " cores\n  mode       viewers  delivered(min/avg)  agent CPU  machine CPU");
        rows.forEach(r -> System.out.println("  " + r));
    }

    static String request(Socket s, String text) throws Exception {
        OutputStream o = s.getOutputStream();
        o.write(text.getBytes(StandardCharsets.ISO_8859_1));
        o.flush();
        InputStream in = s.getInputStream();
        StringBuilder b = new StringBuilder();
        while (!b.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                break;
            }
            b.append((char) c);
        }
        return b.toString();
    }

    static String session(String resp) {
        return resp.replaceAll("(?s).*Session: ([0-9a-f]+).*", "$1");
    }

    static long[] cpu(long pid) throws Exception {
        String[] f =
                Files.readString(Path.of("/proc/" + pid + "/stat")).split("\\) ")[1].split(" ");
        long agent = Long.parseLong(f[11]) + Long.parseLong(f[12]);
        String[] all = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split(" +");
        long busy = 0;
        long total = 0;
        for (int i = 1; i < all.length; i++) {
            long v = Long.parseLong(all[i]);
            total += v;
            if (i != 4 && i != 5) {
                busy += v;
            }
        }
        return new long[] {agent, busy, total};
    }

    String run(boolean userspace, int n) throws Exception {
        try (StarTopology topo = StarTopology.create(1)) {
            Path bpffs = Path.of("/sys/fs/bpf/msmtest-" + topo.id);
            Path config = Files.createTempFile("msm-probe", ".yaml");
            Files.writeString(
                    config,
                    "interfaces: [n-in, n-r0]\nbpffs: "
                            + bpffs
                            + "\nrtsp-listen: 0.0.0.0:8554\n"
                            + "sip-listen: 127.0.0.1:15060\ndatapath: {max-subscribers: 4096}\n"
                            // the publisher's namespace may publish; every viewer comes from one
                            // namespace (one source), so the per-source caps are the totals
                            + "rtsp: {max-sessions: 5000, max-connections: 5000,"
                            + " max-connections-per-source: 5000, max-sessions-per-source: 5000,"
                            + " defaults: {publish: {from: [10.77.1.0/24]}}}\n");
            List<String> args = new ArrayList<>(List.of("--config", config.toString()));
            if (userspace) {
                args.add("--userspace");
            }
            StarTopology.Receiver r = topo.receivers.get(0);
            Netns viewers = r.ns();
            List<AutoCloseable> open = new ArrayList<>();
            AtomicBoolean running = new AtomicBoolean(true);
            try (AgentProcess agent =
                    AgentProcess.start(topo.node, "127.0.0.1:9469", args).awaitReady(60_000)) {
                // publisher: ANNOUNCE, SETUP (UDP), RECORD, then RTP at PPS
                Socket pub = topo.sender.call(() -> new Socket("10.77.1.1", 8554));
                open.add(pub);
                request(
                        pub,
                        "ANNOUNCE rtsp://10.77.1.1:8554/cam RTSP/1.0\r\nCSeq: 1\r\nContent-Type: application/sdp\r\n"
                                + "Content-Length: "
                                + SDP.length()
                                + "\r\n\r\n"
                                + SDP);
                String setup =
                        request(
                                pub,
                                "SETUP rtsp://10.77.1.1:8554/cam/streamid=0 RTSP/1.0\r\nCSeq: 2\r\n"
                                        + "Transport: RTP/AVP;unicast;client_port=40000-40001;mode=record\r\n\r\n");
                int serverPort =
                        Integer.parseInt(setup.replaceAll("(?s).*server_port=(\\d+).*", "$1"));
                request(
                        pub,
                        "RECORD rtsp://10.77.1.1:8554/cam RTSP/1.0\r\nCSeq: 3\r\nSession: "
                                + session(setup)
                                + "\r\n\r\n");
                DatagramChannel rtp =
                        topo.sender.call(
                                () ->
                                        DatagramChannel.open()
                                                .bind(new InetSocketAddress("10.77.1.2", 40000)));
                open.add(rtp);
                AtomicLong sent = new AtomicLong();
                Thread sender =
                        new Thread(
                                () -> {
                                    ByteBuffer p = ByteBuffer.allocate(12 + PAYLOAD);
                                    long next = System.nanoTime();
                                    for (int seq = 0; running.get(); seq++) {
                                        p.clear();
                                        p.put((byte) 0x80)
                                                .put((byte) 96)
                                                .putShort((short) seq)
                                                .putInt(seq * 900)
                                                .putInt(0x1234);
                                        p.position(12 + PAYLOAD).flip();
                                        try {
                                            rtp.send(
                                                    p,
                                                    new InetSocketAddress("10.77.1.1", serverPort));
                                        } catch (Exception e) {
                                            return;
                                        }
                                        sent.incrementAndGet();
                                        next += 1_000_000_000L / PPS;
                                        long wait = next - System.nanoTime();
                                        if (wait > 0) {
                                            LockSupport.parkNanos(wait);
                                        }
                                    }
                                },
                                "probe-sender");
                sender.start();
                // viewers: a port pair each, one RTSP connection each
                AtomicLongArray got = new AtomicLongArray(n);
                Selector sel = Selector.open();
                open.add(sel);
                for (int i = 0; i < n; i++) {
                    int port = 30000 + 2 * i;
                    DatagramChannel a =
                            viewers.call(
                                    () ->
                                            DatagramChannel.open()
                                                    .bind(new InetSocketAddress(r.addr(), port)));
                    DatagramChannel b =
                            viewers.call(
                                    () ->
                                            DatagramChannel.open()
                                                    .bind(
                                                            new InetSocketAddress(
                                                                    r.addr(), port + 1)));
                    open.add(a);
                    open.add(b);
                    a.configureBlocking(false).register(sel, SelectionKey.OP_READ, i);
                    Socket s = viewers.call(() -> new Socket(r.nodeAddr(), 8554));
                    open.add(s);
                    String vs =
                            request(
                                    s,
                                    "SETUP rtsp://"
                                            + r.nodeAddr().getHostAddress()
                                            + ":8554/cam/trackID=0 RTSP/1.0\r\n"
                                            + "CSeq: 1\r\nTransport: RTP/AVP;unicast;client_port="
                                            + port
                                            + "-"
                                            + (port + 1)
                                            + "\r\n\r\n");
                    assertTrue(vs.startsWith("RTSP/1.0 200"), "viewer " + i + ": " + vs);
                    request(
                            s,
                            "PLAY rtsp://"
                                    + r.nodeAddr().getHostAddress()
                                    + ":8554/cam RTSP/1.0\r\nCSeq: 2\r\nSession: "
                                    + session(vs)
                                    + "\r\n\r\n");
                }
                Thread reader =
                        new Thread(
                                () -> {
                                    ByteBuffer buf = ByteBuffer.allocate(2048);
                                    try {
                                        while (running.get()) {
                                            sel.select(100);
                                            for (SelectionKey k : sel.selectedKeys()) {
                                                DatagramChannel c = (DatagramChannel) k.channel();
                                                buf.clear();
                                                while (c.receive(buf) != null) {
                                                    got.incrementAndGet((Integer) k.attachment());
                                                    buf.clear();
                                                }
                                            }
                                            sel.selectedKeys().clear();
                                        }
                                    } catch (Exception ignored) {
                                        // closed
                                    }
                                },
                                "probe-reader");
                reader.start();
                Thread.sleep(2000); // kernel subscribers are resolved asynchronously
                long[] g0 = new long[n];
                for (int i = 0; i < n; i++) {
                    g0[i] = got.get(i);
                }
                long s0 = sent.get();
                long[] c0 = cpu(agent.pid());
                Thread.sleep(5000);
                long s1 = sent.get();
                long[] c1 = cpu(agent.pid());
                Thread.sleep(300); // in flight
                double min = 1;
                double sum = 0;
                for (int i = 0; i < n; i++) {
                    double f = (double) (got.get(i) - g0[i]) / Math.max(1, s1 - s0);
                    min = Math.min(min, f);
                    sum += Math.min(1, f);
                }
                running.set(false);
                sender.join(2000);
                reader.join(2000);
                double hz = 100.0; // USER_HZ
                double agentCpu = (c1[0] - c0[0]) / hz / 5.0 * 100;
                double machine = (double) (c1[1] - c0[1]) / Math.max(1, c1[2] - c0[2]) * 100;
                return String.format(
                        "%-9s  %7d  %7.1f%% / %5.1f%%  %8.0f%%  %10.0f%%",
                        userspace ? "userspace" : "kernel",
                        n,
                        Math.min(min, 1) * 100,
                        sum / n * 100,
                        agentCpu,
                        machine);
            } finally {
                running.set(false);
                for (int i = open.size() - 1; i >= 0; i--) {
                    try {
                        open.get(i).close();
                    } catch (Exception ignored) {
                        // closing anyway
                    }
                }
                if (!userspace) {
                    AgentProcess.run(topo.node, "cleanup", "--bpffs", bpffs.toString());
                }
                Bpffs.removeTree(bpffs);
                Files.deleteIfExists(config);
            }
        }
    }
}
