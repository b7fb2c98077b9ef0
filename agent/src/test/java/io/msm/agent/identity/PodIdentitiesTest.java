package io.msm.agent.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodIP;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The directory's rules: who has an identity, who loses it, and that an address never inherits. */
class PodIdentitiesTest {
    final RecordingSink sink = new RecordingSink();
    final PodIdentities dir = new PodIdentities(sink, "cluster.local");

    static InetAddress ip(String s) throws Exception {
        return InetAddress.getByName(s);
    }

    static PodBuilder pod(String ns, String name, String sa, String phase, String... ips) {
        PodBuilder b =
                new PodBuilder()
                        .withNewMetadata()
                        .withNamespace(ns)
                        .withName(name)
                        .withUid(UUID.randomUUID().toString())
                        .withLabels(Map.of("app", name))
                        .endMetadata()
                        .withNewSpec()
                        .withServiceAccountName(sa)
                        .endSpec()
                        .withNewStatus()
                        .withPhase(phase)
                        .endStatus();
        if (ips.length > 0) {
            b.editStatus()
                    .withPodIP(ips[0])
                    .withPodIPs(Arrays.stream(ips).map(PodIP::new).toList())
                    .endStatus();
        }
        return b;
    }

    static Pod running(String ns, String name, String sa, String... ips) {
        return pod(ns, name, sa, "Running", ips).build();
    }

    @Test
    void aPodsAddressesCarryItsSpiffeIdInTheConfiguredTrustDomain() throws Exception {
        PodIdentities d = new PodIdentities(sink, "prod.example.org");
        d.upsert(running("video", "cam-1", "camera", "10.1.0.5", "fd00::5"));
        assertEquals("spiffe://prod.example.org/ns/video/sa/camera", sink.nameAt(ip("10.1.0.5")));
        assertEquals("spiffe://prod.example.org/ns/video/sa/camera", sink.nameAt(ip("fd00::5")));
        int id = d.identityOf(ip("10.1.0.5"));
        assertNotEquals(Identities.WORLD, id);
        assertEquals(id, d.identityOf(ip("fd00::5")), "IPv4 and IPv6 of one pod: one identity");
        assertEquals(Optional.of("spiffe://prod.example.org/ns/video/sa/camera"), d.nameOf(id));
        assertEquals(Identities.WORLD, d.identityOf(ip("10.9.9.9")));
    }

    @Test
    void theDefaultServiceAccountWhenNoneIsNamed() throws Exception {
        dir.upsert(running("video", "p", null, "10.1.0.6"));
        assertEquals("spiffe://cluster.local/ns/video/sa/default", sink.nameAt(ip("10.1.0.6")));
    }

    @Test
    void hostNetworkPodsConferNoIdentity() throws Exception {
        Pod p =
                pod("kube-system", "proxy", "kp", "Running", "192.0.2.10")
                        .editSpec()
                        .withHostNetwork(true)
                        .endSpec()
                        .build();
        dir.upsert(p);
        assertEquals(Identities.WORLD, dir.identityOf(ip("192.0.2.10")));
        assertTrue(sink.map.isEmpty());
    }

    @Test
    void finishedPendingWithoutAddressOrDeletedPodsHaveNone() throws Exception {
        dir.upsert(pod("video", "job", "batch", "Succeeded", "10.1.0.7").build());
        dir.upsert(pod("video", "bad", "batch", "Failed", "10.1.0.8").build());
        dir.upsert(pod("video", "new", "batch", "Pending").build());
        assertEquals(0, dir.size());

        Pod live = running("video", "cam", "camera", "10.1.0.9");
        dir.upsert(live);
        assertEquals(1, dir.size());
        Pod done = new PodBuilder(live).editStatus().withPhase("Succeeded").endStatus().build();
        dir.upsert(done);
        assertEquals(Identities.WORLD, dir.identityOf(ip("10.1.0.9")), "finished: address gone");

        Pod again = running("video", "cam2", "camera", "10.1.0.10");
        dir.upsert(again);
        Pod deleting =
                new PodBuilder(again)
                        .editMetadata()
                        .withDeletionTimestamp("2026-12-07T10:00:00Z")
                        .endMetadata()
                        .build();
        dir.upsert(deleting);
        assertEquals(
                Identities.WORLD, dir.identityOf(ip("10.1.0.10")), "being deleted: address gone");
        assertTrue(sink.map.isEmpty(), sink.map.toString());
    }

    @Test
    void anAddressTwoLivePodsClaimHasNoIdentityUntilOneLetsGo() throws Exception {
        Pod a = running("video", "a", "camera", "10.1.0.20");
        Pod b = running("lab", "b", "intruder", "10.1.0.20");
        dir.upsert(a);
        assertNotEquals(Identities.WORLD, dir.identityOf(ip("10.1.0.20")));
        dir.upsert(b);
        assertEquals(Identities.WORLD, dir.identityOf(ip("10.1.0.20")), "ambiguous");
        assertTrue(dir.peerOf(ip("10.1.0.20")).isEmpty());
        assertNull(sink.nameAt(ip("10.1.0.20")));
        dir.delete(a);
        assertEquals("spiffe://cluster.local/ns/lab/sa/intruder", sink.nameAt(ip("10.1.0.20")));
    }

