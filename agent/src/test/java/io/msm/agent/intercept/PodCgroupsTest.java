package io.msm.agent.intercept;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pod cgroup directories as both kubelet cgroup drivers name them, and the cgroup v2 mount point.
 */
class PodCgroupsTest {
    static final String UID = "6f1c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f";

    @Test
    void systemdDriver(@TempDir Path root) throws Exception {
        Path d =
                root.resolve(
                        "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
                                + UID.replace('-', '_')
                                + ".slice");
        Files.createDirectories(d);
        assertEquals(Optional.of(d), new PodCgroups(root).find(UID, "Burstable"));
        assertEquals(
                Optional.of(d),
                new PodCgroups(root).find(UID, null),
                "QoS unknown: every layout is tried");
    }

    @Test
    void cgroupfsDriverAndGuaranteed(@TempDir Path root) throws Exception {
        Path d = root.resolve("kubepods/pod" + UID);
        Files.createDirectories(d);
        assertEquals(Optional.of(d), new PodCgroups(root).find(UID, "Guaranteed"));
    }

    @Test
    void nestedKubepodsIsFoundBySearch(@TempDir Path root) throws Exception {
        Path d =
                root.resolve(
                        "kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
                                + "kubelet-kubepods-besteffort-pod"
                                + UID.replace('-', '_')
                                + ".slice");
        Files.createDirectories(d.resolve("cri-containerd-abc.scope"));
        assertEquals(Optional.of(d), new PodCgroups(root).find(UID, "BestEffort"));
        assertTrue(
                new PodCgroups(root).find("00000000-0000-0000-0000-000000000000", null).isEmpty());
    }

    @Test
    void cgroup2MountPoint() {
        String hybrid =
                "tmpfs /sys/fs/cgroup tmpfs rw 0 0\ncgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n"
                        + "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n";
        assertEquals(Optional.of(Path.of("/sys/fs/cgroup/unified")), CgroupV2.mountPoint(hybrid));
        assertEquals(
                Optional.of(Path.of("/sys/fs/cgroup")),
                CgroupV2.mountPoint(
                        "cgroup2 /x/y cgroup2 rw 0 0\ncgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n"),
                "the standard place wins");
        assertTrue(CgroupV2.mountPoint("proc /proc proc rw 0 0\n").isEmpty());
    }
}
