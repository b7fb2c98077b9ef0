package io.msm.agent.datapath;

import io.msm.agent.net.netlink.Link;
import io.msm.agent.net.netlink.NetlinkException;
import io.msm.agent.net.netlink.RtNetlink;
import io.msm.bpf.libbpf.Native;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Network interfaces by name and index. */
public final class Interfaces {
    private Interfaces() {}

    /**
     * Every interface that is administratively up and not loopback: the default attach set. Asked
     * over netlink: Java's NetworkInterface.isUp() also wants the link "running", which lags a
     * fresh veth by up to a second, and would leave it out.
     */
    public static List<String> defaultSet() {
        List<String> out = new ArrayList<>();
        try (RtNetlink nl = RtNetlink.open()) {
            for (Link l : nl.links()) {
                if (l.up() && !l.loopback()) {
                    out.add(l.name());
                }
            }
        } catch (NetlinkException e) {
            throw new IllegalStateException("cannot list network interfaces: " + e.getMessage(), e);
        }
        Collections.sort(out);
        return out;
    }

    /** Every interface (for cleanup scans). */
    public static List<String> all() {
        List<String> out = new ArrayList<>();
        try {
            for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                out.add(ni.getName());
            }
        } catch (SocketException e) {
            throw new IllegalStateException("cannot list network interfaces: " + e.getMessage(), e);
        }
        return out;
    }

    /** ifindex of name, or 0 when there is no such interface. */
    public static int index(String name) {
        return Native.get().libc.if_nametoindex(name);
    }

    /** Name of ifindex, or null. */
    public static String name(int ifindex) {
        try {
            NetworkInterface ni = NetworkInterface.getByIndex(ifindex);
            return ni == null ? null : ni.getName();
        } catch (SocketException e) {
            return null;
        }
    }
}
