package io.msm.agent.k8s.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.msm.agent.game.GameTables;
import java.net.Inet4Address;
import java.net.InetAddress;
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
}
