package io.msm.bpf.intercept;

import io.msm.bpf.BpfException;
import io.msm.bpf.BpfObject;
import io.msm.bpf.Bpffs;
import io.msm.bpf.attach.CgroupLink;
import io.msm.bpf.libbpf.Errno;
import io.msm.bpf.libbpf.Native;
import io.msm.bpf.maps.BpfMap;
import io.msm.bpf.maps.Codec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The interception object (msm_intercept.bpf.o) and its attachments: TCP connect()s from the
 * attached cgroups to the ports in the port table are rewritten to a proxy (cgroup/connect4), and
 * getpeername() on those sockets answers the original destination (cgroup/getpeername4).
 *
 * <p>Everything lives under one bpffs directory so it survives the agent:
 *
 * <pre>
 *   DIR/prog_msm_icpt_connect4, DIR/prog_msm_icpt_getpeername4
 *   DIR/msm_icpt_ports, DIR/msm_icpt_orig, DIR/msm_icpt_stats
 *   DIR/links/NAME_connect4, DIR/links/NAME_getpeername4     one pair per attached cgroup
 * </pre>
 *
 * A restarted agent reloads the programs, keeps the maps (when their layout still fits) and swaps
 * the new programs into the pinned links atomically: attached pods stay intercepted throughout.
 * Detaching removes only msm's links; other programs on the same cgroup are untouched.
 */
