package io.msm.agent.net;

import io.msm.bpf.maps.Addr;
import java.net.InetAddress;

/**
 * How a packet to one destination leaves this node: the interface, the source address the kernel
 * would pick, and the Ethernet addresses of the hop (all zero on loopback).
 */
public record NextHop(
        InetAddress destination,
        String ifname,
        int ifindex,
        InetAddress preferredSource,
        byte[] srcMac,
        byte[] dstMac,
        boolean local) {
    @Override
    public String toString() {
        return destination.getHostAddress()
                + " via "
                + ifname
                + " (ifindex "
                + ifindex
                + ") "
                + Addr.macString(srcMac)
                + " -> "
                + Addr.macString(dstMac)
                + (local ? " [local]" : "");
    }
}
