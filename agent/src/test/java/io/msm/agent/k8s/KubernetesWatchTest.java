package io.msm.agent.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.msm.agent.config.ConfigLoader;
import io.msm.agent.config.KubernetesSettings;
import io.msm.agent.intercept.PodInterceptor;
import io.msm.agent.intercept.PodRef;
import io.msm.agent.k8s.crd.StreamRoute;
import io.msm.agent.k8s.crd.StreamRouteStatus;
import io.msm.agent.k8s.route.RouteTable;
import io.msm.agent.routing.Backend;
import io.msm.agent.routing.Failure;
import io.msm.agent.routing.StreamRoutes;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The agent's Kubernetes side against fabric8's CRUD mock API server: pods, Services,
 * EndpointSlices and StreamRoutes created through the API program the routing table; weights spread
 * new sessions; deleted endpoints and failing DESCRIBE probes (tiny RTSP origins on loopback) take
 * backends out and recovered ones come back; status conditions are written with observedGeneration
 * by the elected agent only; only this node's pods are watched and handed to interception.
 */
class KubernetesWatchTest {
    static final long WAIT_MS = 15_000;

    NodeAwareMock mock;
    Cluster k;
    final List<AutoCloseable> closing = new ArrayList<>();

    @BeforeEach
    void setUp() {
        mock = new NodeAwareMock();
        k = new Cluster(mock.client);
        k.namespace("media", Map.of());
        k.namespace("studio", Map.of());
    }

