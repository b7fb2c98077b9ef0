package io.msm.agent.identity;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodIP;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The directory of pod addresses → workload identities, fed by a pod informer over all namespaces
 * (a source may sit on another node) and written through to an {@link IdentitySink} (the kernel's
 * identity map).
 *
 * <p>Rules:
 *
 * <ul>
 *   <li>a pod's identity is its namespace and ServiceAccount ({@link WorkloadIdentity}); each
 *       distinct identity gets a number (never {@link Identities#WORLD}), counted by the addresses
 *       that carry it and given back ({@link IdentitySink#forget}) with the last;
 *   <li>host-network pods confer no identity (they share the node's address); a pod without an
 *       address, finished (Succeeded, Failed) or being deleted loses its addresses;
 *   <li>an address two live pods claim at once is ambiguous: no identity until one lets go;
 *   <li>an address changes hands only through removal: the sink is told {@code remove} before it is
 *       told {@code put} with the new identity, so an address never carries a departed pod's
 *       identity;
 *   <li>after the informer's first full listing, {@link IdentitySink#retainOnly} drops what a
 *       previous agent left in the sink.
 * </ul>
 *
 * Pod labels are kept for policy matching ({@link #peerOf}). Numbers are not reused while the agent
 * runs (a relay still holding an old number never admits a newcomer by it). Thread-safe; sink calls
 * are made under the lock, so they come one at a time.
 */
public final class PodIdentities implements IdentityLookup {
    private static final Logger log = LoggerFactory.getLogger(PodIdentities.class);

    /** What policies match on: a live pod at an address. */
    public record Peer(
            int identity,
            WorkloadIdentity workload,
            String spiffeId,
            String pod,
            Map<String, String> labels) {}

    /** A pod as the directory keeps it (null addresses: it confers no identity). */
    private record Entry(
            String key,
            String name,
            WorkloadIdentity workload,
            Map<String, String> labels,
            List<InetAddress> ips) {}

    private final Object lock = new Object();
    private final IdentitySink sink;
    private final String trustDomain;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();

    @GuardedBy("lock")
    private final Map<String, Entry> pods = new HashMap<>();

    /** address → keys of the live pods that claim it */
    @GuardedBy("lock")
    private final Map<InetAddress, Set<String>> claims = new HashMap<>();

    /** address → the identity the sink holds for it now */
    @GuardedBy("lock")
    private final Map<InetAddress, Integer> published = new HashMap<>();

    @GuardedBy("lock")
    private final Map<WorkloadIdentity, Integer> numbers = new HashMap<>();

    @GuardedBy("lock")
    private final Map<Integer, WorkloadIdentity> byNumber = new HashMap<>();

    @GuardedBy("lock")
    private final Map<Integer, Integer> refs = new HashMap<>();

    @GuardedBy("lock")
    private int next = 1;

    @GuardedBy("lock")
    private boolean synced;

    public PodIdentities(IdentitySink sink, String trustDomain) {
        this.sink = sink;
        this.trustDomain = trustDomain;
    }

    public String trustDomain() {
        return trustDomain;
    }

    /** {@code l} runs after an address changed identity or a pod's labels changed. */
    public void onChange(Runnable l) {
        listeners.add(l);
    }

    /** A pod appeared or changed (informer add/update). */
    public void upsert(Pod p) {
        boolean changed;
        synchronized (lock) {
            String key = key(p);
            Entry before = pods.get(key);
            Entry after = entry(p);
            if (after == null) {
                pods.remove(key);
            } else {
                pods.put(key, after);
            }
            changed = apply(key, before, after);
        }
        if (changed) {
            fire();
        }
    }

    /** A pod is gone (informer delete). */
    public void delete(Pod p) {
        boolean changed;
        synchronized (lock) {
            String key = key(p);
            Entry before = pods.remove(key);
            changed = apply(key, before, null);
        }
        if (changed) {
            fire();
        }
    }

    /**
     * The informer's first full listing is in: every other address the sink holds loses its
     * identity.
     */
    public void synced() {
        synchronized (lock) {
            if (synced) {
                return;
            }
            synced = true;
            sink.retainOnly(Set.copyOf(published.keySet()));
            log.info(
                    "identities: {} pod address(es) with {} workload identities (trust domain {})",
                    published.size(),
                    numbers.size(),
                    trustDomain);
        }
        fire();
    }

    public boolean isSynced() {
        synchronized (lock) {
            return synced;
        }
    }

    @Override
    public int identityOf(InetAddress addr) {
        synchronized (lock) {
            Integer id = published.get(addr);
            return id == null ? Identities.WORLD : id;
        }
    }

    @Override
    public Optional<String> nameOf(int identity) {
        synchronized (lock) {
            WorkloadIdentity w = byNumber.get(identity);
            return w == null ? Optional.empty() : Optional.of(w.spiffeId(trustDomain));
        }
    }

    /** The live pod at {@code addr} (empty: outside the cluster, host network, or ambiguous). */
    public Optional<Peer> peerOf(InetAddress addr) {
        synchronized (lock) {
            Integer id = published.get(addr);
            Set<String> c = claims.get(addr);
            if (id == null || c == null || c.size() != 1) {
                return Optional.empty();
            }
            Entry e = pods.get(c.iterator().next());
            return Optional.of(
                    new Peer(
                            id,
                            e.workload(),
                            e.workload().spiffeId(trustDomain),
                            e.name(),
                            e.labels()));
        }
    }

    /** Addresses with an identity now (tests, status). */
    public int size() {
        synchronized (lock) {
            return published.size();
        }
    }

    /** Distinct identities in use now. */
    public int identities() {
        synchronized (lock) {
            return numbers.size();
        }
    }

    private void fire() {
        for (Runnable l : listeners) {
            try {
                l.run();
            } catch (RuntimeException e) {
                log.warn("identities: a listener failed: {}", e.toString(), e);
            }
        }
    }

    // ---- the rules

    private static String key(Pod p) {
        String uid = p.getMetadata().getUid();
        return uid != null && !uid.isEmpty()
                ? uid
                : p.getMetadata().getNamespace() + "/" + p.getMetadata().getName();
    }

    /** The pod as the directory keeps it, or null when it confers no identity at all. */
    static Entry entry(Pod p) {
        if (p.getMetadata() == null || p.getMetadata().getNamespace() == null) {
            return null;
        }
        if (p.getMetadata().getDeletionTimestamp() != null) {
            return null; // being deleted: its address may be given to another pod any moment
        }
        if (p.getSpec() != null && Boolean.TRUE.equals(p.getSpec().getHostNetwork())) {
            return null; // the node's address: not this pod's to name
        }
        if (p.getStatus() == null) {
            return null;
        }
        String phase = p.getStatus().getPhase();
        if ("Succeeded".equals(phase) || "Failed".equals(phase)) {
            return null;
        }
        Set<InetAddress> ips = new LinkedHashSet<>();
        if (p.getStatus().getPodIPs() != null) {
            for (PodIP ip : p.getStatus().getPodIPs()) {
                literal(ip.getIp()).ifPresent(ips::add);
            }
        }
        literal(p.getStatus().getPodIP()).ifPresent(ips::add);
        if (ips.isEmpty()) {
            return null;
        }
        String sa = p.getSpec() == null ? null : p.getSpec().getServiceAccountName();
        if (sa == null || sa.isEmpty()) {
            sa = p.getSpec() == null ? null : p.getSpec().getServiceAccount();
        }
        if (sa == null || sa.isEmpty()) {
            sa = "default"; // what the API server assigns
        }
        Map<String, String> labels =
                p.getMetadata().getLabels() == null
                        ? Map.of()
                        : Map.copyOf(p.getMetadata().getLabels());
        return new Entry(
                key(p),
                p.getMetadata().getNamespace() + "/" + p.getMetadata().getName(),
                new WorkloadIdentity(p.getMetadata().getNamespace(), sa),
                labels,
                List.copyOf(ips));
    }

    /** An IP literal (never a name lookup), or empty. */
    static Optional<InetAddress> literal(String s) {
        if (s == null || s.isEmpty() || !(s.indexOf(':') >= 0 || s.matches("[0-9.]+"))) {
            return Optional.empty();
        }
        try {
            return Optional.of(InetAddress.getByName(s));
        } catch (UnknownHostException e) {
            return Optional.empty();
        }
    }

    /** Claims and the sink follow the pod's change; true when anything policies see changed. */
    @GuardedBy("lock")
    private boolean apply(String key, Entry before, Entry after) {
        Set<InetAddress> touched = new LinkedHashSet<>();
        if (before != null) {
            for (InetAddress a : before.ips()) {
                Set<String> c = claims.get(a);
                if (c != null) {
                    c.remove(key);
                    if (c.isEmpty()) {
                        claims.remove(a);
                    }
                }
                touched.add(a);
            }
        }
        if (after != null) {
            for (InetAddress a : after.ips()) {
                claims.computeIfAbsent(a, x -> new HashSet<>()).add(key);
                touched.add(a);
            }
        }
        // a pod came or went, or its labels changed: policies that match labels may decide anew
        boolean changed =
                (before == null) != (after == null)
                        || (before != null && !before.labels().equals(after.labels()));
        for (InetAddress a : touched) {
            changed |= resolve(a);
        }
        return changed;
    }

    /** The identity {@code a} should have now, written to the sink when it differs. */
    @GuardedBy("lock")
    private boolean resolve(InetAddress a) {
        Set<String> c = claims.get(a);
        WorkloadIdentity want = null;
        if (c != null && c.size() == 1) {
            want = pods.get(c.iterator().next()).workload();
        }
        Integer have = published.get(a);
        WorkloadIdentity had = have == null ? null : byNumber.get(have);
        if (want == null ? have == null : want.equals(had)) {
            return false; // nothing changes for this address
        }
        if (have != null) {
            if (want == null && c != null && c.size() > 1) {
                log.warn(
                        "identities: {} is claimed by {} live pods: no identity until one lets go",
                        a.getHostAddress(),
                        c.size());
            }
            // removal before reuse: the address never carries the old identity into the new hands
            published.remove(a);
            sink.remove(a);
            release(have);
        }
        if (want != null) {
            int id = acquire(want);
            published.put(a, id);
            sink.put(a, id);
        }
        return true;
    }

    @GuardedBy("lock")
    private int acquire(WorkloadIdentity w) {
        Integer id = numbers.get(w);
        if (id == null) {
            id = next++;
            numbers.put(w, id);
            byNumber.put(id, w);
            sink.name(id, w.spiffeId(trustDomain));
        }
        refs.merge(id, 1, Integer::sum);
        return id;
    }

    @GuardedBy("lock")
    private void release(int id) {
        int n = refs.merge(id, -1, Integer::sum);
        if (n <= 0) {
            refs.remove(id);
            WorkloadIdentity w = byNumber.remove(id);
            if (w != null) {
                numbers.remove(w);
            }
            sink.forget(id);
        }
    }

    /** Every address with its identity's SPIFFE ID (for /identities and tests). */
    public Map<InetAddress, String> snapshot() {
        synchronized (lock) {
            Map<InetAddress, String> out = new HashMap<>();
            for (Map.Entry<InetAddress, Integer> e : published.entrySet()) {
                out.put(e.getKey(), byNumber.get(e.getValue()).spiffeId(trustDomain));
            }
            return out;
        }
    }
}
