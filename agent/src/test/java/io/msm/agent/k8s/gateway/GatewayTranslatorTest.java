package io.msm.agent.k8s.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.msm.agent.game.GameTables;
import io.msm.bpf.maps.GameService;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GatewayTranslatorTest {
    static GenericKubernetesResource yaml(String y) {
        return Serialization.unmarshal(y, GenericKubernetesResource.class);
    }

    static Inet4Address ip(String s) throws Exception {
        return (Inet4Address) InetAddress.getByName(s);
    }

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
                    + "  - {name: arena, protocol: UDP, port: 7777}\n";
    static final String ROUTE =
            "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: UDPRoute\n"
                    + "metadata: {name: arena, namespace: g}\n"
                    + "spec:\n  parentRefs: [{name: games, sectionName: arena}]\n  rules:\n"
                    + "  - backendRefs:\n    - {name: blue, port: 7777, weight: 90}\n"
                    + "    - {name: green, port: 7777, weight: 10}\n";

    @Test
    void udpRouteWithWeightsBecomesAServiceAndStatusesAreTrue() throws Exception {
        Map<String, List<GameTables.Backend>> eps =
                Map.of(
                        "g/blue",
                        List.of(
                                new GameTables.Backend(ip("10.1.0.1"), 7000, 1, null),
                                new GameTables.Backend(ip("10.1.0.2"), 7000, 1, null)),
                        "g/green",
                        List.of(new GameTables.Backend(ip("10.1.0.3"), 7000, 1, null)));
        var r =
                GatewayTranslator.translate(
                        List.of(yaml(CLASS), yaml(OTHER_CLASS)),
                        List.of(yaml(GW)),
                        List.of(yaml(ROUTE)),
                        (ns, svc, port) -> eps.getOrDefault(ns + "/" + svc, List.of()),
                        ip("192.0.2.10"));
        assertEquals(1, r.services().size());
        GameTables.Service s = r.services().get(0);
        assertEquals(7777, s.port());
        assertEquals(ip("192.0.2.10"), s.addr());
        // 90 shared by blue's two endpoints, 10 by green's one: 45/45/10
        assertEquals(
                List.of(45000, 45000, 10000),
                s.backends().stream().map(GameTables.Backend::weight).toList());
        assertFalse(r.status().containsKey("GatewayClass/other"));
        assertTrue(r.status().get("GatewayClass/msm").get(0).status());
        assertTrue(
                r.status().get("Gateway/g/games").stream()
                        .allMatch(GatewayTranslator.Condition::status));
        assertTrue(
                r.status().get("UDPRoute/g/arena/g/games/arena").stream()
                        .allMatch(GatewayTranslator.Condition::status));
    }

    @Test
    void missingBackendIsResolvedRefsFalseAndUnknownParentNotAccepted() throws Exception {
        var r =
                GatewayTranslator.translate(
                        List.of(yaml(CLASS)),
                        List.of(yaml(GW)),
                        List.of(yaml(ROUTE), yaml(ROUTE.replace("name: games,", "name: nope,"))),
                        (ns, svc, port) -> List.of(),
                        ip("192.0.2.10"));
        var conds = r.status().get("UDPRoute/g/arena/g/games/arena");
        assertEquals("ResolvedRefs", conds.get(1).type());
        assertFalse(conds.get(1).status());
        assertEquals("BackendNotFound", conds.get(1).reason());
        var nope = r.status().get("UDPRoute/g/arena/g/nope/arena");
        assertFalse(nope.get(0).status());
        assertEquals("NoMatchingParent", nope.get(0).reason());
    }

    @Test
    void sessionKeysComeFromTheRoutesAnnotationsAndBadOnesAreUnsupportedValue() throws Exception {
        String kcp =
                ROUTE.replace(
                        "metadata: {name: arena, namespace: g}",
                        "metadata:\n  name: arena\n  namespace: g\n  annotations:\n"
                                + "    msm.io/session-key: kcp\n    msm.io/kcp-offset: '20'\n"
                                + "    msm.io/idle-timeout: 30s");
        GameTables.Backend one = new GameTables.Backend(ip("10.1.0.1"), 7000, 1, null);
        GatewayTranslator.Endpoints eps = (ns, svc, port) -> List.of(one);
        var r =
                GatewayTranslator.translate(
                        List.of(yaml(CLASS)),
                        List.of(yaml(GW)),
                        List.of(yaml(kcp)),
                        eps,
                        List.of(ip("192.0.2.10"), ip("198.51.100.1")));
        // one service per node address
        assertEquals(
                List.of("g/games/arena@192.0.2.10", "g/games/arena@198.51.100.1"),
                r.services().stream().map(GameTables.Service::name).toList());
        GameTables.Service s = r.services().get(0);
        assertEquals(GameService.F_KCP, s.flags());
        assertEquals(20, s.keyOff());
        assertEquals(Duration.ofSeconds(30), s.idle());
        assertEquals(1, r.listeners().get("g/games").get(0).attachedRoutes());
        assertEquals("arena", r.parents().get("g/arena").get(0).parentRef().get("sectionName"));

        var bad =
                GatewayTranslator.translate(
                        List.of(yaml(CLASS)),
                        List.of(yaml(GW)),
                        List.of(yaml(kcp.replace("session-key: kcp", "session-key: guid"))),
                        eps,
                        List.of(ip("192.0.2.10")));
        assertEquals(List.of(), bad.services());
        var accepted = bad.status().get("UDPRoute/g/arena/g/games/arena").get(0);
        assertFalse(accepted.status());
        assertEquals("UnsupportedValue", accepted.reason());
        assertTrue(accepted.message().contains("msm.io/session-key"), accepted.message());

        var kind =
                GatewayTranslator.translate(
                        List.of(yaml(CLASS)),
                        List.of(yaml(GW)),
                        List.of(yaml(ROUTE.replace("{name: green,", "{kind: Pod, name: green,"))),
                        eps,
                        List.of(ip("192.0.2.10")));
        var rr = kind.status().get("UDPRoute/g/arena/g/games/arena").get(1);
        assertFalse(rr.status());
        assertEquals("InvalidKind", rr.reason());
        // blue still routes
        assertEquals(1, kind.services().get(0).backends().size());
    }

    @Test
    void rebindingPolicyAndRaknetFromTheRoutesAnnotations() throws Exception {
        String raknet =
                ROUTE.replace(
                        "metadata: {name: arena, namespace: g}",
                        "metadata:\n  name: arena\n  namespace: g\n  annotations:\n"
                                + "    msm.io/session-key: raknet\n    msm.io/rebind: prefix\n"
                                + "    msm.io/rebind-confirm: '3'");
        GameTables.Backend one = new GameTables.Backend(ip("10.1.0.1"), 7000, 1, null);
        GatewayTranslator.Endpoints eps = (ns, svc, port) -> List.of(one);
        var r =
                GatewayTranslator.translate(
                        List.of(yaml(CLASS)),
                        List.of(yaml(GW)),
                        List.of(yaml(raknet)),
                        eps,
                        List.of(ip("192.0.2.10")));
        GameTables.Service s = r.services().get(0);
        assertEquals(GameService.F_RAKNET, s.flags());
        assertEquals(GameTables.Rebind.PREFIX, s.rebind());
        assertEquals(3, s.rebindConfirm());

        // without the annotations: the safe default (same IP, at the first packet)
        var plain =
                GatewayTranslator.translate(
                        List.of(yaml(CLASS)),
                        List.of(yaml(GW)),
                        List.of(yaml(ROUTE)),
                        eps,
                        List.of(ip("192.0.2.10")));
        assertEquals(GameTables.Rebind.PORT, plain.services().get(0).rebind());
        assertEquals(0, plain.services().get(0).rebindConfirm());

        for (String bad : List.of("msm.io/rebind: anywhere", "msm.io/rebind-confirm: '-1'")) {
            var b =
                    GatewayTranslator.translate(
                            List.of(yaml(CLASS)),
                            List.of(yaml(GW)),
                            List.of(
                                    yaml(
                                            raknet.replace(
                                                    bad.startsWith("msm.io/rebind:")
                                                            ? "msm.io/rebind: prefix"
                                                            : "msm.io/rebind-confirm: '3'",
                                                    bad))),
                            eps,
                            List.of(ip("192.0.2.10")));
            assertEquals(List.of(), b.services(), bad);
            var accepted = b.status().get("UDPRoute/g/arena/g/games/arena").get(0);
            assertFalse(accepted.status(), bad);
            assertEquals("UnsupportedValue", accepted.reason(), bad);
            assertTrue(accepted.message().contains("msm.io/rebind"), accepted.message());
        }
    }
}
