package io.msm.kernel;

import io.msm.bpf.Datapath;
import io.msm.bpf.DatapathSpec;
import io.msm.bpf.maps.DatapathConfig;
import io.msm.bpf.maps.DenyKey;
import io.msm.bpf.maps.PortTable;
import io.msm.bpf.testrun.ProgTestRun;
import io.msm.testkit.KernelTest;
import io.msm.testkit.Packets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A measurement, not a test (tag "probe"): the XDP program's cost per packet, timed by the kernel
 * over BPF_PROG_TEST_RUN repeats (no device, no stack), with a deny-list of a few prefixes and the
 * new-flow limit on (with a bucket too deep to run dry, so every case takes its pass path). Run
 * with {@code mvn -pl kernel-tests -am verify -Dtest=XdpCostProbe -Dgroups=probe
 * -Dmsm.excludedGroups=none -Dsurefire.failIfNoSpecifiedTests=false}; prints the median of 7 runs
 * of 200,000 repeats per case.
 */
@KernelTest
@Tag("probe")
class XdpCostProbe {
    static final int REPEAT = 200_000;

    @Test
    void nanosecondsPerPacket() {
        try (Datapath dp = Datapath.load(DatapathSpec.DEFAULT)) {
            dp.configure(
                    DatapathConfig.defaults().withNewflowLimit(10_000_000, 10_000_000),
                    PortTable.defaults());
            dp.denyList().update(DenyKey.parse("10.66.0.0/16"), 0L);
            dp.denyList().update(DenyKey.parse("192.0.2.0/24"), 0L);
            dp.denyList().update(DenyKey.parse("2001:db8:bad::/48"), 0L);
            byte[] rtp = Packets.rtp(1, 0, 7, 96, false, 1188);
            byte[] known =
                    Packets.builder()
                            .ip("10.1.0.1", "10.2.0.2")
                            .udp(5004, 6004)
                            .payload(rtp)
                            .build();
            ProgTestRun.run(dp.progFd(Datapath.PROG_TC), known); // now in the flow table
            byte[] known6 =
                    Packets.builder()
                            .ip("2001:db8::1", "2001:db8::2")
                            .udp(5004, 6004)
                            .payload(rtp)
                            .build();
            ProgTestRun.run(dp.progFd(Datapath.PROG_TC), known6);
            Map<String, byte[]> cases = new LinkedHashMap<>();
            cases.put("udp4 known flow", known);
            cases.put("udp6 known flow", known6);
            cases.put(
                    "udp4 new flow",
                    Packets.builder()
                            .ip("10.1.0.1", "10.2.0.2")
                            .udp(5006, 6004)
                            .payload(rtp)
                            .build());
            cases.put(
                    "icmp4",
                    Packets.builder()
                            .ip("10.1.0.1", "10.2.0.2")
                            .proto(1)
                            .payload(new byte[56])
                            .build());
            cases.put(
                    "udp4 denied",
                    Packets.builder()
                            .ip("10.66.0.1", "10.2.0.2")
                            .udp(5006, 6004)
                            .payload(rtp)
                            .build());
            cases.put(
                    "udp6 3 ext hdrs",
                    Packets.builder()
                            .ip("2001:db8::1", "2001:db8::2")
                            .v6Extensions(0, 60, 43)
                            .udp(5004, 6004)
                            .payload(rtp)
                            .build());
            for (Map.Entry<String, byte[]> e : cases.entrySet()) {
                long[] ns = new long[7];
                int rc = 0;
                for (int i = 0; i < ns.length; i++) {
                    ProgTestRun.Result r =
                            ProgTestRun.run(dp.progFd(Datapath.PROG_XDP), e.getValue(), REPEAT);
                    ns[i] = r.durationNs();
                    rc = r.retval();
                }
                Arrays.sort(ns);
                System.out.printf(
                        "XDPCOST %-18s verdict=%d ns/packet=%d (min %d, max %d)%n",
                        e.getKey(), rc, ns[3], ns[0], ns[6]);
            }
        }
    }
}
