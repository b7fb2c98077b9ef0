package io.msm.agent.sip.route;

import io.msm.agent.sip.message.SipUri;
import io.msm.agent.sip.message.Via;
import io.msm.agent.sip.transport.Hop;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Who msm is on this node: the addresses and port it listens on (for "is this Route / Via /
 * Request-URI us?") and which of its addresses faces a given peer (for Via, Record-Route and the
 * media ports in SDP). The facing address is the kernel's own choice of source address, found by
 * connecting a UDP socket (no packet is sent); cached for a while.
 */
public final class Node {
    private static final long ADDR_REFRESH_NS = 10_000_000_000L;
    private static final long FACING_TTL_NS = 30_000_000_000L;

    private final InetSocketAddress listen;
    private final int tlsPort;
    private final Set<String> domains;
    private volatile Set<InetAddress> addresses = Set.of();
    private long addressesAt;
    private final Map<InetAddress, InetAddress> facing = new HashMap<>();
    private final Map<InetAddress, Long> facingAt = new HashMap<>();

    public Node(InetSocketAddress listen, List<String> domains) {
        this(listen, -1, domains);
    }

    /**
     * @param tlsPort the TLS listener's port (sip.tls), or -1: Route, Via and Request-URI entries
     *     with it are msm too
     */
    public Node(InetSocketAddress listen, int tlsPort, List<String> domains) {
        this.listen = listen;
        this.tlsPort = tlsPort;
        Set<String> d = new HashSet<>();
        domains.forEach(x -> d.add(x.toLowerCase(Locale.ROOT)));
        this.domains = Set.copyOf(d);
        refresh();
    }

    public int port() {
        return listen.getPort();
    }

    /** The port msm listens on for a transport (TLS has its own; -1 when TLS is off). */
    public int port(Hop.Kind kind) {
        return kind == Hop.Kind.TLS ? tlsPort : listen.getPort();
    }

    private void refresh() {
        Set<InetAddress> a = new HashSet<>();
        if (!listen.getAddress().isAnyLocalAddress()) {
            a.add(listen.getAddress());
        } else {
            try {
                for (NetworkInterface ni :
                        Collections.list(NetworkInterface.getNetworkInterfaces())) {
                    a.addAll(Collections.list(ni.getInetAddresses()));
                }
            } catch (SocketException e) {
                a.add(InetAddress.getLoopbackAddress());
            }
        }
        addresses = Set.copyOf(a);
        addressesAt = System.nanoTime();
    }

    private Set<InetAddress> addresses() {
        if (System.nanoTime() - addressesAt > ADDR_REFRESH_NS) {
            refresh();
        }
        return addresses;
    }

    /** One of the node's addresses (an IP literal host), or a configured domain. */
    public boolean isOurHost(String host) {
        if (domains.contains(host.toLowerCase(Locale.ROOT))) {
            return true;
        }
        InetAddress a = new SipUriHost(host).address();
        return a != null && addresses().contains(a);
    }

    /** host:port is one of msm's listeners (a missing port is 5060). */
    public boolean isUs(String host, int port) {
        int p = port > 0 ? port : 5060;
        if (p != listen.getPort() && p != tlsPort) {
            return false;
        }
        InetAddress a = new SipUriHost(host).address();
        return a != null && addresses().contains(a);
    }

    /**
     * A Request-URI that names msm itself as registrar: one of its hosts, without a port or with
     * one of its listeners' ports (UDP/TCP or TLS).
     */
    public boolean isRegistrar(SipUri ruri) {
        return isOurHost(ruri.host())
                && (ruri.port() < 0 || ruri.port() == port() || ruri.port() == tlsPort);
    }

    public boolean isUs(SipUri u) {
        return isUs(u.host(), u.portOrDefault());
    }

    public boolean isUs(Via v) {
        return isUs(v.host(), v.port());
    }

    /** The node address the kernel would send from to reach peer. */
    public InetAddress facing(InetAddress peer) {
        if (!listen.getAddress().isAnyLocalAddress()) {
            return listen.getAddress();
        }
        long now = System.nanoTime();
        InetAddress cached = facing.get(peer);
        Long at = facingAt.get(peer);
        if (cached != null && at != null && now - at < FACING_TTL_NS) {
            return cached;
        }
        InetAddress a;
        try (DatagramSocket s = new DatagramSocket()) {
            s.connect(new InetSocketAddress(peer, 9)); // a route lookup only: nothing is sent
            a = s.getLocalAddress();
        } catch (IOException | RuntimeException e) {
            a = null;
        }
        if (a == null || a.isAnyLocalAddress()) {
            a = peer.isLoopbackAddress() ? InetAddress.getLoopbackAddress() : null;
        }
        if (a != null) {
            if (facing.size() > 4096) {
                facing.clear();
                facingAt.clear();
            }
            facing.put(peer, a);
            facingAt.put(peer, now);
        }
        return a;
    }

    /** A host string's IP literal, without DNS. */
    private record SipUriHost(String host) {
        InetAddress address() {
            try {
                return SipUri.parse("sip:" + host).address();
            } catch (RuntimeException e) {
                return null;
            }
        }
    }
}
