package io.msm.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.bpf.BpfException;
import io.msm.bpf.Bpffs;
import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.ProgInfo;
import io.msm.bpf.attach.TcIngress;
import io.msm.bpf.attach.Xdp;
import io.msm.bpf.attach.XdpMode;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.FanoutGroup;
import io.msm.bpf.maps.FanoutKey;
import io.msm.bpf.maps.Meta;
import io.msm.bpf.maps.PortTable;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Names;
import io.msm.testkit.Netns;
import io.msm.testkit.Packets;
import io.msm.testkit.Testkit;
import io.msm.testkit.Veth;
import java.net.Inet4Address;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Loading, pinning, adopting, attaching and detaching — and never touching foreign programs. */
@KernelTest
class DatapathLifecycleTest {
    static Netns ns;
    static Path pins;

    @BeforeAll
    static void setUp() {
        String id = Names.runId();
        ns = Netns.create(id + "-life");
        Veth.create(ns, "la", "10.55.0.1/24", ns, "lb", "10.55.0.2/24");
        pins = Path.of("/sys/fs/bpf/msmtest-" + id);
    }

    @AfterAll
    static void tearDown() {
        if (ns != null) {
            ns.close();
        }
        Bpffs.removeTree(pins);
    }

    @Test
    void pinnedStateIsAdoptedByAnotherOpener() {
        Path dir = pins.resolve("adopt");
        try (Datapath dp = Datapath.load(DatapathSpec.DEFAULT.withFlows(1024))) {
            dp.configure(DatapathConfig.defaults(), PortTable.defaults());
            dp.pin(dir);
            dp.writeMeta(System.nanoTime());
            assertTrue(Datapath.pinsPresent(dir));
            FanoutKey k = new FanoutKey((Inet4Address) Packets.addr("10.0.0.1"), 5004);
            dp.fanoutGroups().update(k, new FanoutGroup(1, 0, null, 0, List.of()));

            Meta meta = Datapath.readPinnedMeta(dir).orElseThrow();
            assertTrue(meta.written());
            assertEquals(Meta.LAYOUT_VERSION, meta.layoutVersion());
            assertEquals(HexFormat.of().formatHex(dp.objectSha256()), meta.shaHex());

            try (Datapath again = Datapath.openPinned(dir)) {
                assertTrue(
                        again.fanoutGroups().lookup(k).isPresent(), "state seen through the pins");
                assertEquals(
                        dp.progInfo(Datapath.PROG_TC).id(),
                        again.progInfo(Datapath.PROG_TC).id(),
                        "the same program, not a new one");
                assertTrue(again.progInfo(Datapath.PROG_TC).verifiedInsns() > 0);
            }
        }
        // the pins keep everything alive after the loader closed
        try (Datapath later = Datapath.openPinned(dir)) {
            assertEquals(1, later.fanoutGroups().count());
        }
        Bpffs.removeTree(dir);
        assertFalse(Datapath.pinsPresent(dir));
        BpfException e = assertThrows(BpfException.class, () -> Datapath.openPinned(dir));
        assertTrue(e.getMessage().contains("is msm-agent running"), e.getMessage());
    }

    @Test
    void aReloadCanKeepTheMaps() {
        try (Datapath first = Datapath.load(DatapathSpec.DEFAULT.withFlows(1024))) {
            FanoutKey k = new FanoutKey((Inet4Address) Packets.addr("10.0.0.9"), 6000);
            first.fanoutGroups().update(k, new FanoutGroup(2, 0, null, 0, List.of()));
            try (Datapath second =
                    Datapath.load(
                            Datapath.objectBytes(),
                            DatapathSpec.DEFAULT.withFlows(1024),
                            first.mapFds())) {
                assertTrue(second.fanoutGroups().lookup(k).isPresent(), "new programs, old maps");
                assertTrue(
                        second.progInfo(Datapath.PROG_TC).id()
                                != first.progInfo(Datapath.PROG_TC).id());
            }
        }
    }

