package io.msm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.msm.bpf.maps.Meta;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HelpTest {
    static Run run(String... args) {
        return Run.of(
                dir -> {
                    throw new AssertionError("help must not open the datapath");
                },
                new FakeHost(),
                Run.AGENT_UP,
                args);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "flows", "fanout", "status", "version", "help"})
    void helpOfEveryCommandExitsZero(String command) {
        List<String> args = new ArrayList<>();
        if (!command.isEmpty()) {
            args.add(command);
        }
        args.add("--help");
        Run r = run(args.toArray(new String[0]));
        assertEquals(0, r.exit(), r.toString());
        String usage = "Usage: msm" + (command.isEmpty() ? "" : " " + command);
        // picocli's HelpCommand puts its description first
        assertTrue(
                command.equals("help") ? r.out().contains(usage) : r.out().startsWith(usage),
                r.out());
        if (!command.equals("help")) {
            assertTrue(r.out().contains("Exit codes:"), r.out());
            assertTrue(r.out().contains("3   no msm datapath pinned"), r.out());
            assertTrue(
                    r.out().contains("4   not allowed to read the pins: needs root or CAP_BPF"),
                    r.out());
        }
        assertTrue(
                r.out().contains("--bpffs=DIR") || command.equals("help"),
                "global option shown: " + r.out());
    }

    @ParameterizedTest
    @ValueSource(strings = {"flows", "fanout", "status", "version"})
    void helpCommandShowsTheSameHelp(String command) {
        Run viaHelp = run("help", command);
        Run viaOption = run(command, "--help");
        assertEquals(0, viaHelp.exit());
        assertEquals(viaOption.out(), viaHelp.out());
    }

    @Test
    void noCommandIsAUsageError() {
        Run r = run();
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("missing command"), r.err());
    }

    @Test
    void unknownCommandIsAUsageError() {
        assertEquals(2, run("flow").exit());
    }

    @Test
    void versionNamesTheLayoutItReads() {
        Run r = run("version");
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.out().startsWith("msm "), r.out());
        assertTrue(
                r.out().contains("datapath layout version " + Meta.LAYOUT_VERSION + "\n"), r.out());
        assertEquals(r.out(), run("--version").out());
    }

    @Test
    void bpffsWorksBeforeAndAfterTheCommand() {
        List<Path> opened = new ArrayList<>();
        FakeDatapath dp = new FakeDatapath();
        Run.of(
                dir -> {
                    opened.add(dir);
                    return dp;
                },
                new FakeHost(),
                Run.AGENT_UP,
                "--bpffs",
                "/sys/fs/bpf/a",
                "flows");
        Run.of(
                dir -> {
                    opened.add(dir);
                    return dp;
                },
                new FakeHost(),
                Run.AGENT_UP,
                "fanout",
                "--bpffs",
                "/sys/fs/bpf/b");
        Run.of(
                dir -> {
                    opened.add(dir);
                    return dp;
                },
                new FakeHost(),
                Run.AGENT_UP,
                "flows");
        assertEquals(
                List.of(
                        Path.of("/sys/fs/bpf/a"),
                        Path.of("/sys/fs/bpf/b"),
                        Path.of(MsmCommand.DEFAULT_BPFFS)),
                opened);
    }
}
