package io.msm.agent.intercept;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Finds a pod's cgroup v2 directory from its UID and QoS class, as the kubelet names it with either
 * cgroup driver:
 *
 * <pre>
 *   systemd:  kubepods.slice/kubepods-pod&lt;uid_&gt;.slice                                  (Guaranteed)
 *             kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod&lt;uid_&gt;.slice
 *             kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod&lt;uid_&gt;.slice
 *   cgroupfs: kubepods/pod&lt;uid&gt;, kubepods/burstable/pod&lt;uid&gt;, kubepods/besteffort/pod&lt;uid&gt;
 * </pre>
 *
 * (the systemd driver writes the UID with '_' for '-'). Attaching at the pod level covers every
 * container of the pod, including ones restarted later. Where the kubelet nests kubepods deeper
 * (kind, some distributions put it under kubelet.slice), a bounded search below the root finds the
 * directory.
 */
public final class PodCgroups {
    private static final int SEARCH_DEPTH = 5;

    private final Path root;

    public PodCgroups(Path root) {
        this.root = root;
    }

    public Path root() {
        return root;
    }

    /**
     * The relative paths tried first, for this QoS class (Guaranteed, Burstable, BestEffort; null:
     * any).
     */
    public static List<String> candidates(String uid, String qosClass) {
        String u = uid.replace('-', '_');
        List<String> out = new ArrayList<>();
        String q = qosClass == null ? "" : qosClass.toLowerCase(Locale.ROOT);
        if (q.isEmpty() || q.equals("guaranteed")) {
            out.add("kubepods.slice/kubepods-pod" + u + ".slice");
            out.add("kubepods/pod" + uid);
        }
        if (q.isEmpty() || q.equals("burstable")) {
            out.add(
                    "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
                            + u
                            + ".slice");
            out.add("kubepods/burstable/pod" + uid);
        }
        if (q.isEmpty() || q.equals("besteffort")) {
            out.add(
                    "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
                            + u
                            + ".slice");
            out.add("kubepods/besteffort/pod" + uid);
        }
        return out;
    }

    /** The pod's directory, if it exists (now). */
    public Optional<Path> find(String uid, String qosClass) {
        for (String c : candidates(uid, qosClass)) {
            Path p = root.resolve(c);
            if (Files.isDirectory(p)) {
                return Optional.of(p);
            }
        }
        String dashed = "pod" + uid;
        String underscored = "pod" + uid.replace('-', '_');
        try (Stream<Path> s =
                Files.find(
                        root,
                        SEARCH_DEPTH,
                        (p, a) -> {
                            if (!a.isDirectory()) {
                                return false;
                            }
                            String f = p.getFileName() == null ? "" : p.getFileName().toString();
                            return f.endsWith(dashed) || f.endsWith(underscored + ".slice");
                        })) {
            return s.findFirst();
        } catch (IOException | UncheckedIOException e) {
            return Optional
                    .empty(); // a directory vanished under the walk: the next event tries again
        }
    }
}
