package io.msm.cli.source;

import java.nio.file.Path;
import java.util.Optional;

/** Facts about this machine beyond the pinned maps. */
public interface Host {
    /** e.g. "Linux 6.1.0-18-amd64 amd64". */
    String kernel();

    /** CLOCK_MONOTONIC in ns: the clock bpf_ktime_get_ns() stamps flows with. */
    long monotonicNs();

    /** Name of the interface with that index in this network namespace. */
    Optional<String> ifname(int ifindex);

    /** The program id at (handle, priority) on ifindex's TC ingress, if any. */
    Optional<Integer> tcProgId(int ifindex, int handle, int priority);

    /** The XDP program id on ifindex in that mode, 0 if none. */
    int xdpProgId(int ifindex, boolean generic);

    /** Which of msm's pins exist under dir. */
    PinScan scanPins(Path dir);
}