    @AfterEach
    void tearDown() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
        mock.close();
    }

    static KubernetesSettings settings(String extra) {
        return ConfigLoader.parseYaml(
                        "kubernetes: {enabled: true, probe-interval: 200ms, describe-timeout: 1s, "
                                + "rtp-timeout: 1s"
                                + extra
                                + "}",
                        ConfigLoader.Overrides.NONE)
                .kubernetes();
    }

    KubernetesWatch watch(
            String node,
            String extraSettings,
            PodInterceptor icpt,
            Supplier<Collection<RouteTable.RtpFlow>> flows) {
        KubernetesWatch w =
                new KubernetesWatch(
                        mock.client, settings(extraSettings), node, icpt, flows, new Random(42));
        closing.add(w);
        w.start();
        await("the informers sync", w::ready);
        return w;
    }

    KubernetesWatch watch() {
        return watch("node-a", ", status: always", null, List::of);
    }

    TinyRtspServer origin(String addr) throws Exception {
        TinyRtspServer s = new TinyRtspServer(addr);
        closing.add(s);
        return s;
    }

    static void await(String what, BooleanSupplier cond) {
        long end = System.nanoTime() + WAIT_MS * 1_000_000;
        while (System.nanoTime() < end) {
            if (cond.getAsBoolean()) {
                return;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what);
            }
        }
        throw new AssertionError("timed out after " + WAIT_MS + " ms waiting for: " + what);
    }

    /** How many of n new sessions go to each backend endpoint. */
    static Map<String, Integer> spread(StreamRoutes t, String host, String path, int n) {
        Map<String, Integer> out = new HashMap<>();
        for (int i = 0; i < n; i++) {
            Optional<Backend> b = t.choose(host, path);
            out.merge(b.map(Backend::endpoint).orElse("none"), 1, Integer::sum);
        }
        return out;
    }

    static Condition condition(StreamRoute sr, String type) {
        if (sr == null || sr.getStatus() == null || sr.getStatus().conditions == null) {
            return null;
        }
        return sr.getStatus().conditions.stream()
                .filter(c -> type.equals(c.getType()))
                .findFirst()
                .orElse(null);
    }

    static boolean condIs(StreamRoute sr, String type, String status, String reason) {
        Condition c = condition(sr, type);
        return c != null
                && status.equals(c.getStatus())
                && (reason == null || reason.equals(c.getReason()));
    }

    // ------------------------------------------------------------------------------------------

    @Test
    void servicesEndpointSlicesAndRoutesProgramTheTable() throws Exception {
        TinyRtspServer a = origin("127.0.0.2");
        // a second endpoint of the same Service: same port (an EndpointSlice has one port list for
        // all endpoints)
        TinyRtspServer a2 = new TinyRtspServer("127.0.0.3", a.port());
        closing.add(a2);
        TinyRtspServer b2 = origin("127.0.0.4");
        KubernetesWatch w = watch();
        StreamRoutes t = w.routes();
        assertTrue(t.choose("live.example.com", "/show/cam1").isEmpty(), "no route yet");

        k.service("studio", "origin", 554);
        k.slice("studio", "origin", "origin-abc", a.port(), List.of("127.0.0.2"));
        k.route(
                "media",
                "live",
                "live.example.com",
                "PathPrefix",
                "/show",
                List.of(Cluster.service("studio", "origin", 554, 1)));
        await(
                "the route is programmed",
                () -> t.choose("live.example.com", "/show/cam1").isPresent());

        Backend got = t.choose("LIVE.example.com:554", "/show/cam1").orElseThrow();
        assertEquals("media/live", got.route());
        assertEquals("studio/origin:554", got.name());
        assertEquals(
                URI.create("rtsp://127.0.0.2:" + a.port() + "/show/cam1"),
                got.upstream(),
                "a Service backend serves the requested path from an endpoint of its EndpointSlice");
        assertTrue(
                t.choose("other.example.com", "/show/cam1").isEmpty(),
                "another host does not match");
        assertTrue(
                t.choose("live.example.com", "/showtime").isEmpty(),
                "PathPrefix matches whole segments");
        assertTrue(t.choose("live.example.com", "/show").isPresent(), "the prefix itself matches");

        // a more specific route wins: the longest path
        k.route(
                "media",
                "special",
                "live.example.com",
                "Exact",
                "/show/special",
                List.of(Cluster.url(b2.url("/cams/special"), 1)));
        await(
                "the exact route takes its path",
                () ->
                        t.choose("live.example.com", "/show/special")
                                .map(x -> x.route().equals("media/special"))
                                .orElse(false));
        assertEquals(
                URI.create(b2.url("/cams/special")),
                t.choose("live.example.com", "/show/special").orElseThrow().upstream(),
                "a url backend with a path of its own is pulled as given");
        assertEquals(
                "media/live",
                t.choose("live.example.com", "/show/other").orElseThrow().route(),
                "other paths stay with the prefix route");
        // a wildcard host route, less specific than the exact host
        k.route(
                "media",
                "any-live",
                "*.example.com",
                "PathPrefix",
                "/",
                List.of(Cluster.url(b2.url("/all"), 1)));
        await(
                "the wildcard route is programmed",
                () -> t.choose("cam.example.com", "/x").isPresent());
        assertEquals(
                URI.create(b2.url("/all/x")),
                t.choose("cam.example.com", "/x").orElseThrow().upstream(),
                "PathPrefix on a url with a path: the rest of the request path is kept");
        assertTrue(
                t.choose("a.b.example.com", "/x").isEmpty(), "'*.' stands for exactly one label");
        assertEquals(
                "media/live",
                t.choose("live.example.com", "/show/1").orElseThrow().route(),
                "an exact host beats a wildcard");

        // a second endpoint joins: sessions are spread over both
        k.slice("studio", "origin", "origin-abc", a.port(), List.of("127.0.0.2", "127.0.0.3"));
        await(
                "both endpoints get sessions",
                () -> spread(t, "live.example.com", "/show/x", 200).size() == 2);
    }

    @Test
    void weightsShiftNewSessions() throws Exception {
        TinyRtspServer stable = origin("127.0.0.2");
        TinyRtspServer canary = origin("127.0.0.3");
        KubernetesWatch w = watch();
        StreamRoutes t = w.routes();
        k.route(
                "media",
                "canary",
                null,
                "Exact",
                "/stream",
                List.of(
                        Cluster.url(stable.url("/stream"), 90),
                        Cluster.url(canary.url("/stream"), 10)));
        await("the route is programmed", () -> t.choose("any", "/stream").isPresent());
        String s = "127.0.0.2:" + stable.port();
        String c = "127.0.0.3:" + canary.port();
        int n = 4000;
        Map<String, Integer> before = spread(t, "any", "/stream", n);
        // binomial: mean 3600, sd 19 — 5 sd either side
        assertTrue(Math.abs(before.getOrDefault(s, 0) - 3600) < 95, "90/10 split: " + before);
        assertEquals(n, before.get(s) + before.get(c), "every session got a backend: " + before);

        Backend existing = t.choose("any", "/stream").orElseThrow();
        k.edit(
                "media",
                "canary",
                spec -> {
                    spec.backends.get(0).weight = 10;
                    spec.backends.get(1).weight = 90;
                });
        await("the weights flip", () -> spread(t, "any", "/stream", 200).getOrDefault(c, 0) > 150);
        Map<String, Integer> after = spread(t, "any", "/stream", n);
        assertTrue(Math.abs(after.getOrDefault(c, 0) - 3600) < 95, "10/90 split: " + after);
        assertNotNull(
                existing.upstream(),
                "a session keeps the backend it was given (the table hands out URLs, "
                        + "it does not move sessions)");

        k.edit("media", "canary", spec -> spec.backends.get(1).weight = 0);
        await(
                "weight 0 drains the canary",
                () -> spread(t, "any", "/stream", 300).getOrDefault(c, 0) == 0);
    }

    @Test
    void deletingEndpointsOrABackendFailsOver() throws Exception {
        TinyRtspServer primary = origin("127.0.0.2");
        TinyRtspServer spare = origin("127.0.0.3");
        KubernetesWatch w = watch();
        StreamRoutes t = w.routes();
        k.service("studio", "primary", 554);
        k.service("studio", "spare", 554);
        k.slice("studio", "primary", "primary-1", primary.port(), List.of("127.0.0.2"));
        k.slice("studio", "spare", "spare-1", spare.port(), List.of("127.0.0.3"));
        k.route(
                "media",
                "fo",
                null,
                "PathPrefix",
                "/",
                List.of(
                        Cluster.service("studio", "primary", 554, 1000),
                        Cluster.service("studio", "spare", 554, 1)));
        String p = "127.0.0.2:" + primary.port();
        String s = "127.0.0.3:" + spare.port();
        await(
                "the primary takes the sessions",
                () -> spread(t, null, "/a", 100).getOrDefault(p, 0) > 90);

        mock.client
                .discovery()
                .v1()
                .endpointSlices()
                .inNamespace("studio")
                .withName("primary-1")
                .delete();
        await(
                "with its endpoints gone, every session goes to the spare",
                () -> spread(t, null, "/a", 200).getOrDefault(s, 0) == 200);
        await(
                "status says why",
                () -> {
                    StreamRoute sr = k.get("media", "fo");
                    return sr.getStatus() != null
                            && sr.getStatus()
                                    .backends
                                    .contains(
                                            new StreamRouteStatus.BackendStatus(
                                                    "studio/primary:554", false, "NoEndpoints"));
                });

        k.slice("studio", "primary", "primary-1", primary.port(), List.of("127.0.0.2"));
        await(
                "endpoints back: the primary again",
                () -> spread(t, null, "/a", 100).getOrDefault(p, 0) > 90);

        // the backend is removed from the route
        k.edit("media", "fo", spec -> spec.backends.remove(0));
        await(
                "the removed backend gets nothing",
                () -> spread(t, null, "/a", 200).getOrDefault(s, 0) == 200);
        mock.client.services().inNamespace("studio").withName("spare").delete();
        await("a deleted Service: no backend, no session", () -> t.choose(null, "/a").isEmpty());
        await(
                "ServiceNotFound in status",
                () -> {
                    StreamRoute sr = k.get("media", "fo");
                    return condIs(sr, "Ready", "False", "NoBackendReady")
                            && sr.getStatus()
                                    .backends
                                    .contains(
                                            new StreamRouteStatus.BackendStatus(
                                                    "studio/spare:554", false, "ServiceNotFound"));
                });
    }

    @Test
    void aFailingDescribeTakesABackendOutUntilItRecovers() throws Exception {
        TinyRtspServer good = origin("127.0.0.2");
        TinyRtspServer flaky = origin("127.0.0.3");
        KubernetesWatch w = watch();
        StreamRoutes t = w.routes();
        k.route(
                "media",
                "pair",
                "cams.example.com",
                "Exact",
                "/cam",
                List.of(Cluster.url(good.url("/cam"), 1), Cluster.url(flaky.url("/cam"), 1)));
        String f = "127.0.0.3:" + flaky.port();
        await("both serve", () -> spread(t, "cams.example.com", "/cam", 100).size() == 2);
        await(
                "both probed ready",
                () -> condIs(k.get("media", "pair"), "BackendsReady", "True", "AllBackendsReady"));

        flaky.describeStatus = 500;
        await(
                "a DESCRIBE answered 500 takes it out",
                () -> spread(t, "cams.example.com", "/cam", 100).getOrDefault(f, 0) == 0);
        assertTrue(flaky.describes.get() > 0, "the probe asked DESCRIBE");
        await(
                "status names the reason",
                () -> {
                    StreamRoute sr = k.get("media", "pair");
                    return condIs(sr, "BackendsReady", "False", "SomeBackendsNotReady")
                            && condIs(sr, "Ready", "True", null)
                            && sr.getStatus()
                                    .backends
                                    .contains(
                                            new StreamRouteStatus.BackendStatus(
                                                    flaky.url("/cam"), false, "DescribeFailed"));
                });

        flaky.describeStatus = 200;
        await(
                "recovered: it gets sessions again",
                () -> spread(t, "cams.example.com", "/cam", 100).getOrDefault(f, 0) > 0);
        await(
                "and is ready in status",
                () -> condIs(k.get("media", "pair"), "BackendsReady", "True", null));

        flaky.stop();
        await(
                "a refused connection takes it out",
                () -> spread(t, "cams.example.com", "/cam", 100).getOrDefault(f, 0) == 0);
        await(
                "ConnectFailed in status",
                () ->
                        k.get("media", "pair")
                                .getStatus()
                                .backends
                                .contains(
                                        new StreamRouteStatus.BackendStatus(
                                                flaky.url("/cam"), false, "ConnectFailed")));
        flaky.start();
        await(
                "listening again: back",
                () -> spread(t, "cams.example.com", "/cam", 100).getOrDefault(f, 0) > 0);

        // the proxy reports a failure: out at once, back after the next good probe
        Backend b = t.choose("cams.example.com", "/cam").orElseThrow();
        while (!b.endpoint().equals(f)) {
            b = t.choose("cams.example.com", "/cam").orElseThrow();
        }
        t.report(b, Failure.of(Failure.Kind.RTP_STOPPED, "no RTP for 5 s"));
        assertEquals(
                0,
                spread(t, "cams.example.com", "/cam", 100).getOrDefault(f, 0),
                "reported: out at once");
        await(
                "a good probe brings it back",
                () -> spread(t, "cams.example.com", "/cam", 100).getOrDefault(f, 0) > 0);
    }

    @Test
    void stoppedRtpFromTheFlowTableTakesABackendOut() throws Exception {
        TinyRtspServer a = origin("127.0.0.2");
        TinyRtspServer b = origin("127.0.0.3");
        InetAddress aAddr = InetAddress.getByName("127.0.0.2");
        InetAddress bAddr = InetAddress.getByName("127.0.0.3");
        AtomicLong bLast = new AtomicLong(Long.MIN_VALUE);
        long t0 = System.nanoTime();
        // the kernel's view: a keeps sending; b sent until bLast
        Supplier<Collection<RouteTable.RtpFlow>> flows =
                () ->
                        bLast.get() == Long.MIN_VALUE
                                ? List.of()
                                : List.of(
                                        new RouteTable.RtpFlow(aAddr, t0, System.nanoTime()),
                                        new RouteTable.RtpFlow(bAddr, t0, bLast.get()));
        KubernetesWatch w = watch("node-a", ", status: always", null, flows);
        StreamRoutes t = w.routes();
        k.route(
                "media",
                "rtp",
                null,
                "Exact",
                "/live",
                List.of(Cluster.url(a.url("/live"), 1), Cluster.url(b.url("/live"), 1)));
        String aEp = "127.0.0.2:" + a.port();
        String bEp = "127.0.0.3:" + b.port();
        await("both serve", () -> spread(t, null, "/live", 100).size() == 2);
        bLast.set(System.nanoTime()); // b's stream stops now; rtp-timeout is 1 s
        await(
                "b's RTP stopped: out",
                () -> spread(t, null, "/live", 100).getOrDefault(bEp, 0) == 0);
        await(
                "RtpStopped in status",
                () ->
                        k.get("media", "rtp")
                                .getStatus()
                                .backends
                                .contains(
                                        new StreamRouteStatus.BackendStatus(
                                                b.url("/live"), false, "RtpStopped")));
        assertTrue(
                spread(t, null, "/live", 100).getOrDefault(aEp, 0) > 0,
                "a, still sending, stays in");
        // the next good DESCRIBE brings it back, and its old flow no longer counts against it
        await(
                "back after a good probe",
                () -> spread(t, null, "/live", 100).getOrDefault(bEp, 0) > 0);
        Thread.sleep(600);
        assertTrue(
                spread(t, null, "/live", 100).getOrDefault(bEp, 0) > 0,
                "the old idle flow does not fail it again");
    }

    @Test
    void statusCarriesConditionsAndObservedGeneration() throws Exception {
        TinyRtspServer a = origin("127.0.0.2");
        KubernetesWatch w = watch();
        StreamRoute created =
                k.route(
                        "media",
                        "first",
                        "tv.example.com",
                        "Exact",
                        "/news",
                        List.of(Cluster.url(a.url("/news"), 1)));
        await(
                "Ready=True written",
                () -> condIs(k.get("media", "first"), "Ready", "True", "Routable"));
        StreamRoute sr = k.get("media", "first");
        long gen = sr.getMetadata().getGeneration();
        for (String type : List.of("Accepted", "BackendsReady", "Ready")) {
            Condition c = condition(sr, type);
            assertNotNull(c, type + " condition written");
            assertEquals("True", c.getStatus(), type);
            assertEquals(gen, c.getObservedGeneration(), type + " observedGeneration");
            assertNotNull(c.getLastTransitionTime(), type + " lastTransitionTime");
            assertTrue(
                    c.getMessage().contains("node-a") || type.equals("Accepted"), c.getMessage());
        }
        assertEquals(
                List.of(new StreamRouteStatus.BackendStatus(a.url("/news"), true, null)),
                sr.getStatus().backends);
        assertEquals(
                created.getSpec().match.path.value,
                sr.getSpec().match.path.value,
                "spec untouched");

        k.edit("media", "first", spec -> spec.backends.get(0).weight = 5);
        await(
                "observedGeneration follows the spec",
                () -> {
                    StreamRoute x = k.get("media", "first");
                    return x.getMetadata().getGeneration() > gen
                            && condition(x, "Accepted")
                                    .getObservedGeneration()
                                    .equals(x.getMetadata().getGeneration());
                });

        // a second route with the same host and path is not accepted
        k.route(
                "media",
                "second",
                "tv.example.com",
                "Exact",
                "/news",
                List.of(Cluster.url(a.url("/other"), 1)));
        await(
                "the newer duplicate is Conflicted",
                () -> condIs(k.get("media", "second"), "Accepted", "False", "Conflicted"));
        assertEquals(
                "media/first", w.routes().choose("tv.example.com", "/news").orElseThrow().route());

        // let the writes that follow the last change land (a loaded machine is slow), then
        // nothing changes for five probe rounds: nothing may be written
        int writes = w.statusWrites();
        for (long end = System.nanoTime() + 5_000_000_000L; System.nanoTime() < end; ) {
            Thread.sleep(500);
            int now = w.statusWrites();
            if (now == writes) {
                break;
            }
            writes = now;
        }
        Thread.sleep(1000);
        assertEquals(writes, w.statusWrites(), "an unchanged status is not written again");

        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        w.bindMetrics(reg, null);
        assertEquals(2.0, reg.get("msm.k8s.routes").gauge().value(), "both routes seen");
        assertEquals(
                1.0,
                reg.get("msm.k8s.targets").tag("state", "up").gauge().value(),
                "the one accepted target is up");
        assertEquals(writes, reg.get("msm.k8s.status.writes").functionCounter().count());
    }

    @Test
    void onlyTheElectedAgentWritesStatus() throws Exception {
        TinyRtspServer a = origin("127.0.0.2");
        k.namespace("msm-system", Map.of());
        Map<String, String> agentLabels = Map.of("app.kubernetes.io/component", "agent");
        Pod agentA = k.pod("msm-system", "msm-a", "node-a", agentLabels, true);
        Pod agentB = k.pod("msm-system", "msm-b", "node-b", agentLabels, true);
        for (Pod p : List.of(agentA, agentB)) {
            mock.client
                    .pods()
                    .inNamespace("msm-system")
                    .withName(p.getMetadata().getName())
                    .editStatus(
                            x -> {
                                x.getStatus()
                                        .setConditions(
                                                List.of(
                                                        new PodConditionBuilder()
                                                                .withType("Ready")
                                                                .withStatus("True")
                                                                .build()));
                                return x;
                            });
        }
        String elect = ", status: elect, agent-namespace: msm-system";
        KubernetesWatch onB = watch("node-b", elect, null, List::of);
        KubernetesWatch onA = watch("node-a", elect, null, List::of);
        k.route("media", "r", null, "Exact", "/x", List.of(Cluster.url(a.url("/x"), 1)));
        // the counter moves once the API call returned, just after the write is visible
        await(
                "status written",
                () -> condIs(k.get("media", "r"), "Ready", "True", null) && onA.statusWrites() > 0);
        assertTrue(onA.statusWrites() > 0, "node-a (lowest name) writes");
        assertEquals(0, onB.statusWrites(), "node-b does not");
        assertTrue(condition(k.get("media", "r"), "Ready").getMessage().contains("node-a"));

        // node-a's agent goes away: node-b takes over
        onA.close();
        mock.client.pods().inNamespace("msm-system").withName("msm-a").delete();
        a.describeStatus = 503;
        await(
                "node-b writes once node-a's agent is gone",
                () ->
                        onB.statusWrites() > 0
                                && condIs(k.get("media", "r"), "Ready", "False", "NoBackendReady"));
        assertTrue(condition(k.get("media", "r"), "Ready").getMessage().contains("node-b"));
    }

    /** Records what the watcher asks interception to do. */
    static final class RecordingInterceptor implements PodInterceptor {
        final List<Set<String>> calls = new CopyOnWriteArrayList<>();
        volatile Inet4Address proxy;
        volatile Set<String> names = Set.of();

        @Override
        public Set<String> reconcile(Collection<PodRef> pods) {
            Set<String> uids = new TreeSet<>();
            Set<String> n = new TreeSet<>();
            for (PodRef p : pods) {
                uids.add(p.uid());
                n.add(p.namespace() + "/" + p.name());
            }
            names = n;
            calls.add(uids);
            return uids;
        }

        @Override
        public Set<String> pending() {
            return Set.of();
        }

        @Override
        public void proxyAddress(Inet4Address address) {
            proxy = address;
        }
    }

    @Test
    void onlyThisNodesOptedInPodsAreIntercepted() throws Exception {
        k.namespace("cams", Map.of("msm.io/intercept", "true"));
        Map<String, String> in = Map.of("msm.io/intercept", "true");
        k.pod("media", "player-a", "node-a", in, false);
        k.pod("media", "player-b", "node-b", in, false); // another node
        k.pod("media", "plain-a", "node-a", Map.of(), false); // not opted in
        k.pod("cams", "cam-a", "node-a", Map.of(), false); // namespace opted in
        k.pod(
                "cams",
                "shy-a",
                "node-a",
                Map.of("msm.io/intercept", "false"),
                false); // pod opts out
        k.pod("media", "hostnet-a", "node-a", in, true); // host network: never
        RecordingInterceptor rec = new RecordingInterceptor();
        KubernetesWatch w = watch("node-a", ", status: never", rec, List::of);
        await("interception told", () -> rec.names.equals(Set.of("media/player-a", "cams/cam-a")));
        assertEquals("192.0.2.10", rec.proxy.getHostAddress(), "the proxy is at node-a's hostIP");

        k.pod("media", "late-a", "node-a", in, false);
        await("a new opted-in pod is added", () -> rec.names.contains("media/late-a"));
        mock.client.pods().inNamespace("media").withName("player-a").delete();
        await(
                "a deleted pod is dropped",
                () -> rec.names.equals(Set.of("cams/cam-a", "media/late-a")));
        k.pod("media", "late-b", "node-b", in, false);
        Thread.sleep(500);
        assertFalse(
                rec.names.contains("media/late-b"),
                "pods of other nodes are never seen: " + rec.names);
        assertTrue(w.ready());
    }
}