    @Test
    void anAddressReusedByAnotherIdentityNeverCarriesTheOldOne() throws Exception {
        Pod old = running("video", "cam", "camera", "10.1.0.30");
        dir.upsert(old);
        int camera = dir.identityOf(ip("10.1.0.30"));
        // the pod ends; the CNI gives its address to a pod of another namespace and account. The
        // informer may even deliver the newcomer before the old pod's deletion.
        Pod next = running("lab", "rogue", "intruder", "10.1.0.30");
        dir.upsert(next);
        assertNotEquals(camera, dir.identityOf(ip("10.1.0.30")), "never the old identity");
        dir.delete(old);
        int now = dir.identityOf(ip("10.1.0.30"));
        assertNotEquals(camera, now);
        assertEquals(Optional.of("spiffe://cluster.local/ns/lab/sa/intruder"), dir.nameOf(now));
        // the sink saw the removal before the address was given away
        int removed = sink.calls.indexOf("remove 10.1.0.30");
        int given = sink.calls.indexOf("put 10.1.0.30 spiffe://cluster.local/ns/lab/sa/intruder");
        assertTrue(removed >= 0 && given > removed, sink.calls.toString());
        assertTrue(
                sink.calls.contains("forget spiffe://cluster.local/ns/video/sa/camera"),
                "the unused identity is given back: " + sink.calls);
    }

    @Test
    void anAddressReusedInOrderDeleteThenAddIsRemovedFirst() throws Exception {
        Pod old = running("video", "cam", "camera", "10.1.0.31");
        dir.upsert(old);
        dir.delete(old);
        dir.upsert(running("lab", "rogue", "intruder", "10.1.0.31"));
        assertEquals(
                List.of(
                        "put 10.1.0.31 spiffe://cluster.local/ns/video/sa/camera",
                        "remove 10.1.0.31",
                        "forget spiffe://cluster.local/ns/video/sa/camera",
                        "put 10.1.0.31 spiffe://cluster.local/ns/lab/sa/intruder"),
                sink.calls);
    }

    @Test
    void identitiesAreCountedByTheirAddressesAndNumbersAreNotReused() throws Exception {
        Pod a = running("video", "a", "camera", "10.1.0.40");
        Pod b = running("video", "b", "camera", "10.1.0.41");
        dir.upsert(a);
        dir.upsert(b);
        int id = dir.identityOf(ip("10.1.0.40"));
        assertEquals(id, dir.identityOf(ip("10.1.0.41")));
        assertEquals(1, dir.identities());
        dir.delete(a);
        assertEquals(Optional.of("spiffe://cluster.local/ns/video/sa/camera"), dir.nameOf(id));
        dir.delete(b);
        assertEquals(Optional.empty(), dir.nameOf(id), "the last address gone: forgotten");
        dir.upsert(running("video", "c", "camera", "10.1.0.42"));
        assertNotEquals(id, dir.identityOf(ip("10.1.0.42")), "a fresh number");
    }

    @Test
    void afterTheFirstFullListingOnlyKnownAddressesStay() throws Exception {
        // what a previous agent left in the pinned map
        sink.map.put(ip("10.1.0.99"), 7);
        dir.upsert(running("video", "a", "camera", "10.1.0.50"));
        assertEquals(2, sink.map.size());
        dir.synced();
        assertEquals(Set.of(ip("10.1.0.50")), sink.map.keySet());
        assertTrue(dir.isSynced());
        dir.synced();
        assertEquals(1, sink.calls.stream().filter(c -> c.startsWith("retainOnly")).count());
    }

    @Test
    void labelChangesAndPodsComingAndGoingAreAnnounced() throws Exception {
        AtomicInteger changes = new AtomicInteger();
        dir.onChange(changes::incrementAndGet);
        Pod a = running("video", "a", "camera", "10.1.0.60");
        dir.upsert(a);
        assertEquals(1, changes.get());
        dir.upsert(a); // a status update that changes nothing policies see
        assertEquals(1, changes.get());
        dir.upsert(
                new PodBuilder(a).editMetadata().addToLabels("tier", "gold").endMetadata().build());
        assertEquals(2, changes.get());
        assertEquals("gold", dir.peerOf(ip("10.1.0.60")).orElseThrow().labels().get("tier"));
        dir.delete(a);
        assertEquals(3, changes.get());
    }

    @Test
    void trustDomainsAreValidated() {
        assertNull(WorkloadIdentity.trustDomainProblem("cluster.local"));
        assertTrue(WorkloadIdentity.trustDomainProblem("").contains("empty"));
        assertTrue(WorkloadIdentity.trustDomainProblem("spiffe://x").contains("without spiffe://"));
        assertTrue(WorkloadIdentity.trustDomainProblem("Cluster.Local").contains("lowercase"));
        assertTrue(WorkloadIdentity.trustDomainProblem("a/b").contains("lowercase"));
    }
}
