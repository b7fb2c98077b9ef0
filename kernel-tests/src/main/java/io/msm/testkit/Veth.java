package io.msm.testkit;

/**
 * A veth pair whose ends live in namespaces the test created. Each end gets an optional IPv4
 * address (CIDR) and is brought up.
 */
public record Veth(Netns nsA, String a, Netns nsB, String b) {

    /** Create a pair a@nsA <-> b@nsB (both may be the same namespace). */
    public static Veth create(
            Netns nsA, String a, String cidrA, Netns nsB, String b, String cidrB) {
        if (a.length() > 15 || b.length() > 15) {
            throw new IllegalArgumentException("interface names are at most 15 characters");
        }
        nsA.ip("link", "add", a, "type", "veth", "peer", "name", b, "netns", nsB.name());
        if (cidrA != null) {
            nsA.ip("addr", "add", cidrA, "dev", a);
        }
        if (cidrB != null) {
            nsB.ip("addr", "add", cidrB, "dev", b);
        }
        nsA.ip("link", "set", a, "up");
        nsB.ip("link", "set", b, "up");
        return new Veth(nsA, a, nsB, b);
    }

    public int ifindexA() {
        return nsA.ifindex(a);
    }

    public int ifindexB() {
        return nsB.ifindex(b);
    }

    public byte[] macA() {
        return nsA.mac(a);
    }

    public byte[] macB() {
        return nsB.mac(b);
    }

    /** Turn transmit checksum offload off on end a: packets then leave with full checksums. */
    public void txChecksumOffloadA(boolean on) {
        nsA.exec("ethtool", "-K", a, "tx", on ? "on" : "off");
    }
}
