package io.msm.kernel.agent;

import static io.msm.testkit.Timeouts.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.bpf.Bpffs;
import io.msm.bpf.Datapath;
import io.msm.bpf.attach.TcIngress;
import io.msm.bpf.maps.Attachment;
import io.msm.bpf.maps.FlowKey;
import io.msm.testkit.AgentProcess;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Names;
import io.msm.testkit.Netns;
import io.msm.testkit.Packets;
import io.msm.testkit.Veth;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * With no interfaces in its config the agent follows the default set: a veth that appears after it
 * started (a pod starting on a Kubernetes node) gets msm's TC program, and the media arriving on it
 * is classified; when the veth goes, its record goes too.
 */
@KernelTest
class InterfaceFollowTest {
    static Netns node;
    static Netns pod0;
    static Netns pod1;
    static Path bpffs;
    static Path config;
    static final String METRICS = "127.0.0.1:19473";

    @BeforeAll
    static void setUp() throws Exception {
        String id = Names.runId();
        node = Netns.create(id + "-fnode");
        pod0 = Netns.create(id + "-fpod0");
        pod1 = Netns.create(id + "-fpod1");
        Veth.create(node, "fv0", "10.93.0.1/24", pod0, "eth0", "10.93.0.2/24");
        bpffs = Path.of("/sys/fs/bpf/msmtest-" + id);
        config = Files.createTempFile("msm-follow", ".yaml");
        Files.writeString(
                config,
                "bpffs: "
                        + bpffs
                        + "\nrtsp-listen: 127.0.0.1:18556\nsip-listen: 127.0.0.1:15062\n");
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (node != null) {
            AgentProcess.run(node, "cleanup", "--bpffs", bpffs.toString());
        }
        for (Netns ns : new Netns[] {pod1, pod0, node}) {
            if (ns != null) {
                ns.close();
            }
        }
        Bpffs.removeTree(bpffs);
        Files.deleteIfExists(config);
    }

    static Optional<Integer> tcOn(String dev) {
        int ifindex = node.ifindex(dev);
        return node.call(
                () ->
                        TcIngress.query(
                                ifindex, TcIngress.DEFAULT_HANDLE, TcIngress.DEFAULT_PRIORITY));
    }

    @Test
    void aVethThatAppearsIsAttachedAndClassifiedAndForgottenWhenItGoes() throws Exception {
        try (AgentProcess agent =
                AgentProcess.start(node, METRICS, List.of("--config", config.toString()))) {
            agent.awaitReady(30_000);
            assertTrue(agent.log().contains("followed as links come and go"), agent.log());
            int tc;
            try (Datapath dp = Datapath.openPinned(bpffs)) {
                tc = dp.progInfo(Datapath.PROG_TC).id();
            }
            assertEquals(Optional.of(tc), tcOn("fv0"), "the interface there at start");
            assertEquals(1.0, agent.scrape().value("msm_datapath_interfaces").orElseThrow());

            // a pod starts: its veth appears on the node, comes up, gets an address
            Veth.create(node, "fv1", "10.93.1.1/24", pod1, "eth0", "10.93.1.2/24");
            long ms =
                    waitFor(
                            () -> tcOn("fv1").equals(Optional.of(tc)),
                            5000,
                            "msm's TC program on the new veth");
            System.out.println(
                    "InterfaceFollowTest: the new veth had msm's TC program "
                            + ms
                            + " ms after it came up");

            // media from the new pod is classified there
            pod1.run(
                    () -> {
                        try (DatagramChannel ch =
                                DatagramChannel.open()
                                        .bind(new InetSocketAddress("10.93.1.2", 40000))) {
                            for (int i = 0; i < 3; i++) {
                                ch.send(
                                        ByteBuffer.wrap(
                                                Packets.rtp(i, i * 3000L, 0x1234, 96, false, 20)),
                                        new InetSocketAddress("10.93.1.1", 5004));
                            }
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    });
            FlowKey k =
                    FlowKey.udp(Packets.addr("10.93.1.2"), 40000, Packets.addr("10.93.1.1"), 5004);
            try (Datapath dp = Datapath.openPinned(bpffs)) {
                waitFor(
                        () -> dp.flows().lookup(k).map(f -> f.packets() == 3).orElse(false),
                        3000,
                        "the new pod's 3 packets in the flow table");
                int fv1 = node.ifindex("fv1");
                assertTrue(
                        dp.attachments().lookup(fv1).map(a -> a.has(Attachment.F_TC)).orElse(false),
                        "recorded, so cleanup finds it");

                // the pod goes: its veth with it
                node.ip("link", "del", "fv1");
                waitFor(
                        () -> dp.attachments().lookup(fv1).isEmpty(),
                        5000,
                        "the gone veth's record removed");
            }
            waitFor(
                    () -> agent.scrape().value("msm_datapath_interfaces").orElse(-1.0) == 1.0,
                    5000,
                    "one interface attached again");
            assertTrue(
                    agent.scrape().value("msm_datapath_interface_changes_total").orElseThrow() >= 2,
                    "two changes counted");
            assertEquals(Optional.of(tc), tcOn("fv0"), "the first interface untouched");
            assertTrue(agent.log().contains("attached to [fv1]"), agent.log());
            assertFalse(agent.log().contains("level=ERROR"), agent.log());
            assertEquals(0, agent.stop());
        }
    }
}