public final class ConnectRedirect implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ConnectRedirect.class);

    public static final String OBJECT_RESOURCE = "/io/msm/bpf/msm_intercept.bpf.o";
    public static final String PROG_CONNECT4 = "msm_icpt_connect4";
    public static final String PROG_GETPEERNAME4 = "msm_icpt_getpeername4";
    public static final List<String> PROGRAMS = List.of(PROG_CONNECT4, PROG_GETPEERNAME4);
    public static final String MAP_PORTS = "msm_icpt_ports";
    public static final String MAP_ORIG = "msm_icpt_orig";
    public static final String MAP_STATS = "msm_icpt_stats";
    public static final List<String> MAPS = List.of(MAP_PORTS, MAP_ORIG, MAP_STATS);

    /** MSM_ICPT_MAX_PORTS: entries of msm_icpt_ports. */
    public static final int MAX_PORTS = 64;

    public static final String LINKS = "links";

    /** bpffs refuses names with dots; pod UIDs and test names are letters, digits, - and _. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,200}");

    private final Native n;
    private final Path dir;
    private final BpfObject object;

    private ConnectRedirect(Native n, Path dir, BpfObject object) {
        this.n = n;
        this.dir = dir;
        this.object = object;
    }

    public static byte[] objectBytes() {
        return BpfObject.resource(OBJECT_RESOURCE);
    }

    /**
     * Load the programs, adopt or create the pinned maps, pin everything under dir and move
     * existing links onto the new programs (dropping links whose cgroup is gone).
     */
    public static ConnectRedirect start(Path dir) {
        Native n = Native.get();
        Path d = Bpffs.ensure(dir.toString());
        try {
            Files.createDirectories(d.resolve(LINKS));
        } catch (IOException e) {
            throw new BpfException("cannot create " + d.resolve(LINKS) + ": " + e.getMessage(), e);
        }
        byte[] elf = objectBytes();
        BpfObject obj = loadReusing(n, d, elf);
        ConnectRedirect r = new ConnectRedirect(n, d, obj);
        try {
            for (String m : MAPS) {
                if (!Files.exists(d.resolve(m))) {
                    pin(n, obj.mapFd(m), d.resolve(m));
                }
            }
            for (String p : PROGRAMS) {
                Path pin = d.resolve("prog_" + p);
                Files.deleteIfExists(pin);
                pin(n, obj.progFd(p), pin);
            }
            r.adoptLinks();
            return r;
        } catch (IOException e) {
            r.close();
            throw new BpfException(
                    "cannot replace program pins in " + d + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            r.close();
            throw e;
        }
    }

    private static BpfObject loadReusing(Native n, Path d, byte[] elf) {
        Map<String, Integer> reuse = new LinkedHashMap<>();
        for (String m : MAPS) {
            Path p = d.resolve(m);
            if (Files.exists(p)) {
                int fd = n.bpf.bpf_obj_get(p.toString());
                if (fd >= 0) {
                    reuse.put(m, fd);
                }
            }
        }
        try {
            return BpfObject.load("msm_intercept", elf, new BpfObject.Settings(Map.of(), reuse));
        } catch (BpfException e) {
            if (reuse.isEmpty() || e.verifierLog() != null) {
                throw e;
            }
            // pinned maps of another layout: start them afresh (ports are rewritten by the agent,
            // original destinations of open sockets are lost: getpeername shows the proxy for
            // those)
            log.warn(
                    "pinned interception maps in {} do not fit this agent ({}): replacing them",
                    d,
                    e.getMessage());
            for (String m : reuse.keySet()) {
                try {
                    Files.deleteIfExists(d.resolve(m));
                } catch (IOException io) {
                    throw new BpfException(
                            "cannot remove stale pin " + d.resolve(m) + ": " + io.getMessage(), io);
                }
            }
            return BpfObject.load("msm_intercept", elf, BpfObject.Settings.NONE);
        } finally {
            reuse.values().forEach(n.libc::close); // libbpf holds its own duplicate
        }
    }

    private static void pin(Native n, int fd, Path path) {
        int rc = n.bpf.bpf_obj_pin(fd, path.toString());
        if (rc < 0) {
            throw new BpfException("cannot pin " + path + ": " + n.describe(rc), rc);
        }
    }

    private void adoptLinks() {
        for (Path pin : linkPins()) {
            int fd = n.bpf.bpf_obj_get(pin.toString());
            if (fd < 0) {
                continue;
            }
            try {
                CgroupLink.Info info = CgroupLink.info(fd);
                if (info.defunct()) {
                    deletePin(pin);
                    continue;
                }
                CgroupLink.Hook hook = CgroupLink.Hook.ofAttachType(info.attachType());
                CgroupLink.update(fd, object.progFd(progFor(hook)));
            } finally {
                n.libc.close(fd);
            }
        }
    }

    private static String progFor(CgroupLink.Hook hook) {
        return hook == CgroupLink.Hook.INET4_CONNECT ? PROG_CONNECT4 : PROG_GETPEERNAME4;
    }

    private static String suffix(CgroupLink.Hook hook) {
        return hook == CgroupLink.Hook.INET4_CONNECT ? "_connect4" : "_getpeername4";
    }

    public Path dir() {
        return dir;
    }

    // ---------------------------------------------------------------- ports

    public BpfMap<InterceptKey, InterceptTarget> portMap() {
        return new BpfMap<>(
                object.mapFd(MAP_PORTS), false, InterceptKey.CODEC, InterceptTarget.CODEC);
    }

    /** Make the port table exactly {@code want}: TCP destination port -> proxy. */
    public void setPorts(Map<Integer, InterceptTarget> want) {
        if (want.size() > MAX_PORTS) {
            throw new IllegalArgumentException(
                    "at most " + MAX_PORTS + " intercepted ports (got " + want.size() + ")");
        }
        BpfMap<InterceptKey, InterceptTarget> m = portMap();
        for (InterceptKey k : m.keys()) {
            if (k.proto() != InterceptKey.IPPROTO_TCP || !want.containsKey(k.port())) {
                m.delete(k);
            }
        }
        for (Map.Entry<Integer, InterceptTarget> e : want.entrySet()) {
            InterceptKey k = InterceptKey.tcp(e.getKey());
            if (!m.lookup(k).equals(Optional.of(e.getValue()))) {
                m.update(k, e.getValue());
            }
        }
    }

    /** The port table as the kernel has it. */
    public Map<Integer, InterceptTarget> ports() {
        Map<Integer, InterceptTarget> out = new TreeMap<>();
        portMap().forEach((k, v) -> out.put(k.port(), v));
        return out;
    }

    public InterceptStats stats() {
        try (BpfMap<Integer, InterceptStats> m =
                new BpfMap<>(object.mapFd(MAP_STATS), false, Codec.U32, InterceptStats.CODEC)) {
            return InterceptStats.sum(m.lookupPerCpu(0).orElse(List.of()));
        }
    }

    // ---------------------------------------------------------------- links

    /**
     * Intercept the cgroup's connects under {@code name} (a pod UID). Already attached to this very
     * cgroup: nothing changes (false). Attached to a cgroup that is gone or another one:
     * re-attached.
     *
     * @return true if new links were made
     */
    public boolean attach(String name, Path cgroupDir) {
        checkName(name);
        long want = cgroupId(cgroupDir);
        boolean current = true;
        for (CgroupLink.Hook h : CgroupLink.Hook.values()) {
            Optional<CgroupLink.Info> info = linkInfo(linkPin(name, h));
            current &= info.isPresent() && info.get().cgroupId() == want;
        }
        if (current) {
            return false;
        }
        detach(name);
        List<Path> made = new ArrayList<>();
        try {
            // getpeername first: a connect redirected from the first moment is also restored
            for (CgroupLink.Hook h :
                    List.of(CgroupLink.Hook.INET4_GETPEERNAME, CgroupLink.Hook.INET4_CONNECT)) {
                int fd = CgroupLink.attach(object.progFd(progFor(h)), cgroupDir, h);
                try {
                    Path pin = linkPin(name, h);
                    pin(n, fd, pin);
                    made.add(pin);
                } finally {
                    n.libc.close(fd);
                }
            }
        } catch (RuntimeException e) {
            made.forEach(ConnectRedirect::detachPin);
            throw e;
        }
        return true;
    }

    /** Stop intercepting {@code name}; false when it was not attached. */
    public boolean detach(String name) {
        checkName(name);
        boolean any = false;
        for (CgroupLink.Hook h : CgroupLink.Hook.values()) {
            any |= detachPin(linkPin(name, h));
        }
        return any;
    }

    /** Names with links, and the cgroup id each is attached to (0: the cgroup is gone). */
    public Map<String, Long> attached() {
        Map<String, Long> out = new TreeMap<>();
        String sfx = suffix(CgroupLink.Hook.INET4_CONNECT);
        for (Path p : linkPins()) {
            String f = p.getFileName().toString();
            if (f.endsWith(sfx)) {
                String name = f.substring(0, f.length() - sfx.length());
                out.put(name, linkInfo(p).map(CgroupLink.Info::cgroupId).orElse(0L));
            }
        }
        return out;
    }

    private Path linkPin(String name, CgroupLink.Hook h) {
        return dir.resolve(LINKS).resolve(name + suffix(h));
    }

    private Optional<CgroupLink.Info> linkInfo(Path pin) {
        if (!Files.exists(pin)) {
            return Optional.empty();
        }
        int fd = n.bpf.bpf_obj_get(pin.toString());
        if (fd < 0) {
            return Optional.empty();
        }
        try {
            return Optional.of(CgroupLink.info(fd));
        } finally {
            n.libc.close(fd);
        }
    }

    private List<Path> linkPins() {
        Path links = dir.resolve(LINKS);
        if (!Files.isDirectory(links)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(links)) {
            return s.sorted().toList();
        } catch (IOException e) {
            throw new BpfException("cannot list " + links + ": " + e.getMessage(), e);
        }
    }

    /** Detach the pinned link (even if someone else holds it) and remove the pin. */
    private static boolean detachPin(Path pin) {
        if (!Files.exists(pin)) {
            return false;
        }
        Native n = Native.get();
        int fd = n.bpf.bpf_obj_get(pin.toString());
        if (fd >= 0) {
            try {
                CgroupLink.detach(fd);
            } finally {
                n.libc.close(fd);
            }
        }
        deletePin(pin);
        return true;
    }

    private static void deletePin(Path pin) {
        try {
            Files.deleteIfExists(pin);
        } catch (IOException e) {
            throw new BpfException("cannot remove pin " + pin + ": " + e.getMessage(), e);
        }
    }

    /** A cgroup v2 directory's id is its inode number (what bpf_link_info reports). */
    public static long cgroupId(Path cgroupDir) {
        try {
            return ((Number) Files.getAttribute(cgroupDir, "unix:ino")).longValue();
        } catch (IOException | UnsupportedOperationException e) {
            throw new BpfException(
                    "cannot read cgroup " + cgroupDir + ": " + e.getMessage(),
                    Errno.ENOENT,
                    null,
                    e);
        }
    }

    private static void checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(
                    "an interception name is letters, digits, - and _ (bpffs refuses dots): '"
                            + name
                            + "'");
        }
    }

    /**
     * Detach every link pinned under dir and remove dir: what 'msm-agent cleanup' does. Works
     * without loading anything. Returns the names that were attached.
     */
    public static List<String> cleanup(Path dir) {
        List<String> names = new ArrayList<>();
        Path links = dir.resolve(LINKS);
        if (Files.isDirectory(links)) {
            try (Stream<Path> s = Files.list(links)) {
                for (Path p : s.sorted().toList()) {
                    String f = p.getFileName().toString();
                    if (f.endsWith("_connect4")) {
                        names.add(f.substring(0, f.length() - "_connect4".length()));
                    }
                    detachPin(p);
                }
            } catch (IOException e) {
                throw new BpfException("cannot list " + links + ": " + e.getMessage(), e);
            }
        }
        Bpffs.removeTree(dir);
        return names;
    }

    @Override
    public void close() {
        object.close(); // links and maps stay pinned
    }
}
