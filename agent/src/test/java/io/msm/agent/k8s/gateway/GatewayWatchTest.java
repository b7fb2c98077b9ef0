package io.msm.agent.k8s.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.msm.agent.game.GameTables;
import io.msm.agent.k8s.NodeAwareMock;
import io.msm.bpf.maps.GameService;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Gateway API watcher against the mock API server: GatewayClass, Gateway and UDPRoute in → game
 * services applied with the Service's endpoints and their pods' routing tokens, and status written
 * as Gateway API specifies; a Gateway of another class is ignored; a route to a missing Service
 * says ResolvedRefs False (BackendNotFound).
 */
class GatewayWatchTest {
    NodeAwareMock mock;
    GatewayWatch watch;
    final AtomicReference<List<GameTables.Service>> applied = new AtomicReference<>();

    static final String CLASS =
            "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: msm}\n"
                    + "spec: {controllerName: msm.io/gateway-controller}\n";
    static final String OTHER_CLASS =
            "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: other}\n"
                    + "spec: {controllerName: example.com/x}\n";
    static final String GW =
            "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
                    + "metadata: {name: games, namespace: g}\n"
                    + "spec:\n  gatewayClassName: msm\n  listeners:\n"
                    + "  - {name: arena, protocol: UDP, port: 7777}\n"
                    + "  - {name: web, protocol: HTTP, port: 80}\n";
    static final String OTHER_GW =
            "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
                    + "metadata: {name: theirs, namespace: g}\n"
                    + "spec:\n  gatewayClassName: other\n  listeners:\n"
                    + "  - {name: arena, protocol: UDP, port: 8888}\n";
    static final String ROUTE =
            "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: UDPRoute\n"
                    + "metadata:\n  name: arena\n  namespace: g\n  annotations:\n"
                    + "    msm.io/session-key: token\n    msm.io/token-length: '4'\n"
                    + "spec:\n  parentRefs: [{name: games, sectionName: arena}]\n  rules:\n"
                    + "  - backendRefs:\n    - {name: blue, port: 7000, weight: 3}\n";

    @BeforeEach
    void setUp() {
        mock = new NodeAwareMock();
    }

    @AfterEach
    void tearDown() {
        if (watch != null) {
            watch.close();
        }
        mock.close();
    }

