package io.msm.agent.datapath;

import io.msm.agent.config.AgentConfig;
import io.msm.agent.config.ConfigException;
import io.msm.bpf.BpfException;
import io.msm.bpf.Bpffs;
import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.attach.TcIngress;
import io.msm.bpf.attach.Xdp;
import io.msm.bpf.attach.XdpMode;
import io.msm.bpf.libbpf.Errno;
import io.msm.bpf.libbpf.Native;
import io.msm.bpf.maps.Attachment;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.DenyKey;
import io.msm.bpf.maps.Meta;
import io.msm.bpf.maps.PortTable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the kernel datapath for the agent: loads or adopts it, keeps it pinned, writes the
 * classifier config, attaches it to the interfaces.
 *
 * <p>Start-up decides between four cases and logs which:
 *
 * <ul>
 *   <li>FRESH — nothing pinned: load, pin, attach;
 *   <li>ADOPTED — pins of this very object: reuse programs and maps, nothing is replaced,
 *       forwarding never stops (restart, also after kill -9);
 *   <li>UPGRADED — same map layout, new code: load the new programs on the pinned maps and swap
 *       them in atomically (TC replace, XDP replace); state (flows, fan-out groups) is kept;
 *   <li>REPLACED — another map layout: detach the old programs, drop the old pins, load fresh
 *       (state is rebuilt by the control plane), or refuse if {@code datapath.on-layout-change:
 *       refuse}.
 * </ul>
 *
 * Stopping the agent leaves everything attached and pinned; {@link #cleanup} removes exactly what
 * msm added.
 */
public final class DatapathOwner implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DatapathOwner.class);

    public enum Start {
        FRESH,
        ADOPTED,
        UPGRADED,
        REPLACED
    }

    /** One interface msm is attached to. */
    public record Attached(
            String ifname, int ifindex, int tcProgId, int xdpProgId, String xdpMode) {}

    private final Datapath datapath;
    private final Start how;
    private final AgentConfig cfg;
    private volatile List<Attached> attached;

    private DatapathOwner(Datapath datapath, Start how, AgentConfig cfg, List<Attached> attached) {
        this.datapath = datapath;
        this.how = how;
        this.cfg = cfg;
        this.attached = List.copyOf(attached);
    }

    public Datapath datapath() {
        return datapath;
    }

    public Start how() {
        return how;
    }

    public List<Attached> attached() {
        return attached;
    }

    /**
     * Bring the attachments to a new interface list (the default set after links came or went):
     * attach to the new ones, detach from the ones that left. An interface that vanishes meanwhile
     * is skipped, not an error. Returns the interfaces attached and detached by this call.
     */
    public synchronized Change follow(List<String> interfaces) {
        Set<String> was = new HashSet<>();
        attached.forEach(a -> was.add(a.ifname()));
        try (KnownPrograms known = KnownPrograms.none()) {
            known.add(datapath.progFd(Datapath.PROG_TC)).add(datapath.progFd(Datapath.PROG_XDP));
            attached = List.copyOf(attach(datapath, cfg, interfaces, known, true));
        }
        List<String> added = new ArrayList<>();
        Set<String> now = new HashSet<>();
        for (Attached a : attached) {
            now.add(a.ifname());
            if (!was.contains(a.ifname())) {
                added.add(a.ifname());
            }
        }
        List<String> removed = was.stream().filter(n -> !now.contains(n)).sorted().toList();
        return new Change(List.copyOf(added), removed);
    }

    /** What {@link #follow} changed. */
    public record Change(List<String> attached, List<String> detached) {
        public boolean any() {
            return !attached.isEmpty() || !detached.isEmpty();
        }
    }

    public static DatapathSpec spec(AgentConfig cfg) {
        DatapathSpec d = DatapathSpec.DEFAULT;
        return new DatapathSpec(
                        cfg.datapath().maxFlows(),
                        cfg.datapath().maxGroups(),
                        cfg.datapath().maxSubscribers(),
                        d.deny(),
                        d.rateLimit(),
                        d.identities(),
                        d.identityNames(),
                        // 64 admitted identities per group on average, as the default
                        Math.max(
                                d.groupAllow(),
                                Math.min(16_777_216, cfg.datapath().maxGroups() * 64)))
                .withGameServices(cfg.datapath().maxGameServices());
    }

    public static DatapathOwner start(AgentConfig cfg, List<String> interfaces) {
        Path dir = Bpffs.ensure(cfg.bpffs().toString());
        byte[] elf = Datapath.objectBytes();
        byte[] sha = Datapath.sha256(elf);
        // the previous agent's programs, held through their pins before an upgrade replaces them
        try (KnownPrograms known =
                Datapath.pinsPresent(dir) ? KnownPrograms.pinned(dir) : KnownPrograms.none()) {
            return start(cfg, interfaces, dir, elf, sha, known);
        }
    }

    private static DatapathOwner start(
            AgentConfig cfg,
            List<String> interfaces,
            Path dir,
            byte[] elf,
            byte[] sha,
            KnownPrograms known) {
        Datapath dp;
        Start how;
        if (Datapath.pinsPresent(dir)) {
            Optional<Meta> meta = Datapath.readPinnedMeta(dir);
            boolean sameLayout =
                    meta.isPresent()
                            && meta.get().written()
                            && meta.get().layoutVersion() == Meta.LAYOUT_VERSION;
            if (sameLayout && Arrays.equals(meta.get().objectSha256(), sha)) {
                dp = Datapath.openPinned(dir);
                how = Start.ADOPTED;
            } else if (sameLayout) {
                dp = upgrade(dir, elf, cfg);
                how = Start.UPGRADED;
            } else {
                String was =
                        meta.map(m -> m.written() ? "layout v" + m.layoutVersion() : "no identity")
                                .orElse("no identity");
                if (cfg.datapath().onLayoutChange() == AgentConfig.LayoutChange.REFUSE) {
                    throw new ConfigException(
                            "datapath.on-layout-change",
                            "the datapath pinned at "
                                    + dir
                                    + " has "
                                    + was
                                    + ", this agent needs layout v"
                                    + Meta.LAYOUT_VERSION
                                    + "; refusing as configured — run 'msm-agent cleanup' or set on-layout-change: replace");
                }
                log.warn(
                        "pinned datapath at {} has {}, this agent needs layout v{}: replacing it (flows and fan-out "
                                + "groups are rebuilt by the control plane)",
                        dir,
                        was,
                        Meta.LAYOUT_VERSION);
                cleanup(dir);
                Bpffs.ensure(dir.toString());
                dp = fresh(dir, elf, cfg);
                how = Start.REPLACED;
            }
        } else {
            if (Files.isDirectory(dir) && hasAnyEntry(dir)) {
                log.warn("incomplete msm pins at {} (an interrupted start?): replacing them", dir);
                cleanup(dir);
                Bpffs.ensure(dir.toString());
            }
            dp = fresh(dir, elf, cfg);
            how = Start.FRESH;
        }
        try {
            known.add(dp.progFd(Datapath.PROG_TC)).add(dp.progFd(Datapath.PROG_XDP));
            configure(dp, cfg);
            List<Attached> att = attach(dp, cfg, interfaces, known, false);
            return new DatapathOwner(dp, how, cfg, att);
        } catch (RuntimeException e) {
            dp.close();
            throw e;
        }
    }

    private static boolean hasAnyEntry(Path dir) {
        try (var s = Files.list(dir)) {
            return s.findAny().isPresent();
        } catch (IOException e) {
            return false;
        }
    }

    private static Datapath fresh(Path dir, byte[] elf, AgentConfig cfg) {
        Datapath dp = Datapath.load(elf, spec(cfg), Map.of());
        try {
            dp.pin(dir);
            dp.writeMeta(System.nanoTime());
            return dp;
        } catch (RuntimeException e) {
            dp.close();
            Bpffs.removeTree(dir);
            throw e;
        }
    }

    /** New programs on the pinned maps; the program pins are swapped. */
    private static Datapath upgrade(Path dir, byte[] elf, AgentConfig cfg) {
        try (Datapath pinned = Datapath.openPinned(dir)) {
            Datapath dp = Datapath.load(elf, spec(cfg), pinned.mapFds());
            try {
                for (String p : Datapath.PROGRAMS) {
                    Path pin = dir.resolve(Datapath.progPin(p));
                    Files.deleteIfExists(pin);
                    int rc = Native.get().bpf.bpf_obj_pin(dp.progFd(p), pin.toString());
                    if (rc < 0) {
                        throw new BpfException(
                                "cannot pin " + pin + ": " + Native.get().describe(rc), rc);
                    }
                }
                dp.writeMeta(System.nanoTime());
                log.info(
                        "upgraded the datapath code in place (same map layout v{}): flows and fan-out groups kept",
                        Meta.LAYOUT_VERSION);
                return dp;
            } catch (IOException e) {
                dp.close();
                throw new BpfException(
                        "cannot replace program pins in " + dir + ": " + e.getMessage(), e);
            } catch (RuntimeException e) {
                dp.close();
                throw e;
            }
        }
    }

    /** Classifier config, port table and deny-list from the agent's config. */
    static void configure(Datapath dp, AgentConfig cfg) {
        AgentConfig.Classifier c = cfg.classifier();
        DatapathConfig dc = DatapathConfig.defaults();
        int flags =
                DatapathConfig.F_FLOWS
                        | DatapathConfig.F_FANOUT
                        | (c.raknet() ? DatapathConfig.F_RAKNET : 0)
                        // game services: set now when some are configured (an adopted datapath's
                        // sessions keep forwarding); GameControl keeps it true to what exists
                        | (cfg.game().any()
                                        || (cfg.kubernetes().gatewayApi()
                                                && cfg.kubernetes().active())
                                ? DatapathConfig.F_GAME
                                : 0);
        dc =
                dc.withFlags(flags)
                        .withNewflowLimit(
                                cfg.protection().newFlowsPerSecond(),
                                cfg.protection().newFlowBurst());
        for (Map.Entry<Integer, Integer> e : c.clockRates().entrySet()) {
            dc = dc.withClockRate(e.getKey(), e.getValue());
        }
        dp.configure(
                dc, PortTable.build(c.controlTcpPorts(), c.controlUdpPorts(), c.gameUdpPorts()));
        var deny = dp.denyList();
        Set<DenyKey> want = new HashSet<>(cfg.protection().deny());
        for (DenyKey k : deny.keys()) {
            if (!want.contains(k)) {
                deny.delete(k);
            }
        }
        for (DenyKey k : want) {
            if (deny.lookup(k).isEmpty()) {
                deny.update(k, 0L);
            }
        }
    }

    /**
     * Attach to every interface of the list and detach from those msm recorded that are no longer
     * in it. Lenient: an interface that cannot be attached (gone meanwhile) is logged and left out,
     * not fatal.
     */
    private static List<Attached> attach(
            Datapath dp,
            AgentConfig cfg,
            List<String> interfaces,
            KnownPrograms known,
            boolean lenient) {
        var records = dp.attachments();
        Map<Integer, Attachment> before = new LinkedHashMap<>();
        records.forEach(before::put);
        int tcId = dp.progInfo(Datapath.PROG_TC).id();
        int xdpId = dp.progInfo(Datapath.PROG_XDP).id();
        int prio = cfg.datapath().tcPriority();
        List<Attached> out = new ArrayList<>();
        Set<Integer> wanted = new HashSet<>();
        for (String name : interfaces) {
            int ifindex = Interfaces.index(name);
            if (ifindex == 0) {
                if (lenient) {
                    continue; // gone since it was listed
                }
                throw new ConfigException(
                        "interfaces", "no interface named '" + name + "' on this node");
            }
            wanted.add(ifindex);
            Attachment rec =
                    before.getOrDefault(
                            ifindex, new Attachment(0, TcIngress.DEFAULT_HANDLE, prio, 0, 0, name));
            try {
                out.add(attachOne(dp, cfg, name, ifindex, rec, tcId, xdpId, known));
            } catch (BpfException e) {
                if (!lenient) {
                    throw e;
                }
                wanted.remove(ifindex);
                log.warn("{} (ifindex {}): not attached: {}", name, ifindex, e.getMessage());
            }
        }
        // interfaces msm was on but is no longer told to be on
        for (Map.Entry<Integer, Attachment> e : before.entrySet()) {
            if (!wanted.contains(e.getKey())) {
                log.info(
                        "detaching from {} (ifindex {}): no longer in the interface list (or gone)",
                        e.getValue().ifname(),
                        e.getKey());
                detach(e.getKey(), e.getValue(), known);
                records.delete(e.getKey());
            }
        }
        return out;
    }

    /**
     * msm's TC (and, if enabled, XDP) program on one interface, recorded in the attachments map.
     */
    private static Attached attachOne(
            Datapath dp,
            AgentConfig cfg,
            String name,
            int ifindex,
            Attachment rec,
            int tcId,
            int xdpId,
            KnownPrograms known) {
        var records = dp.attachments();
        int prio = cfg.datapath().tcPriority();
        int flags = rec.flags();

        // TC: ours already there -> keep; an older msm program -> replace atomically; foreign ->
        // refuse
        if (TcIngress.ensureClsact(ifindex)) {
            flags |= Attachment.F_TC_QDISC;
        }
        Optional<Integer> there = TcIngress.query(ifindex, TcIngress.DEFAULT_HANDLE, prio);
        if (there.isEmpty()) {
            TcIngress.attach(
                    ifindex, dp.progFd(Datapath.PROG_TC), TcIngress.DEFAULT_HANDLE, prio, false);
        } else if (there.get() != tcId) {
            if (!Datapath.PROG_TC.equals(known.name(there.get()))) {
                throw new BpfException(
                        name
                                + ": TC ingress priority "
                                + prio
                                + " handle 0x"
                                + Integer.toHexString(TcIngress.DEFAULT_HANDLE)
                                + " holds program "
                                + known.describe(there.get())
                                + ", not msm's: set datapath.tc-priority to a free priority");
            }
            TcIngress.attach(
                    ifindex, dp.progFd(Datapath.PROG_TC), TcIngress.DEFAULT_HANDLE, prio, true);
        }
        flags |= Attachment.F_TC;

        int xdpProg = 0;
        String xdpMode = "off";
        if (cfg.xdp().enabled()) {
            int cur = Xdp.queryId(ifindex, XdpMode.AUTO);
            boolean wasGeneric = (flags & Attachment.F_XDP_GENERIC) != 0;
            if (cur == xdpId) {
                xdpProg = cur;
                xdpMode = wasGeneric ? "generic" : "native";
            } else if (cur == 0) {
                Xdp.Attached a =
                        Xdp.attach(ifindex, dp.progFd(Datapath.PROG_XDP), cfg.xdp().mode(), -1);
                xdpProg = a.progId();
                xdpMode = a.mode().name().toLowerCase(Locale.ROOT);
                flags =
                        a.mode() == XdpMode.GENERIC
                                ? flags | Attachment.F_XDP_GENERIC
                                : flags & ~Attachment.F_XDP_GENERIC;
            } else if (Datapath.PROG_XDP.equals(known.name(cur))) {
                // msm's older program: replaced only if it is still the one attached
                XdpMode m = wasGeneric ? XdpMode.GENERIC : XdpMode.NATIVE;
                Xdp.attach(ifindex, dp.progFd(Datapath.PROG_XDP), m, known.fd(cur));
                xdpProg = xdpId;
                xdpMode = m.name().toLowerCase(Locale.ROOT);
            } else {
                log.warn(
                        "{}: XDP program {} is not msm's: leaving it, msm runs without XDP here",
                        name,
                        known.describe(cur));
            }
            flags = xdpProg != 0 ? flags | Attachment.F_XDP : flags & ~Attachment.F_XDP;
        }
        records.update(
                ifindex,
                new Attachment(flags, TcIngress.DEFAULT_HANDLE, prio, tcId, xdpProg, name));
        return new Attached(name, ifindex, tcId, xdpProg, xdpMode);
    }

    /**
     * Remove msm's programs from one interface, and the clsact qdisc if msm created it and it is
     * empty.
     */
    static void detach(int ifindex, Attachment a, KnownPrograms known) {
        try {
            TcIngress.query(ifindex, a.tcHandle(), a.tcPriority())
                    .ifPresent(
                            id -> {
                                if (Datapath.PROG_TC.equals(known.name(id))) {
                                    TcIngress.detach(ifindex, a.tcHandle(), a.tcPriority());
                                } else {
                                    log.warn(
                                            "ifindex {}: TC priority {} holds program {}, not msm's: left attached",
                                            ifindex,
                                            a.tcPriority(),
                                            known.describe(id));
                                }
                            });
            int x = Xdp.queryId(ifindex, XdpMode.AUTO);
            if (x != 0 && Datapath.PROG_XDP.equals(known.name(x))) {
                Xdp.detach(
                        ifindex,
                        a.has(Attachment.F_XDP_GENERIC) ? XdpMode.GENERIC : XdpMode.NATIVE,
                        known.fd(x));
            }
            if (a.has(Attachment.F_TC_QDISC) && ClsactFilters.empty(ifindex)) {
                TcIngress.destroyQdisc(ifindex);
            }
        } catch (BpfException e) {
            if (e.errno() != Errno.ENODEV) {
                throw e;
            }
        }
    }

    /**
     * Detach everything msm attached (per its records) and remove the pins. Works on a datapath of
     * any layout: without readable records it scans every interface for programs named like msm's.
     */
    public static List<String> cleanup(Path dir) {
        try (KnownPrograms known = KnownPrograms.pinned(dir)) {
            return cleanup(dir, known);
        }
    }

    private static List<String> cleanup(Path dir, KnownPrograms known) {
        List<String> done = new ArrayList<>();
        boolean usedRecords = false;
        if (Datapath.pinsPresent(dir)) {
            Optional<Meta> meta = Datapath.readPinnedMeta(dir);
            if (meta.isPresent()
                    && meta.get().written()
                    && meta.get().layoutVersion() == Meta.LAYOUT_VERSION) {
                try (Datapath dp = Datapath.openPinned(dir)) {
                    var records = dp.attachments();
                    for (var e : records.entries()) {
                        detach(e.getKey(), e.getValue(), known);
                        done.add(e.getValue().ifname());
                    }
                    usedRecords = true;
                }
            }
        }
        if (!usedRecords) {
            for (String name : Interfaces.all()) {
                int idx = Interfaces.index(name);
                if (idx != 0) {
                    Attachment guess =
                            new Attachment(
                                    0,
                                    TcIngress.DEFAULT_HANDLE,
                                    TcIngress.DEFAULT_PRIORITY,
                                    0,
                                    0,
                                    name);
                    boolean had =
                            TcIngress.query(idx, guess.tcHandle(), guess.tcPriority()).isPresent()
                                    || Xdp.queryId(idx, XdpMode.AUTO) != 0;
                    detach(idx, guess, known);
                    if (had) {
                        done.add(name);
                    }
                }
            }
        }
        Bpffs.removeTree(dir);
        return done;
    }

    @Override
    public void close() {
        datapath.close(); // programs stay attached, maps stay pinned
    }
}
