package io.msm.agent.datapath;

import io.msm.bpf.libbpf.Native;

import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Network interfaces by name and index. */
public final class Interfaces {
    private Interfaces() {
    }

    /**
     * Every interface that is administratively up and not loopback: the
     * default attach set. Asked over netlink (ip -j link): Java's
     * NetworkInterface.isUp() also wants the link "running", which lags a
     * fresh veth by up to a second, and would leave it out.
     */
    public static List<String> defaultSet() {
        List<String> out = new ArrayList<>();
        try {
            Process p = new ProcessBuilder("ip", "-j", "link", "show").redirectErrorStream(true).start();
            byte[] json = p.getInputStream().readAllBytes();
            if (!p.waitFor(5, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("'ip -j link show' failed: " + new String(json));
            }
            for (com.fasterxml.jackson.databind.JsonNode l : new com.fasterxml.jackson.databind.ObjectMapper().readTree(json)) {
                boolean up = false;
                for (com.fasterxml.jackson.databind.JsonNode f : l.path("flags")) {
                    up |= "UP".equals(f.asText());
                }
                if (up && !"loopback".equals(l.path("link_type").asText())) {
                    out.add(l.path("ifname").asText());
                }
            }
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot list network interfaces (is iproute2 installed?): " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
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
