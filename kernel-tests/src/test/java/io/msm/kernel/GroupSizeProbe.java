package io.msm.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.testkit.KernelTest;
import io.msm.testkit.Sh;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A measurement, not a test (tag "probe", left out of normal runs): the largest fan-out group whose
 * datapath loads on the running kernel, by bpf/scripts/group-size-probe.sh. Run on the host with
 * {@code mvn -pl kernel-tests test -Dgroups=probe -Dmsm.excludedGroups=none} and on Debian 6.1 with
 * {@code kernel-tests/vm/run.sh --tag probe}.
 */
@KernelTest
@Tag("probe")
class GroupSizeProbe {
    @Test
    void largestGroupThatLoads() {
        Path script = Path.of("../bpf/scripts/group-size-probe.sh").toAbsolutePath().normalize();
        if (!Files.exists(script)) {
            script = Path.of("bpf/scripts/group-size-probe.sh").toAbsolutePath();
        }
        Sh.Result r = Sh.exec(1800, script.toString(), "1024", "65536", "116000", "117000");
        System.out.println(r.out() + r.err());
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(
                r.out().contains("MSM_MAX_SUBS=1024: loads"), "the shipped size loads: " + r.out());
    }
}
