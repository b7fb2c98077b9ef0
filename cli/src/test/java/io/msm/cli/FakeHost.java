package io.msm.cli;

import io.msm.cli.source.Host;
import io.msm.cli.source.PinScan;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A machine with a clock the test moves and interfaces/attachments it declares. */
public final class FakeHost implements Host {
    public long nowNs = 100_000_000_000L;

    /** Added to the clock on every read (so each --watch refresh sees time pass). */
    public long tickNs;

    public final Map<Integer, String> ifnames = new HashMap<>();
    public final Map<Integer, Integer> tc = new HashMap<>();
    public final Map<Integer, Integer> xdp = new HashMap<>();
    public PinScan pins = new PinScan(true, false, true, List.of("msm_flows"), List.of());

    @Override
    public String kernel() {
        return "Linux 6.1.0-test amd64";
    }

    @Override
    public long monotonicNs() {
        long t = nowNs;
        nowNs += tickNs;
        return t;
    }

    @Override
    public Optional<String> ifname(int ifindex) {
        return Optional.ofNullable(ifnames.get(ifindex));
    }

    @Override
    public Optional<Integer> tcProgId(int ifindex, int handle, int priority) {
        return Optional.ofNullable(tc.get(ifindex));
    }

    @Override
    public int xdpProgId(int ifindex, boolean generic) {
        return xdp.getOrDefault(ifindex, 0);
    }

    @Override
    public PinScan scanPins(Path dir) {
        return pins;
    }
}
