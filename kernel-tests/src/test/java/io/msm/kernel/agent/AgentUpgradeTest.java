package io.msm.kernel.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.bpf.Bpffs;
import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.attach.TcIngress;
import io.msm.bpf.attach.Xdp;
import io.msm.bpf.attach.XdpMode;
import io.msm.bpf.maps.Flow;
import io.msm.bpf.maps.FlowKey;
import io.msm.bpf.maps.Meta;
import io.msm.bpf.maps.RtpStats;
import io.msm.bpf.maps.TrafficClass;
import io.msm.testkit.AgentProcess;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Names;
import io.msm.testkit.Netns;
import io.msm.testkit.Packets;
import io.msm.testkit.Sh;
import io.msm.testkit.Timeouts;
import io.msm.testkit.Veth;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What a starting agent does with pins it finds: new code on the same layout is swapped in with the
 * maps kept; another layout is replaced, or refused when the config says so; idle flows are
 * expired.
 */
@KernelTest
class AgentUpgradeTest {
    static Netns ns;
    static Path bpffs;
    static Path config;
    static final String METRICS = "127.0.0.1:19471";
    static final FlowKey KEPT =
            FlowKey.udp(Packets.addr("10.5.0.1"), 1000, Packets.addr("10.5.0.2"), 2000);

    @BeforeAll
    static void setUp() throws Exception {
        String id = Names.runId();
        ns = Netns.create(id + "-upg");
        Veth.create(ns, "ua", "10.89.0.1/24", ns, "ub", "10.89.0.2/24");
        bpffs = Path.of("/sys/fs/bpf/msmtest-" + id);
        config = Files.createTempFile("msm-upgrade", ".yaml");
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (ns != null) {
            AgentProcess.run(ns, "cleanup", "--bpffs", bpffs.toString());
            ns.close();
        }
        Bpffs.removeTree(bpffs);
        Files.deleteIfExists(config);
    }

    static void writeConfig(String extra) throws Exception {
        Files.writeString(
                config,
                "interfaces: [ua]\nbpffs: "
                        + bpffs
                        + "\nrtsp-listen: 127.0.0.1:18555\n"
                        + "sip-listen: 127.0.0.1:15061\nflows: {idle-timeout: 2s, expiry-interval: 500ms}\n"
                        + extra);
    }

    /** Pin a datapath as an older agent would have left it, with one flow in it. */
    static void pinOld(int layoutVersion, byte[] sha) {
        Bpffs.removeTree(bpffs);
        try (Datapath dp = Datapath.load(DatapathSpec.DEFAULT)) {
            dp.pin(bpffs);
            dp.meta().update(0, new Meta(Meta.MAGIC, layoutVersion, System.nanoTime(), sha));
            long now = System.nanoTime();
            dp.flows()
                    .update(
                            KEPT,
                            new Flow(
                                    TrafficClass.RTP.id(),
                                    0,
                                    0,
                                    5,
                                    500,
                                    now,
                                    now + 3_600_000_000_000L,
                                    RtpStats.EMPTY)); // "last seen" an hour ahead: never idle
            // during the test
        }
    }

    @Test
    void newCodeOnTheSameLayoutKeepsTheMaps() throws Exception {
        writeConfig("");
        pinOld(Meta.LAYOUT_VERSION, new byte[32]); // same layout, another object
        int oldTc;
        try (Datapath before = Datapath.openPinned(bpffs)) {
            oldTc = before.progInfo(Datapath.PROG_TC).id();
        }
        try (AgentProcess agent =
                AgentProcess.start(ns, METRICS, List.of("--config", config.toString()))) {
            agent.awaitReady(30_000);
            assertTrue(agent.log().contains("datapath=upgraded"), agent.log());
            try (Datapath after = Datapath.openPinned(bpffs)) {
                assertTrue(
                        after.flows().lookup(KEPT).isPresent(),
                        "the flow table survived the upgrade");
                assertTrue(after.progInfo(Datapath.PROG_TC).id() != oldTc, "new program pinned");
                assertEquals(
                        HexFormat.of().formatHex(Datapath.sha256(Datapath.objectBytes())),
                        after.meta().lookup(0).orElseThrow().shaHex(),
                        "identity updated");
            }
            assertEquals(0, agent.stop());
        }
    }

    @Test
    void anotherLayoutIsRefusedWhenConfiguredSo() throws Exception {
        writeConfig("datapath: {on-layout-change: refuse}\n");
        pinOld(Meta.LAYOUT_VERSION - 1, new byte[32]);
        Sh.Result r =
                Sh.exec(
                        (int) (Timeouts.ms(60_000) / 1000),
                        "nsenter",
                        "--net=/var/run/netns/" + ns.name(),
                        AgentProcess.launcher().toString(),
                        "--config",
                        config.toString(),
                        "--metrics-listen",
                        METRICS);
        assertEquals(2, r.exit(), r.out() + r.err());
        assertTrue(r.err().contains("config error: datapath.on-layout-change:"), r.err());
        assertTrue(r.err().contains("layout v" + (Meta.LAYOUT_VERSION - 1)), r.err());
        assertTrue(Datapath.pinsPresent(bpffs), "the old datapath is left alone");
    }

