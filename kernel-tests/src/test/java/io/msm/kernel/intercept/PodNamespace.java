package io.msm.kernel.intercept;

import io.msm.agent.intercept.CgroupV2;
import io.msm.testkit.Names;
import io.msm.testkit.Netns;
import io.msm.testkit.Sh;
import io.msm.testkit.Veth;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * A "node" and a "pod" as Kubernetes would lay them out, made of namespaces and a cgroup this test
 * owns:
 *
 * <pre>
 *   node netns  NODE_ADDR/24 ──veth── POD_ADDR/24  pod netns
 *   cgroup v2:  ROOT = &lt;cgroup2 mount&gt;/msm-ID   (stands in for the node's cgroup root)
 *               ROOT/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod&lt;uid_&gt;.slice
 * </pre>
 *
 * The pod namespace routes 10.123.0.0/16 to "unreachable": a connect there fails at once, without a
 * packet, unless msm redirects it — so a test can tell a redirected connect from one that was not,
 * and no traffic ever leaves the namespaces. Everything is removed by {@link #close()}.
 */
final class PodNamespace implements AutoCloseable {
    static final String NODE_ADDR = "10.201.0.1";
    static final String POD_ADDR = "10.201.0.2";

    /** Where the pod "wants" to go: nothing answers there. */
    static final String FAR_ADDR = "10.123.0.5";

    final String id = Names.runId();
    final Netns node;
    final Netns pod;
    final Path cgroupRoot;
    final String podUid = UUID.randomUUID().toString();
    final Path podCgroup;
    final Path client;

    PodNamespace() throws IOException {
        Path cg2 = CgroupV2.require();
        cgroupRoot = cg2.resolve("msm-" + id);
        podCgroup =
                cgroupRoot.resolve(
                        "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
                                + podUid.replace('-', '_')
                                + ".slice");
        Netns n = null;
        Netns p = null;
        try {
            n = Netns.create(id + "n");
            p = Netns.create(id + "p");
            Veth.create(n, id + "h", NODE_ADDR + "/24", p, id + "c", POD_ADDR + "/24");
            p.ip("route", "add", "unreachable", "10.123.0.0/16");
            Files.createDirectories(podCgroup);
        } catch (RuntimeException | IOException e) {
            if (p != null) {
                p.close();
            }
            if (n != null) {
                n.close();
            }
            removeCgroups(cgroupRoot);
            throw e;
        }
        node = n;
        pod = p;
        client = Files.createTempFile("msm-pod-client", ".pl");
        try (InputStream in = PodNamespace.class.getResourceAsStream("/intercept/pod-client.pl")) {
            Files.write(client, in.readAllBytes());
        }
    }

    /**
     * The cgroup the kubelet (systemd driver) would make for a BestEffort pod with this UID;
     * created.
     */
    Path cgroupOf(String uid) throws IOException {
        Path d =
                cgroupRoot.resolve(
                        "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
                                + uid.replace('-', '_')
                                + ".slice");
        Files.createDirectories(d);
        return d;
    }

    InetAddress nodeAddr() throws IOException {
        return InetAddress.getByName(NODE_ADDR);
    }

    /**
     * Run the pod client in the pod namespace; inCgroup: as a process of the pod's cgroup (it moves
     * itself there before exec), else where the test runs. Returns its output.
     */
    String connect(boolean inCgroup, String host, int port, String url) {
        return connect(inCgroup ? podCgroup : null, host, port, url);
    }

    /**
     * Run the pod client as a process of cgroup (null: where the test runs), in the pod namespace.
     */
    String connect(Path cgroup, String host, int port, String url) {
        List<String> cmd =
                new ArrayList<>(
                        List.of("nsenter", "--net=/var/run/netns/" + pod.name(), "sh", "-c"));
        String run = "exec perl " + client + " " + host + " " + port + " " + url;
        cmd.add(
                cgroup != null
                        ? "echo $$ > " + cgroup.resolve("cgroup.procs") + " && " + run
                        : run);
        Sh.Result r = Sh.exec(20, cmd.toArray(String[]::new));
        return r.out() + r.err();
    }

    /** rmdir the cgroups, deepest first (they are empty once the clients exited). */
    static void removeCgroups(Path root) {
        if (!Files.isDirectory(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            // cgroupfs directories are removed with rmdir; their control files go with them
            for (Path d :
                    s.filter(Files::isDirectory)
                            .sorted(Comparator.comparingInt(Path::getNameCount).reversed())
                            .toList()) {
                Sh.exec("rmdir", d.toString());
            }
        } catch (IOException | UncheckedIOException e) {
            // best effort: report nothing, the next run uses another id
        }
    }

    @Override
    public void close() throws IOException {
        try {
            pod.close();
            node.close();
        } finally {
            removeCgroups(cgroupRoot);
            Files.deleteIfExists(client);
        }
    }
}
