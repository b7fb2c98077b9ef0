package io.msm.agent.net;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.msm.bpf.maps.Addr;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Resolves a destination to its {@link NextHop} from the kernel's routing
 * and neighbour tables (through iproute2's JSON output): the answer the
 * kernel itself would use, so the rewritten copies go where a socket's
 * packets would.
 */
public final class NextHops {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Thrown when a destination cannot be served by the kernel fan-out. */
    public static final class Unresolved extends Exception {
        private static final long serialVersionUID = 1L;

        public Unresolved(String message) {
            super(message);
        }
    }

    private NextHops() {
    }

    /**
     * Resolve dst. {@code probe} is run when the neighbour is not known yet
     * (it should send something to dst so the kernel resolves it); we then
     * wait up to {@code waitMs} for the entry.
     */
    public static NextHop resolve(InetAddress dst, Runnable probe, long waitMs) throws Unresolved {
        JsonNode route = routeGet(dst);
        String dev = route.path("dev").asText(null);
        if (dev == null) {
            throw new Unresolved("no route to " + dst.getHostAddress());
        }
        InetAddress src = route.hasNonNull("prefsrc") ? Addr.parse(route.get("prefsrc").asText()) : null;
        boolean local = "local".equals(route.path("type").asText()) || "lo".equals(dev);
        int ifindex = io.msm.bpf.libbpf.Native.get().libc.if_nametoindex(dev);
        if (ifindex == 0) {
            throw new Unresolved("route to " + dst.getHostAddress() + " uses " + dev + ", which has no ifindex");
        }
        byte[] srcMac = mac(dev);
        if (local) {
            return new NextHop(dst, dev, ifindex, src, new byte[6], new byte[6], true);
        }
        if (srcMac == null) {
            throw new Unresolved("route to " + dst.getHostAddress() + " leaves by " + dev
                    + ", which has no Ethernet address (tunnel?): served from userspace");
        }
        InetAddress hop = route.hasNonNull("gateway") ? Addr.parse(route.get("gateway").asText()) : dst;
        Optional<byte[]> n = neighbour(hop, dev);
        if (n.isEmpty()) {
            if (probe != null) {
                probe.run();
            }
            long end = System.nanoTime() + waitMs * 1_000_000;
            while (n.isEmpty() && System.nanoTime() < end) {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
                n = neighbour(hop, dev);
            }
        }
        if (n.isEmpty()) {
            throw new Unresolved("no neighbour entry for " + hop.getHostAddress() + " on " + dev + " after " + waitMs
                    + " ms (unreachable?)");
        }
        return new NextHop(dst, dev, ifindex, src, srcMac, n.get(), false);
    }

    static JsonNode routeGet(InetAddress dst) throws Unresolved {
        String out = ip("-j", "route", "get", dst.getHostAddress());
        try {
            JsonNode arr = JSON.readTree(out);
            if (!arr.isArray() || arr.isEmpty()) {
                throw new Unresolved("no route to " + dst.getHostAddress());
            }
            return arr.get(0);
        } catch (IOException e) {
            throw new Unresolved("cannot read route to " + dst.getHostAddress() + ": " + e.getMessage());
        }
    }

    /** The lladdr of a usable neighbour entry (not FAILED/INCOMPLETE). */
    static Optional<byte[]> neighbour(InetAddress addr, String dev) throws Unresolved {
        String out = ip("-j", "neigh", "show", "to", addr.getHostAddress(), "dev", dev);
        try {
            JsonNode arr = JSON.readTree(out.isBlank() ? "[]" : out);
            for (JsonNode e : arr) {
                if (!e.hasNonNull("lladdr")) {
                    continue;
                }
                List<String> state = new ArrayList<>();
                e.path("state").forEach(s -> state.add(s.asText()));
                if (state.contains("FAILED") || state.contains("INCOMPLETE")) {
                    continue;
                }
                return Optional.of(Addr.parseMac(e.get("lladdr").asText()));
            }
            return Optional.empty();
        } catch (IOException | IllegalArgumentException e) {
            throw new Unresolved("cannot read neighbours of " + dev + ": " + e.getMessage());
        }
    }

    /**
     * The interface's MAC, or null when it has none (tun, wireguard). Asked
     * over netlink (ip -j link), which answers for the caller's network
     * namespace; /sys/class/net shows the namespace sysfs was mounted in.
     */
    static byte[] mac(String dev) {
        try {
            JsonNode arr = JSON.readTree(ip("-j", "link", "show", "dev", dev));
            JsonNode l = arr.get(0);
            if (l == null || !"ether".equals(l.path("link_type").asText())) {
                return null;
            }
            return Addr.parseMac(l.get("address").asText());
        } catch (IOException | Unresolved | RuntimeException e) {
            return null;
        }
    }

    private static String ip(String... args) throws Unresolved {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "ip";
        System.arraycopy(args, 0, cmd, 1, args.length);
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new Unresolved("'ip " + String.join(" ", args) + "' timed out");
            }
            String s = new String(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new Unresolved("'ip " + String.join(" ", args) + "' failed: " + s.trim());
            }
            return s;
        } catch (IOException e) {
            throw new Unresolved("cannot run ip (install iproute2): " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unresolved("interrupted");
        }
    }
}
