package io.msm.agent.media;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.msm.agent.identity.IdentityLookup;
import io.msm.agent.identity.IdentitySink;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The media plane's ports and kernel fan-out groups, shared between the control protocols so that
 * none can starve another: each protocol has a reserved share that the others cannot take, and they
 * compete for the rest. A protocol reserves what a session needs (a {@link Lease}) before it
 * accepts the session — no port is bound and no kernel entry written for a request refused here —
 * and gives it back when the session ends.
 *
 * <p>A reservation of {@code n} for protocol {@code p} succeeds when, after it, every other
 * protocol still finds its unused reserved share free: {@code used + n + Σ_{q≠p} max(0, reserved_q
 * - used_q) ≤ capacity}. The userspace plane has no kernel groups: its group capacity is unbounded.
 *
 * <p>Protocols that open relays without reserving first (RTSP) use {@link Share#plane}, a view of
 * the plane that reserves one port and one group per relay it opens (and gives them back when the
 * relay closes), refusing with an {@link IOException} — the same as a full port range.
 */
public final class MediaAdmission {
    /** The share reserved for each of SIP and RTSP, of ports and of groups. */
    public static final double DEFAULT_RESERVED = 0.25;

    /** Ports or groups without a bound (the userspace plane's groups). */
    public static final int UNBOUNDED = Integer.MAX_VALUE / 4;

    private final int portCapacity;
    private final int groupCapacity;

    @GuardedBy("this")
    private final Map<String, Share> shares = new LinkedHashMap<>();

    /**
     * @param ports ports in the media port range
     * @param groups kernel fan-out groups ({@link #UNBOUNDED} for the userspace plane)
     * @param reserved the share of each reserved for each named protocol (fraction, 0..1)
     */
    public MediaAdmission(int ports, int groups, Map<String, Double> reserved) {
        this.portCapacity = ports;
        this.groupCapacity = groups;
        double sum = 0;
        for (Map.Entry<String, Double> e : reserved.entrySet()) {
            sum += e.getValue();
            synchronized (this) {
                shares.put(
                        e.getKey(),
                        new Share(
                                e.getKey(),
                                (int) Math.floor(ports * e.getValue()),
                                groups >= UNBOUNDED ? 0 : (int) Math.floor(groups * e.getValue())));
            }
        }
        if (sum > 1.0001) {
            throw new IllegalArgumentException("reserved shares add up to more than 1: " + sum);
        }
    }

    /** SIP and RTSP with {@link #DEFAULT_RESERVED} each. */
    public static MediaAdmission standard(int ports, int groups) {
        return new MediaAdmission(
                ports, groups, Map.of("sip", DEFAULT_RESERVED, "rtsp", DEFAULT_RESERVED));
    }

    /** A protocol's share (one with nothing reserved when the protocol was not named). */
    public synchronized Share share(String protocol) {
        return shares.computeIfAbsent(protocol, p -> new Share(p, 0, 0));
    }

    public int portCapacity() {
        return portCapacity;
    }

    public int groupCapacity() {
        return groupCapacity;
    }

    @GuardedBy("this")
    private int usedPorts() {
        int n = 0;
        for (Share s : shares.values()) {
            n += s.ports;
        }
        return n;
    }

    @GuardedBy("this")
    private int usedGroups() {
        int n = 0;
        for (Share s : shares.values()) {
            n += s.groups;
        }
        return n;
    }

    /** Whether {@code s} may take {@code ports} and {@code groups} more (caller holds the lock). */
    @GuardedBy("this")
    private boolean fits(Share s, int ports, int groups) {
        long heldP = 0;
        long heldG = 0;
        for (Share o : shares.values()) {
            if (o != s) {
                heldP += Math.max(0, o.reservedPorts - o.ports);
                heldG += Math.max(0, o.reservedGroups - o.groups);
            }
        }
        boolean p = (long) usedPorts() + ports + heldP <= portCapacity;
        boolean g =
                groupCapacity >= UNBOUNDED || (long) usedGroups() + groups + heldG <= groupCapacity;
        return p && g;
    }

    /** One protocol's use of the plane. */
    public final class Share {
        private final String protocol;
        private final int reservedPorts;
        private final int reservedGroups;

        // guarded by MediaAdmission.this (the checker cannot name an outer instance's lock here)
        private int ports;

        // guarded by MediaAdmission.this (the checker cannot name an outer instance's lock here)
        private int groups;

        private Share(String protocol, int reservedPorts, int reservedGroups) {
            this.protocol = protocol;
            this.reservedPorts = reservedPorts;
            this.reservedGroups = reservedGroups;
        }

        public String protocol() {
            return protocol;
        }

        /** A lease of {@code ports} and {@code groups}, or null when they do not fit. */
        public Lease reserve(int ports, int groups) {
            synchronized (MediaAdmission.this) {
                if (!fits(this, ports, groups)) {
                    return null;
                }
                this.ports += ports;
                this.groups += groups;
                return new Lease(this, ports, groups);
            }
        }

        /**
         * A lease taken whatever the limits (what already exists: relays restored after a restart
         * must be counted).
         */
        public Lease force(int ports, int groups) {
            synchronized (MediaAdmission.this) {
                this.ports += ports;
                this.groups += groups;
                return new Lease(this, ports, groups);
            }
        }

        public int ports() {
            synchronized (MediaAdmission.this) {
                return ports;
            }
        }

        public int groups() {
            synchronized (MediaAdmission.this) {
                return groups;
            }
        }

        public int reservedPorts() {
            return reservedPorts;
        }

        public int reservedGroups() {
            return reservedGroups;
        }

        /** Ports this protocol could still take now. */
        public int portsAvailable() {
            synchronized (MediaAdmission.this) {
                long held = 0;
                for (Share o : shares.values()) {
                    if (o != this) {
                        held += Math.max(0, o.reservedPorts - o.ports);
                    }
                }
                return (int) Math.max(0, portCapacity - usedPorts() - held);
            }
        }

        /** Groups this protocol could take at most (capacity less the others' reservations). */
        public int groupsAtMost() {
            synchronized (MediaAdmission.this) {
                if (groupCapacity >= UNBOUNDED) {
                    return UNBOUNDED;
                }
                int others = 0;
                for (Share o : shares.values()) {
                    if (o != this) {
                        others += o.reservedGroups;
                    }
                }
                return groupCapacity - others;
            }
        }

        /**
         * The plane as this protocol sees it: each relay opened takes one port and one group from
         * this share (refused with an IOException when they do not fit) until it closes.
         */
        public MediaPlane plane(MediaPlane base) {
            return new SharedPlane(base, this);
        }
    }

    /** What one session holds; grown as it needs more, given back once. */
    public final class Lease implements AutoCloseable {
        private final Share share;

        // guarded by MediaAdmission.this (the checker cannot name an outer instance's lock here)
        private int ports;

        // guarded by MediaAdmission.this (the checker cannot name an outer instance's lock here)
        private int groups;

        // guarded by MediaAdmission.this (the checker cannot name an outer instance's lock here)
        private boolean closed;

        private Lease(Share share, int ports, int groups) {
            this.share = share;
            this.ports = ports;
            this.groups = groups;
        }

        /**
         * Grows the lease to at least {@code ports} and {@code groups}; false (nothing changed)
         * when the difference does not fit.
         */
        public boolean ensure(int ports, int groups) {
            synchronized (MediaAdmission.this) {
                if (closed) {
                    return false;
                }
                int dp = Math.max(0, ports - this.ports);
                int dg = Math.max(0, groups - this.groups);
                if (dp == 0 && dg == 0) {
                    return true;
                }
                if (!fits(share, dp, dg)) {
                    return false;
                }
                share.ports += dp;
                share.groups += dg;
                this.ports += dp;
                this.groups += dg;
                return true;
            }
        }

        public int ports() {
            synchronized (MediaAdmission.this) {
                return ports;
            }
        }

        public int groups() {
            synchronized (MediaAdmission.this) {
                return groups;
            }
        }

        @Override
        public void close() {
            synchronized (MediaAdmission.this) {
                if (closed) {
                    return;
                }
                closed = true;
                share.ports -= ports;
                share.groups -= groups;
            }
        }
    }

    /** A plane whose relays are counted in a share. */
    private static final class SharedPlane implements MediaPlane {
        private final MediaPlane base;
        private final Share share;

        SharedPlane(MediaPlane base, Share share) {
            this.base = base;
            this.share = share;
        }

        @Override
        public String mode() {
            return base.mode();
        }

        @Override
        public MediaAdmission admission() {
            return base.admission();
        }

        @Override
        public IdentitySink identitySink() {
            return base.identitySink();
        }

        @Override
        public void identityLookup(IdentityLookup lookup) {
            base.identityLookup(lookup);
        }

        private Lease take(int relays) throws IOException {
            Lease l = share.reserve(relays, relays);
            if (l == null) {
                throw new IOException(
                        "the media plane's ports or kernel groups left to "
                                + share.protocol()
                                + " are taken (its share: "
                                + share.ports()
                                + " ports and "
                                + share.groups()
                                + " groups in use)");
            }
            return l;
        }

        @Override
        public Relay open(InetSocketAddress bind, RelayOptions options) throws IOException {
            Lease l = take(1);
            try {
                return new LeasedRelay(base.open(bind, options), l);
            } catch (IOException | RuntimeException e) {
                l.close();
                throw e;
            }
        }

        @Override
        public RelayPair openPair(InetAddress addr, RelayOptions rtp, RelayOptions rtcp)
                throws IOException {
            Lease a = take(1);
            Lease b;
            try {
                b = take(1);
            } catch (IOException e) {
                a.close();
                throw e;
            }
            try {
                RelayPair p = base.openPair(addr, rtp, rtcp);
                return new RelayPair(new LeasedRelay(p.rtp(), a), new LeasedRelay(p.rtcp(), b));
            } catch (IOException | RuntimeException e) {
                a.close();
                b.close();
                throw e;
            }
        }

        @Override
        public void close() {
            // the base plane is closed by its owner
        }
    }

    /** A relay that gives its lease back when it closes. */
    private static final class LeasedRelay extends ForwardingRelay {
        private final Lease lease;

        LeasedRelay(Relay r, Lease lease) {
            super(r);
            this.lease = lease;
        }

        @Override
        public void close() {
            try {
                delegate.close();
            } finally {
                lease.close();
            }
        }
    }
}