    @Test
    void tcAttachReplaceDetachLeavesForeignFiltersAlone() {
        int lb = ns.ifindex("lb");
        try (Datapath dp = Datapath.load(DatapathSpec.DEFAULT.withFlows(1024));
                Testkit kit = Testkit.load()) {
            ns.run(
                    () -> {
                        kit.attach(lb, Testkit.PROG_SINK); // a foreign filter on the same hook
                        int h = TcIngress.DEFAULT_HANDLE;
                        int prio = TcIngress.DEFAULT_PRIORITY;
                        TcIngress.Attached a =
                                TcIngress.attach(lb, dp.progFd(Datapath.PROG_TC), h, prio, false);
                        assertFalse(
                                a.createdQdisc(),
                                "clsact was already there (the foreign filter's)");
                        assertEquals(
                                Optional.of(dp.progInfo(Datapath.PROG_TC).id()),
                                TcIngress.query(lb, h, prio));
                        BpfException dup =
                                assertThrows(
                                        BpfException.class,
                                        () ->
                                                TcIngress.attach(
                                                        lb,
                                                        dp.progFd(Datapath.PROG_TC),
                                                        h,
                                                        prio,
                                                        false));
                        assertTrue(dup.getMessage().contains("not msm's"), dup.getMessage());
                        TcIngress.attach(
                                lb, dp.progFd(Datapath.PROG_TC), h, prio, true); // replace our own
                        assertTrue(TcIngress.detach(lb, h, prio));
                        assertEquals(Optional.empty(), TcIngress.query(lb, h, prio));
                        assertFalse(TcIngress.detach(lb, h, prio), "detaching twice is harmless");
                        assertTrue(
                                TcIngress.query(lb, Testkit.HANDLE, Testkit.PRIORITY).isPresent(),
                                "the foreign filter is still there");
                    });
        }
    }

    @Test
    void xdpNeverReplacesAForeignProgram() {
        int la = ns.ifindex("la");
        try (Datapath dp = Datapath.load(DatapathSpec.DEFAULT.withFlows(1024));
                Datapath other = Datapath.load(DatapathSpec.DEFAULT.withFlows(1024))) {
            ns.run(
                    () -> {
                        int mine = dp.progFd(Datapath.PROG_XDP);
                        int foreign = other.progFd(Datapath.PROG_XDP);
                        Xdp.Attached a = Xdp.attach(la, mine, XdpMode.NATIVE, -1);
                        assertEquals(ProgInfo.of(mine).id(), a.progId(), "native XDP on veth");
                        BpfException e =
                                assertThrows(
                                        BpfException.class,
                                        () -> Xdp.attach(la, foreign, XdpMode.NATIVE, -1));
                        assertTrue(e.getMessage().contains("will not replace"), e.getMessage());
                        assertFalse(
                                Xdp.detach(la, XdpMode.NATIVE, foreign),
                                "detach names the expected program");
                        assertEquals(ProgInfo.of(mine).id(), Xdp.queryId(la, XdpMode.NATIVE));
                        Xdp.attach(la, mine, XdpMode.NATIVE, mine); // atomic replace of our own
                        assertTrue(Xdp.detach(la, XdpMode.NATIVE, mine));
                        assertEquals(0, Xdp.queryId(la, XdpMode.NATIVE));
                        Xdp.Attached g = Xdp.attach(la, mine, XdpMode.GENERIC, -1);
                        assertEquals(XdpMode.GENERIC, g.mode());
                        assertTrue(Xdp.detach(la, XdpMode.GENERIC, mine));
                    });
        }
    }

    @Test
    void pinningOutsideBpffsIsRefusedWithAReason() throws Exception {
        Path notBpf = Files.createTempDirectory("msm-not-bpffs");
        try (Datapath dp = Datapath.load(DatapathSpec.DEFAULT.withFlows(1024))) {
            BpfException e = assertThrows(BpfException.class, () -> dp.pin(notBpf));
            assertTrue(e.getMessage().contains("not on a bpf filesystem"), e.getMessage());
        } finally {
            Files.deleteIfExists(notBpf);
        }
    }
}