    static Inet4Address ip(String s) {
        try {
            return (Inet4Address) InetAddress.getByName(s);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    void start(BooleanSupplier writer) {
        watch =
                new GatewayWatch(
                        mock.client,
                        GatewayWatch.sink(() -> List.of(ip("192.0.2.10")), applied::set),
                        writer);
        watch.start();
        await("the informers sync", watch::ready);
    }

    void create(ResourceDefinitionContext ctx, String yaml) {
        GenericKubernetesResource r =
                Serialization.unmarshal(yaml, GenericKubernetesResource.class);
        var op = mock.client.genericKubernetesResources(ctx);
        if (ctx.isNamespaceScoped()) {
            op.inNamespace(r.getMetadata().getNamespace()).resource(r).create();
        } else {
            op.resource(r).create();
        }
    }

    GenericKubernetesResource get(ResourceDefinitionContext ctx, String ns, String name) {
        var op = mock.client.genericKubernetesResources(ctx);
        return ns == null ? op.withName(name).get() : op.inNamespace(ns).withName(name).get();
    }

    void blueService() {
        mock.client
                .services()
                .inNamespace("g")
                .resource(
                        new ServiceBuilder()
                                .withNewMetadata()
                                .withName("blue")
                                .withNamespace("g")
                                .endMetadata()
                                .withNewSpec()
                                .addNewPort()
                                .withName("game")
                                .withProtocol("UDP")
                                .withPort(7000)
                                .endPort()
                                .endSpec()
                                .build())
                .create();
        for (int i = 1; i <= 2; i++) {
            mock.client
                    .pods()
                    .inNamespace("g")
                    .resource(
                            new PodBuilder()
                                    .withNewMetadata()
                                    .withName("blue-" + i)
                                    .withNamespace("g")
                                    .withAnnotations(
                                            Map.of(
                                                    GatewayWatch.TOKEN_ANNOTATION,
                                                    i == 1 ? "hex:0a0b0c0d" : "base64:AQIDBA=="))
                                    .endMetadata()
                                    .build())
                    .create();
        }
        mock.client
                .discovery()
                .v1()
                .endpointSlices()
                .inNamespace("g")
                .resource(
                        new EndpointSliceBuilder()
                                .withNewMetadata()
                                .withName("blue-x")
                                .withNamespace("g")
                                .withLabels(Map.of(GatewayWatch.SERVICE_NAME_LABEL, "blue"))
                                .endMetadata()
                                .withAddressType("IPv4")
                                .addNewPort()
                                .withName("game")
                                .withProtocol("UDP")
                                .withPort(9000)
                                .endPort()
                                .addNewEndpoint()
                                .withAddresses("10.1.0.1")
                                .withNewTargetRef()
                                .withKind("Pod")
                                .withNamespace("g")
                                .withName("blue-1")
                                .endTargetRef()
                                .endEndpoint()
                                .addNewEndpoint()
                                .withAddresses("10.1.0.2")
                                .withNewTargetRef()
                                .withKind("Pod")
                                .withNamespace("g")
                                .withName("blue-2")
                                .endTargetRef()
                                .endEndpoint()
                                .addNewEndpoint()
                                .withAddresses("10.1.0.3")
                                .withNewConditions()
                                .withReady(false)
                                .endConditions()
                                .endEndpoint()
                                .build())
                .create();
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> conditions(Object owner) {
        return (List<Map<String, Object>>) ((Map<String, Object>) owner).get("conditions");
    }

    static Map<String, Object> status(GenericKubernetesResource r) {
        return GatewayTranslator.at(r.getAdditionalProperties(), "status");
    }

    static Map<String, Object> cond(List<Map<String, Object>> cs, String type) {
        return cs.stream().filter(c -> type.equals(c.get("type"))).findFirst().orElseThrow();
    }

    @Test
    void objectsInServicesAppliedAndStatusWritten() {
        blueService();
        create(GatewayWatch.CLASSES, CLASS);
        create(GatewayWatch.CLASSES, OTHER_CLASS);
        create(GatewayWatch.GATEWAYS, GW);
        create(GatewayWatch.GATEWAYS, OTHER_GW);
        create(GatewayWatch.UDP_ROUTES, ROUTE);
        start(() -> true);
        await(
                "the route's service applied",
                () -> applied.get() != null && !applied.get().isEmpty());
        List<GameTables.Service> s = applied.get();
        assertEquals(1, s.size(), s.toString()); // the other class's Gateway is ignored
        GameTables.Service svc = s.get(0);
        assertEquals("g/games/arena", svc.name());
        assertEquals(ip("192.0.2.10"), svc.addr());
        assertEquals(7777, svc.port());
        assertEquals(GameService.F_TOKEN, svc.flags());
        assertEquals(4, svc.tokenLen());
        // the ready endpoints, the Service's target port, the pods' tokens; weight 3 shared
        assertEquals(2, svc.backends().size(), svc.backends().toString());
        assertEquals(ip("10.1.0.1"), svc.backends().get(0).addr());
        assertEquals(9000, svc.backends().get(0).port());
        assertEquals(1500, svc.backends().get(0).weight());
        assertArrayEquals(new byte[] {10, 11, 12, 13}, svc.backends().get(0).token());
        assertArrayEquals(new byte[] {1, 2, 3, 4}, svc.backends().get(1).token());

        await(
                "status written",
                () ->
                        status(get(GatewayWatch.UDP_ROUTES, "g", "arena")) != null
                                && status(get(GatewayWatch.GATEWAYS, "g", "games")) != null
                                && status(get(GatewayWatch.CLASSES, null, "msm")) != null);
        var cls = status(get(GatewayWatch.CLASSES, null, "msm"));
        assertEquals("True", cond(conditions(cls), "Accepted").get("status"));
        assertNull(status(get(GatewayWatch.CLASSES, null, "other")), "not our class");
        assertNull(status(get(GatewayWatch.GATEWAYS, "g", "theirs")), "not our Gateway");

        var gw = status(get(GatewayWatch.GATEWAYS, "g", "games"));
        assertEquals("True", cond(conditions(gw), "Accepted").get("status"));
        assertEquals("True", cond(conditions(gw), "Programmed").get("status"));
        assertEquals(
                get(GatewayWatch.GATEWAYS, "g", "games").getMetadata().getGeneration().intValue(),
                ((Number) cond(conditions(gw), "Programmed").get("observedGeneration")).intValue());
        List<Map<String, Object>> listeners = GatewayTranslator.list(gw, "listeners");
        assertEquals(2, listeners.size());
        assertEquals("arena", listeners.get(0).get("name"));
        assertEquals(1, ((Number) listeners.get(0).get("attachedRoutes")).intValue());
        assertEquals("True", cond(conditions(listeners.get(0)), "Programmed").get("status"));
        var web = cond(conditions(listeners.get(1)), "Accepted");
        assertEquals("False", web.get("status"));
        assertEquals("UnsupportedProtocol", web.get("reason"));

        var rt = status(get(GatewayWatch.UDP_ROUTES, "g", "arena"));
        List<Map<String, Object>> parents = GatewayTranslator.list(rt, "parents");
        assertEquals(1, parents.size());
        assertEquals(GatewayTranslator.CONTROLLER, parents.get(0).get("controllerName"));
        assertEquals("games", GatewayTranslator.at(parents.get(0), "parentRef", "name"));
        assertEquals("True", cond(conditions(parents.get(0)), "Accepted").get("status"));
        assertEquals("True", cond(conditions(parents.get(0)), "ResolvedRefs").get("status"));
        int writes = watch.statusWrites();
        assertTrue(writes >= 3, "writes " + writes);
    }

    @Test
    void routeToAMissingServiceIsResolvedRefsFalse() {
        create(GatewayWatch.CLASSES, CLASS);
        create(GatewayWatch.GATEWAYS, GW);
        create(GatewayWatch.UDP_ROUTES, ROUTE.replace("name: blue", "name: nowhere"));
        start(() -> true);
        await(
                "route status written",
                () -> status(get(GatewayWatch.UDP_ROUTES, "g", "arena")) != null);
        var rt = status(get(GatewayWatch.UDP_ROUTES, "g", "arena"));
        var p = GatewayTranslator.list(rt, "parents").get(0);
        assertEquals("True", cond(conditions(p), "Accepted").get("status"));
        var rr = cond(conditions(p), "ResolvedRefs");
        assertEquals("False", rr.get("status"));
        assertEquals("BackendNotFound", rr.get("reason"));
        assertTrue(((String) rr.get("message")).contains("g/nowhere"), rr.toString());
        // the service exists with no backend: nothing to choose, packets dropped and counted
        assertEquals(1, applied.get().size());
        assertEquals(List.of(), applied.get().get(0).backends());
    }

    @Test
    void anotherNamespacesServiceIsRefNotPermittedAndNonWritersWriteNothing() throws Exception {
        create(GatewayWatch.CLASSES, CLASS);
        create(GatewayWatch.GATEWAYS, GW);
        create(
                GatewayWatch.UDP_ROUTES,
                ROUTE.replace("{name: blue,", "{name: blue, namespace: elsewhere,"));
        start(() -> false);
        await("services applied", () -> applied.get() != null);
        Thread.sleep(300);
        assertNull(status(get(GatewayWatch.UDP_ROUTES, "g", "arena")), "not the writer");
        assertEquals(0, watch.statusWrites());
        var r =
                GatewayTranslator.translate(
                        List.of(Serialization.unmarshal(CLASS, GenericKubernetesResource.class)),
                        List.of(Serialization.unmarshal(GW, GenericKubernetesResource.class)),
                        List.of(
                                Serialization.unmarshal(
                                        ROUTE.replace(
                                                "{name: blue,",
                                                "{name: blue, namespace: elsewhere,"),
                                        GenericKubernetesResource.class)),
                        (ns, svc, port) -> List.of(),
                        List.of(ip("192.0.2.10")));
        var rr = r.status().get("UDPRoute/g/arena/g/games/arena").get(1);
        assertEquals("RefNotPermitted", rr.reason());
    }

    static void await(String what, Supplier<Boolean> cond) {
        long end = System.nanoTime() + 10_000_000_000L;
        while (!cond.get()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }
}
