package io.msm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.bpf.BpfException;
import io.msm.bpf.libbpf.Errno;
import io.msm.bpf.maps.Meta;
import io.msm.cli.source.Datapaths;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Each failure a user can meet: its exit code and the words that tell them what to do. */
class FailuresTest {
    static final Path DIR = Path.of("/sys/fs/bpf/nothing-here");

    static Run run(Datapaths opener, String... args) {
        String[] full = new String[args.length + 2];
        full[0] = "--bpffs";
        full[1] = DIR.toString();
        System.arraycopy(args, 0, full, 2, args.length);
        return Run.of(opener, new FakeHost(), Run.AGENT_UP, full);
    }

    static Datapaths throwing(RuntimeException e) {
        return dir -> {
            throw e;
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"flows", "fanout"})
    void notPinned(String command) {
        Run r = run(throwing(Failures.notPinned(DIR)), command);
        assertEquals(3, r.exit());
        assertEquals(
                "msm: no msm datapath pinned at /sys/fs/bpf/nothing-here (is msm-agent running? see msm status)\n",
                r.err());
        assertEquals("", r.out());
    }

    @Test
    void notPinnedNamesTheMissingPins() {
        Run r =
                run(
                        throwing(Failures.notPinned(DIR, List.of("msm_flows", "prog_msm_xdp"))),
                        "flows");
        assertEquals(3, r.exit());
        assertTrue(r.err().contains("missing pins: msm_flows, prog_msm_xdp"), r.err());
    }

    @Test
    void enoentFromLibbpfMeansNotPinned() {
        Run r =
                run(
                        throwing(new BpfException("/x/msm_flows is not pinned", Errno.ENOENT)),
                        "flows",
                        "--json");
        assertEquals(3, r.exit());
        assertTrue(r.err().startsWith("msm: no msm datapath pinned at " + DIR), r.err());
    }

    @ParameterizedTest
    @ValueSource(ints = {Errno.EPERM, Errno.EACCES})
    void permissionDenied(int errno) {
        Run r =
                run(
                        throwing(
                                new BpfException(
                                        "cannot open /x/msm_flows: Operation not permitted",
                                        errno)),
                        "flows");
        assertEquals(4, r.exit());
        assertTrue(r.err().contains("needs root or CAP_BPF"), r.err());
        assertTrue(r.err().contains(DIR.toString()), "says which pins: " + r.err());
    }

    @Test
    void permissionDeniedWhileReadingToo() {
        FakeDatapath dp = new FakeDatapath();
        dp.beforeFlowRead =
                () -> {
                    throw new BpfException(
                            "map msm_flows: lookup_batch failed: Operation not permitted (EPERM)",
                            Errno.EPERM);
                };
        Run r = Run.of(dir -> dp, new FakeHost(), Run.AGENT_UP, "flows");
        assertEquals(4, r.exit());
        assertTrue(r.err().contains("needs root or CAP_BPF"), r.err());
        assertTrue(dp.closed, "closed on failure too");
    }

    @Test
    void layoutVersionMismatchSaysBothVersionsAndWhatToDo() {
        int other = Meta.LAYOUT_VERSION + 1;
        Run r = run(throwing(Failures.layoutVersion(DIR, other)), "flows");
        assertEquals(5, r.exit());
        assertTrue(
                r.err()
                        .contains(
                                "has layout version "
                                        + other
                                        + " but this msm understands layout version "
                                        + Meta.LAYOUT_VERSION),
                r.err());
        assertTrue(
                r.err().contains("use the msm CLI from the same release as the running msm-agent"),
                r.err());
    }

    @Test
    void layoutSizeMismatchNamesTheMap() {
        Run r =
                run(
                        throwing(
                                Failures.layoutSizes(
                                        DIR,
                                        List.of(
                                                "msm_flows: key/value size 40/80, this msm expects 40/88"),
                                        1)),
                        "fanout");
        assertEquals(5, r.exit());
        assertTrue(
                r.err().contains("msm_flows: key/value size 40/80, this msm expects 40/88"),
                r.err());
        assertTrue(r.err().contains("it says layout version 1"), r.err());
    }

    @Test
    void bpfMapsOwnSizeCheckIsALayoutMismatchToo() {
        Run r =
                run(
                        throwing(
                                new BpfException(
                                        "map 'msm_flows' has key/value size 40/80 but this msm expects 40/88: "
                                                + "the pinned datapath has a different layout")),
                        "flows");
        assertEquals(5, r.exit());
        assertTrue(r.err().contains("40/80") && r.err().contains("restart msm-agent"), r.err());
    }

    @Test
    void otherBpfErrorsKeepTheirMessage() {
        Run r =
                run(
                        throwing(
                                new BpfException(
                                        "map msm_flows: lookup_batch failed: Invalid argument (EINVAL)",
                                        Errno.EINVAL)),
                        "flows");
        assertEquals(1, r.exit());
        assertEquals(
                "msm: map msm_flows: lookup_batch failed: Invalid argument (EINVAL)\n", r.err());
    }

    @Test
    void aBugIsReportedAsOne() {
        Run r = run(throwing(new IllegalStateException("boom")), "flows");
        assertEquals(1, r.exit());
        assertTrue(
                r.err().startsWith("msm: internal error: java.lang.IllegalStateException: boom"),
                r.err());
    }

    @Test
    void exitCodesAreDistinct() {
        assertEquals(
                ExitCode.values().length,
                Arrays.stream(ExitCode.values()).mapToInt(ExitCode::code).distinct().count());
    }
}
