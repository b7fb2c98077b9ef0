package io.msm.agent.intercept;

import io.msm.bpf.BpfException;
import io.msm.bpf.intercept.ConnectRedirect;
import io.msm.bpf.intercept.InterceptStats;
import io.msm.bpf.intercept.InterceptTarget;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Transparent interception of pods on this node: the pods it is told to intercept get msm's
 * cgroup/connect4 program on their cgroup, so that their TCP connects to the configured control
 * ports (RTSP 554/8554) reach the node's proxy whatever address they dial; every other pod's links
 * are removed. Fed by the Kubernetes watcher (pod events), but knows nothing of Kubernetes beyond a
 * pod's UID and QoS class.
 *
 * <p>A pod whose cgroup does not exist yet (still being created) is kept as pending and tried again
 * on the next {@link #reconcile}.
 */
public final class Interception implements PodInterceptor, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Interception.class);

    private final ConnectRedirect redirect;
    private final PodCgroups cgroups;
    private final List<Integer> ports;
    private final int proxyPort;
    private Inet4Address proxyAddress;
    private final Map<String, PodRef> pending = new TreeMap<>();

    private Interception(
            ConnectRedirect redirect, PodCgroups cgroups, List<Integer> ports, int proxyPort) {
        this.redirect = redirect;
        this.cgroups = cgroups;
        this.ports = List.copyOf(ports);
        this.proxyPort = proxyPort;
    }

    /**
     * Load (or adopt) the interception programs pinned under pinDir. Ports are listed at once; they
     * redirect only once {@link #proxyAddress} is known.
     */
    public static Interception start(
            Path pinDir,
            Path cgroupRoot,
            List<Integer> ports,
            InetSocketAddress proxy,
            int proxyPort) {
        ConnectRedirect r = ConnectRedirect.start(pinDir);
        Interception i = new Interception(r, new PodCgroups(cgroupRoot), ports, proxyPort);
        try {
            i.proxyAddress =
                    proxy != null && proxy.getAddress() instanceof Inet4Address v4 ? v4 : null;
            i.writePorts();
        } catch (RuntimeException e) {
            r.close();
            throw e;
        }
        return i;
    }

    /** The node address pods reach the proxy at (a pod's status.hostIP), if not configured. */
    @Override
    public synchronized void proxyAddress(Inet4Address address) {
        if (!address.equals(proxyAddress)) {
            proxyAddress = address;
            writePorts();
            log.info(
                    "interception: connects to TCP ports {} from opted-in pods go to {}:{}",
                    ports,
                    address.getHostAddress(),
                    proxyPort);
        }
    }

    public synchronized Optional<InetSocketAddress> proxy() {
        return Optional.ofNullable(proxyAddress).map(a -> new InetSocketAddress(a, proxyPort));
    }

    private void writePorts() {
        Map<Integer, InterceptTarget> want = new LinkedHashMap<>();
        for (int p : ports) {
            want.put(
                    p,
                    new InterceptTarget(proxyAddress, proxyPort)); // null address: listed, passes
        }
        redirect.setPorts(want);
    }

    /**
     * Make the attached set exactly {@code pods}: attach the new ones, detach pods no longer wanted
     * (deleted, opted out, moved away).
     *
     * @return UIDs attached now (including ones attached before)
     */
    @Override
    public synchronized Set<String> reconcile(Collection<PodRef> pods) {
        Map<String, PodRef> want = new TreeMap<>();
        for (PodRef p : pods) {
            want.put(p.uid(), p);
        }
        for (String uid : redirect.attached().keySet()) {
            if (!want.containsKey(uid)) {
                redirect.detach(uid);
                log.info("interception: detached from pod uid {}", uid);
            }
        }
        pending.keySet().retainAll(want.keySet());
        for (PodRef p : want.values()) {
            attach(p);
        }
        return attached();
    }

    private void attach(PodRef p) {
        Optional<Path> dir = cgroups.find(p.uid(), p.qosClass());
        if (dir.isEmpty()) {
            if (pending.put(p.uid(), p) == null) {
                log.info(
                        "interception: no cgroup yet for pod {} under {}; will retry",
                        p,
                        cgroups.root());
            }
            return;
        }
        try {
            if (redirect.attach(p.uid(), dir.get())) {
                log.info("interception: attached to pod {} at {}", p, dir.get());
            }
            pending.remove(p.uid());
        } catch (BpfException e) {
            if (e.isNotFound()) {
                pending.put(
                        p.uid(),
                        p); // the cgroup went away under us: the pod is ending or restarting
                return;
            }
            throw e;
        }
    }

    /** Pods wanted but whose cgroup was not found yet. */
    @Override
    public synchronized Set<String> pending() {
        return new TreeSet<>(pending.keySet());
    }

    public synchronized Set<String> attached() {
        Set<String> out = new TreeSet<>();
        redirect.attached()
                .forEach(
                        (uid, cg) -> {
                            if (cg != 0) {
                                out.add(uid);
                            }
                        });
        return out;
    }

    public InterceptStats stats() {
        return redirect.stats();
    }

    public Map<Integer, InterceptTarget> ports() {
        return redirect.ports();
    }

    /** Detach every pod and remove the pins ('msm-agent cleanup'). */
    public static List<String> cleanup(Path pinDir) {
        return ConnectRedirect.cleanup(pinDir);
    }

    @Override
    public void close() {
        redirect.close(); // links stay pinned: pods stay intercepted while the agent restarts
    }
}
