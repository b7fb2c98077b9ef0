package io.msm.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Container;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The init container's script, exactly as rendered into the pod, run with sh. Only the branches
 * that need no root: the mount itself is Kubernetes' and the kernel's business (checked by hand:
 * see the chart README).
 */
class BpffsCheckTest {
    record Run(int exit, String out) {}

    static Run run(String script, Path root, String mount)
            throws IOException, InterruptedException {
        return run(script, root, mount, null);
    }

    /** With binDir first on PATH (a fake mount there records its calls). */
    static Run run(String script, Path root, String mount, Path binDir)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", script).redirectErrorStream(true);
        if (binDir != null) {
            pb.environment().put("PATH", binDir + ":" + pb.environment().get("PATH"));
        }
        pb.environment().put("MSM_BPFFS_ROOT", root.toString());
        pb.environment().put("MSM_BPFFS_MOUNT", mount);
        pb.environment().put("K8S_NODE_NAME", "node-a");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "script did not finish");
        return new Run(p.exitValue(), out);
    }

    /**
     * The script with MSM_SYSCTL_ROOT at sysRoot/sys and the backlog wanted; the bpffs part checks
     * a directory that is not bpffs and never mounts (its exit code is not looked at).
     */
    static Run runWithSysctl(String script, Path sysRoot, String backlog)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", script).redirectErrorStream(true);
        pb.environment().put("MSM_BPFFS_ROOT", sysRoot.toString());
        pb.environment().put("MSM_BPFFS_MOUNT", "false");
        pb.environment().put("K8S_NODE_NAME", "node-a");
        pb.environment().put("MSM_SYSCTL_ROOT", sysRoot.resolve("sys").toString());
        pb.environment().put("MSM_NETDEV_MAX_BACKLOG", backlog);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(20, TimeUnit.SECONDS), "script did not finish");
        return new Run(p.exitValue(), out);
    }

    static String renderedScript(String values) {
        Container init =
                DaemonSetTest.container(
                        DaemonSetTest.pod(MsmChart.render(values)).getInitContainers(), "bpffs");
        assertEquals(List.of("/bin/sh", "-c"), init.getCommand());
        return init.getArgs().get(0);
    }

    @Test
    void failsWithInstructionsWhenTheDirectoryIsNotBpffs(@TempDir Path notBpffs) throws Exception {
        Run r = run(renderedScript("bpffs: {mount: false}\n"), notBpffs, "false");
        assertEquals(1, r.exit(), r.out());
        assertTrue(r.out().contains(notBpffs + " on node-a is not a bpf filesystem"), r.out());
        assertTrue(r.out().contains("mount -t bpf bpf /sys/fs/bpf"), r.out());
        assertTrue(r.out().contains("--set bpffs.mount=true"), r.out());
    }

    @Test
    void missingDirectoryIsReportedNotMistakenForBpffs(@TempDir Path dir) throws Exception {
        Run r = run(renderedScript(""), dir.resolve("absent"), "false");
        assertEquals(1, r.exit(), r.out());
        assertTrue(r.out().contains("not a bpf filesystem (missing)"), r.out());
    }

    @Test
    void acceptsARealBpffs() throws Exception {
        Path sysBpf = Path.of("/sys/fs/bpf");
        // statfs of /sys/fs/bpf needs no privilege; skip where the machine has no bpffs there
        Assumptions.assumeTrue(isBpffs(sysBpf), "/sys/fs/bpf is not bpffs on this machine");
        // MSM_BPFFS_MOUNT=false: whatever happens, never mount over the machine's /sys/fs/bpf
        Run r = run(renderedScript(""), sysBpf, "false");
        assertEquals(0, r.exit(), r.out());
        assertTrue(r.out().contains("is a bpf filesystem"), r.out());
    }

    /** A mount(8) that only writes its arguments to calls.log and fails. */
    static Path fakeMount(Path dir) throws IOException {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path mount = bin.resolve("mount");
        Files.writeString(
                mount,
                "#!/bin/sh\necho \"$@\" >> \"" + dir.resolve("calls.log") + "\"\nexit 32\n",
                StandardCharsets.UTF_8);
        assertTrue(mount.toFile().setExecutable(true));
        return bin;
    }

    @Test
    void withMountOnItChecksFirstAndMountsNothingWhereBpffsIsMounted(@TempDir Path dir)
            throws Exception {
        Path sysBpf = Path.of("/sys/fs/bpf");
        Assumptions.assumeTrue(isBpffs(sysBpf), "/sys/fs/bpf is not bpffs on this machine");
        // the privileged init container's script, on a node that has bpffs: nothing to do
        Run r = run(renderedScript(""), sysBpf, "true", fakeMount(dir));
        assertEquals(0, r.exit(), r.out());
        assertTrue(r.out().contains("is a bpf filesystem"), r.out());
        assertTrue(Files.notExists(dir.resolve("calls.log")), "mount was called: " + r.out());
    }

    @Test
    void withMountOnItMountsOnlyWhereBpffsIsMissing(@TempDir Path dir) throws Exception {
        Path notBpffs = Files.createDirectories(dir.resolve("bpf"));
        Run r = run(renderedScript(""), notBpffs, "true", fakeMount(dir));
        assertEquals(1, r.exit(), "the fake mount fails: " + r.out());
        assertEquals(
                List.of("-t bpf bpf " + notBpffs),
                Files.readAllLines(dir.resolve("calls.log")),
                "one mount of bpffs on the directory");
        assertTrue(r.out().contains("cannot mount bpffs"), r.out());
    }

    private static boolean isBpffs(Path p) throws IOException {
        return Files.isDirectory(p) && "bpf".equals(Files.getFileStore(p).type());
    }
}
