package io.msm.agent.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.PodBuilder;
import io.msm.agent.identity.PathAccess.Action;
import io.msm.agent.identity.PathAccess.Verdict;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Which policy decides a path, and the verdict for pods, outsiders and invalid policies. */
class StreamPoliciesTest {
    final PodIdentities pods = new PodIdentities(IdentitySink.NONE, "cluster.local");
    final StreamPolicies policies = new StreamPolicies(pods);
    static InetAddress camera;
    static InetAddress intruder;
    static InetAddress viewer;
    static InetAddress outsider;

    @BeforeEach
    void setUp() throws Exception {
        camera = InetAddress.getByName("10.1.0.2");
        intruder = InetAddress.getByName("10.1.0.3");
        viewer = InetAddress.getByName("10.1.0.4");
        outsider = InetAddress.getByName("203.0.113.9");
        pods.upsert(PodIdentitiesTest.running("video", "cam", "camera", "10.1.0.2"));
        pods.upsert(PodIdentitiesTest.running("video", "evil", "intruder", "10.1.0.3"));
        pods.upsert(
                new PodBuilder(PodIdentitiesTest.running("lab", "vlc", "player", "10.1.0.4"))
                        .editMetadata()
                        .addToLabels("role", "viewer")
                        .endMetadata()
                        .build());
    }

    static AccessPolicy.Peer sa(String ns, String sa) {
        return new AccessPolicy.Peer(ns, sa, Map.of());
    }

    @Test
    void publishersAndViewersByServiceAccountNamespaceAndLabels() {
        policies.update(
                List.of(
                        new AccessPolicy(
                                "video/cams",
                                false,
                                "cams",
                                List.of(sa("video", "camera")),
                                List.of(new AccessPolicy.Peer("*", null, Map.of("role", "viewer"))),
                                null)));
        assertEquals(
                Verdict.ALLOWED, policies.check("cams/front", Action.PUBLISH, camera).verdict());
        PathAccess.Decision no = policies.check("cams/front", Action.PUBLISH, intruder);
        assertEquals(Verdict.DENIED, no.verdict());
        assertTrue(no.why().contains("spiffe://cluster.local/ns/video/sa/intruder"), no.why());
        assertEquals(Verdict.DENIED, policies.check("cams", Action.WATCH, camera).verdict());
        assertEquals(Verdict.ALLOWED, policies.check("cams", Action.WATCH, viewer).verdict());
        assertEquals(Verdict.OUTSIDE, policies.check("cams", Action.WATCH, outsider).verdict());
        assertEquals(Verdict.NOT_COVERED, policies.check("camsx", Action.WATCH, viewer).verdict());
        assertEquals(
                Verdict.NOT_COVERED, policies.check("lobby", Action.PUBLISH, intruder).verdict());
        assertTrue(policies.covers("cams/front"));
        assertFalse(policies.covers("lobby"));
    }

    @Test
    void anActionThePolicyDoesNotRestrictIsNotCovered() {
        policies.update(List.of(new AccessPolicy("video/w", true, "cam", null, List.of(), null)));
        assertEquals(
                Verdict.NOT_COVERED, policies.check("cam", Action.PUBLISH, intruder).verdict());
        assertEquals(Verdict.DENIED, policies.check("cam", Action.WATCH, viewer).verdict());
    }

    @Test
    void theMostSpecificMatchDecidesAndEqualOnesAddUp() {
        policies.update(
                List.of(
                        new AccessPolicy(
                                "a/all", false, "", List.of(sa("*", "intruder")), null, null),
                        new AccessPolicy(
                                "a/cams",
                                false,
                                "cams",
                                List.of(sa("video", "camera")),
                                null,
                                null),
                        new AccessPolicy(
                                "b/cams", false, "cams", List.of(sa("lab", "player")), null, null),
                        new AccessPolicy("a/front", true, "cams/front", List.of(), null, null)));
        assertEquals(Verdict.ALLOWED, policies.check("other", Action.PUBLISH, intruder).verdict());
        assertEquals(Verdict.DENIED, policies.check("cams/x", Action.PUBLISH, intruder).verdict());
        assertEquals(Verdict.ALLOWED, policies.check("cams/x", Action.PUBLISH, camera).verdict());
        assertEquals(Verdict.ALLOWED, policies.check("cams/x", Action.PUBLISH, viewer).verdict());
        assertEquals(
                Verdict.DENIED,
                policies.check("cams/front", Action.PUBLISH, camera).verdict(),
                "the exact policy admits nobody");
    }

    @Test
    void anInvalidPolicyAdmitsNoPodNeverEveryone() {
        policies.update(
                List.of(
                        new AccessPolicy(
                                "video/bad",
                                false,
                                "cams",
                                List.of(sa("video", "camera")),
                                null,
                                "spec.watch[0].namespace must be a namespace name")));
        assertEquals(Verdict.DENIED, policies.check("cams", Action.PUBLISH, camera).verdict());
        assertEquals(Verdict.DENIED, policies.check("cams", Action.WATCH, viewer).verdict());
        assertEquals(
                Verdict.OUTSIDE,
                policies.check("cams", Action.WATCH, outsider).verdict(),
                "outside the cluster: passwords decide as before");
    }

    @Test
    void policyAndIdentityChangesAreAnnounced() throws Exception {
        AtomicInteger n = new AtomicInteger();
        policies.onChange(n::incrementAndGet);
        List<AccessPolicy> p = List.of(new AccessPolicy("v/p", true, "cam", List.of(), null, null));
        policies.update(p);
        assertEquals(1, n.get());
        policies.update(p);
        assertEquals(1, n.get(), "the same policies: nothing to announce");
        pods.upsert(PodIdentitiesTest.running("x", "y", "z", "10.1.0.77"));
        assertEquals(2, n.get());
    }

    @Test
    void spiffeIdSetsMatchExactIdsAndWholeNamespaces() {
        SpiffeIdSet s =
                SpiffeIdSet.of(
                        List.of(
                                "spiffe://cluster.local/ns/pbx/sa/asterisk",
                                "spiffe://cluster.local/ns/voice/sa/*"));
        assertTrue(s.contains("spiffe://cluster.local/ns/pbx/sa/asterisk"));
        assertFalse(s.contains("spiffe://cluster.local/ns/pbx/sa/other"));
        assertTrue(s.contains("spiffe://cluster.local/ns/voice/sa/anything"));
        assertFalse(s.contains("spiffe://cluster.local/ns/voiceover/sa/x"));
        assertFalse(s.contains("spiffe://other.domain/ns/voice/sa/x"));
        assertTrue(SpiffeIdSet.problem("spiffe://cluster.local/ns/*/sa/*") != null);
        assertTrue(SpiffeIdSet.problem("cluster.local/ns/a/sa/b") != null);
    }
}