    @Test
    void anotherLayoutIsReplacedByDefaultAndIdleFlowsExpire() throws Exception {
        writeConfig("");
        pinOld(Meta.LAYOUT_VERSION - 1, new byte[32]);
        try (AgentProcess agent =
                AgentProcess.start(ns, METRICS, List.of("--config", config.toString()))) {
            agent.awaitReady(30_000);
            assertTrue(agent.log().contains("datapath=replaced"), agent.log());
            try (Datapath dp = Datapath.openPinned(bpffs)) {
                assertFalse(dp.flows().lookup(KEPT).isPresent(), "a new datapath: old state gone");
                assertEquals(
                        Meta.LAYOUT_VERSION, dp.meta().lookup(0).orElseThrow().layoutVersion());
                long now = System.nanoTime();
                FlowKey idle =
                        FlowKey.udp(Packets.addr("10.5.0.3"), 1, Packets.addr("10.5.0.4"), 2);
                FlowKey busy =
                        FlowKey.udp(Packets.addr("10.5.0.5"), 1, Packets.addr("10.5.0.6"), 2);
                dp.flows()
                        .update(
                                idle,
                                new Flow(
                                        0,
                                        0,
                                        0,
                                        1,
                                        1,
                                        now - 10_000_000_000L,
                                        now - 5_000_000_000L,
                                        RtpStats.EMPTY));
                dp.flows()
                        .update(
                                busy,
                                new Flow(
                                        0,
                                        0,
                                        0,
                                        1,
                                        1,
                                        now,
                                        now + 3_600_000_000_000L,
                                        RtpStats.EMPTY));
                long end = System.nanoTime() + Timeouts.ms(5000) * 1_000_000;
                while (dp.flows().lookup(idle).isPresent() && System.nanoTime() < end) {
                    Thread.sleep(100);
                }
                assertFalse(
                        dp.flows().lookup(idle).isPresent(),
                        "a flow idle past flows.idle-timeout is removed");
                assertTrue(dp.flows().lookup(busy).isPresent(), "an active flow stays");
            }
            assertTrue(agent.scrape().value("msm_flows_expired_total").orElseThrow() >= 1);
        }
    }

    /**
     * In a pod the agent has BPF, NET_ADMIN and PERFMON but not SYS_ADMIN, so it cannot open
     * programs by id: an upgrade must still swap the attached programs, and cleanup must still
     * remove them.
     */
    @Test
    void withTheChartsCapabilitiesAnUpgradeSwapsTheAttachedProgramsAndCleanupRemovesThem()
            throws Exception {
        writeConfig("xdp: {enabled: true, mode: native}\n");
        AgentProcess.run(ns, "cleanup", "--bpffs", bpffs.toString()); // what the other tests left
        Sh.exec("tc", "-n", ns.name(), "qdisc", "del", "dev", "ua", "clsact");
        Bpffs.removeTree(bpffs);
        // an agent of older code ran here and left its programs attached (stopping leaves them)
        try (AgentProcess old =
                AgentProcess.start(ns, METRICS, List.of("--config", config.toString()))) {
            old.awaitReady(30_000);
            assertEquals(0, old.stop());
        }
        int ua = ns.ifindex("ua");
        int oldTc;
        int oldXdp;
        try (Datapath dp = Datapath.openPinned(bpffs)) {
            oldTc = dp.progInfo(Datapath.PROG_TC).id();
            oldXdp = dp.progInfo(Datapath.PROG_XDP).id();
            dp.meta()
                    .update(
                            0,
                            new Meta(
                                    Meta.MAGIC,
                                    Meta.LAYOUT_VERSION,
                                    System.nanoTime(),
                                    new byte[32]));
        }
        assertEquals(Optional.of(oldTc), tcOn(ua));
        assertEquals(oldXdp, ns.call(() -> Xdp.queryId(ua, XdpMode.AUTO)));

        try (AgentProcess agent =
                AgentProcess.start(
                        ns,
                        METRICS,
                        List.of("--config", config.toString()),
                        AgentProcess.CHART_CAPS)) {
            agent.awaitReady(30_000);
            assertTrue(agent.log().contains("datapath=upgraded"), agent.log());
            try (Datapath dp = Datapath.openPinned(bpffs)) {
                int newTc = dp.progInfo(Datapath.PROG_TC).id();
                int newXdp = dp.progInfo(Datapath.PROG_XDP).id();
                assertTrue(newTc != oldTc && newXdp != oldXdp, "new programs were loaded");
                assertEquals(
                        Optional.of(newTc), tcOn(ua), "the new TC program replaced the old one");
                assertEquals(
                        newXdp,
                        ns.call(() -> Xdp.queryId(ua, XdpMode.AUTO)),
                        "the new XDP program too");
            }
            assertEquals(0, agent.stop());
        }

        Sh.Result r =
                AgentProcess.run(
                        ns, AgentProcess.CHART_CAPS, "cleanup", "--bpffs", bpffs.toString());
        assertEquals(0, r.exit(), r.out() + r.err());
        assertEquals(
                Optional.empty(),
                tcOn(ua),
                "cleanup detached the TC program: " + r.out() + r.err());
        assertEquals(
                0,
                ns.call(() -> Xdp.queryId(ua, XdpMode.AUTO)),
                "cleanup detached XDP: " + r.out() + r.err());
        String qdisc = Sh.run("tc", "-n", ns.name(), "qdisc", "show", "dev", "ua");
        assertFalse(qdisc.contains("clsact"), "the clsact qdisc msm created is gone: " + qdisc);
        assertFalse(Datapath.pinsPresent(bpffs));
    }

    static Optional<Integer> tcOn(int ifindex) {
        return ns.call(
                () ->
                        TcIngress.query(
                                ifindex, TcIngress.DEFAULT_HANDLE, TcIngress.DEFAULT_PRIORITY));
    }
}
