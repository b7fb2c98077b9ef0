package io.msm.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The agent may read what its informers watch and write only StreamRoute status. */
class RbacTest {
    /** One (apiGroup, resource, verb) the role grants; rules are flattened to these. */
    record Grant(String group, String resource, String verb) implements Comparable<Grant> {
        @Override
        public int compareTo(Grant o) {
            return toString().compareTo(o.toString());
        }

        @Override
        public String toString() {
            return (group.isEmpty() ? "core" : group) + "/" + resource + ":" + verb;
        }
    }

    static Set<Grant> grants(ClusterRole role) {
        Set<Grant> out = new TreeSet<>();
        for (PolicyRule r : role.getRules()) {
            for (String g : r.getApiGroups()) {
                for (String res : r.getResources()) {
                    for (String v : r.getVerbs()) {
                        out.add(new Grant(g, res, v));
                    }
                }
            }
        }
        return out;
    }

    private static Set<Grant> read(String group, String resource) {
        return Set.of(
                new Grant(group, resource, "get"),
                new Grant(group, resource, "list"),
                new Grant(group, resource, "watch"));
    }

    private static Set<Grant> expectedLeastPrivilege() {
        Set<Grant> want = new TreeSet<>();
        want.addAll(read("", "pods"));
        want.addAll(read("", "services"));
        want.addAll(read("", "namespaces")); // namespace-wide interception opt-in
        want.addAll(read("discovery.k8s.io", "endpointslices"));
        want.addAll(read("msm.io", "streamroutes"));
        want.addAll(read("msm.io", "streampolicies")); // who may publish and watch (issue 14)
        want.add(new Grant("msm.io", "streamroutes/status", "update"));
        want.add(new Grant("msm.io", "streamroutes/status", "patch"));
        want.add(new Grant("msm.io", "streampolicies/status", "update"));
        want.add(new Grant("msm.io", "streampolicies/status", "patch"));
        return want;
    }

    @Test
    void grantsExactlyWhatTheAgentUses() {
        ClusterRole role = MsmChart.render().one(ClusterRole.class, "ClusterRole");
        assertEquals(expectedLeastPrivilege(), grants(role));
    }

    @Test
    void namespacesOnlyWithInterception() {
        for (String values :
                List.of(
                        "agent: {userspace: true}\n",
                        "agent: {kubernetes: {intercept: {enabled: false}}}\n")) {
            ClusterRole role = MsmChart.render(values).one(ClusterRole.class, "ClusterRole");
            assertTrue(
                    grants(role).stream().noneMatch(g -> g.resource().equals("namespaces")),
                    values);
        }
    }

    @Test
    void noWildcardsNoResourceNamesNoNonResourceUrls() {
        for (Manifests m :
                List.of(
                        MsmChart.render(),
                        MsmChart.render(MsmChart.resource("values-custom.yaml")))) {
            ClusterRole role = m.one(ClusterRole.class, "ClusterRole");
            for (PolicyRule r : role.getRules()) {
                assertFalse(r.getApiGroups().contains("*"), r.toString());
                assertFalse(r.getResources().contains("*"), r.toString());
                assertFalse(r.getVerbs().contains("*"), r.toString());
                assertTrue(
                        r.getNonResourceURLs() == null || r.getNonResourceURLs().isEmpty(),
                        r.toString());
            }
            assertTrue(
                    role.getAggregationRule() == null,
                    "no aggregation: the role is exactly its rules");
        }
    }

    @Test
    void writesOnlyTheStatusSubresource() {
        Set<String> writeVerbs = Set.of("create", "update", "patch", "delete", "deletecollection");
        for (Grant g : grants(MsmChart.render().one(ClusterRole.class, "ClusterRole"))) {
            if (writeVerbs.contains(g.verb())) {
                assertTrue(
                        Set.of("streamroutes/status", "streampolicies/status")
                                .contains(g.resource()),
                        "write access beyond status: " + g);
            }
        }
    }

    @Test
    void eventsOnlyWhenAskedFor() {
        Set<Grant> with =
                grants(
                        MsmChart.render(MsmChart.resource("values-custom.yaml"))
                                .one(ClusterRole.class, "ClusterRole"));
        Set<Grant> want = new TreeSet<>(expectedLeastPrivilege());
        for (String g : List.of("", "events.k8s.io")) {
            want.add(new Grant(g, "events", "create"));
            want.add(new Grant(g, "events", "patch"));
        }
        assertEquals(want, with);
    }

    @Test
    void bindingTiesTheRoleToTheAgentsServiceAccount() {
        Manifests m = MsmChart.render();
        ClusterRoleBinding b = m.one(ClusterRoleBinding.class, "ClusterRoleBinding");
        ClusterRole role = m.one(ClusterRole.class, "ClusterRole");
        ServiceAccount sa = m.one(ServiceAccount.class, "ServiceAccount");
        assertEquals(role.getMetadata().getName(), b.getRoleRef().getName());
        assertEquals("ClusterRole", b.getRoleRef().getKind());
        assertEquals(1, b.getSubjects().size());
        assertEquals(sa.getMetadata().getName(), b.getSubjects().get(0).getName());
        assertEquals(MsmChart.NAMESPACE, b.getSubjects().get(0).getNamespace());
        assertEquals(sa.getMetadata().getName(), DaemonSetTest.pod(m).getServiceAccountName());
    }

    @Test
    void rbacCanBeLeftToTheCluster() {
        Manifests m =
                MsmChart.render(
                        "rbac: {create: false}\nserviceAccount: {create: false, name: msm-sa}\n");
        assertTrue(m.ofKind("ClusterRole").isEmpty());
        assertTrue(m.ofKind("ClusterRoleBinding").isEmpty());
        assertTrue(m.ofKind("ServiceAccount").isEmpty());
        assertEquals("msm-sa", DaemonSetTest.pod(m).getServiceAccountName());
    }

    @Test
    void relayTreesPatchOnlyTheAgentsPodsNamespace() {
        assertTrue(MsmChart.render().ofKind("Role").isEmpty(), "no Role by default");
        Manifests m = MsmChart.render("agent: {kubernetes: {relayTree: true}}\n");
        assertEquals(
                expectedLeastPrivilege(),
                grants(m.one(ClusterRole.class, "ClusterRole")),
                "the cluster-wide role is unchanged");
        Role role = m.one(Role.class, "Role");
        assertEquals(MsmChart.NAMESPACE, role.getMetadata().getNamespace());
        assertEquals(1, role.getRules().size());
        PolicyRule r = role.getRules().get(0);
        assertEquals(List.of(""), r.getApiGroups());
        assertEquals(List.of("pods"), r.getResources());
        assertEquals(List.of("patch"), r.getVerbs());
        RoleBinding b = m.one(RoleBinding.class, "RoleBinding");
        assertEquals(role.getMetadata().getName(), b.getRoleRef().getName());
        assertEquals("Role", b.getRoleRef().getKind());
        assertEquals(MsmChart.NAMESPACE, b.getSubjects().get(0).getNamespace());
        @SuppressWarnings("unchecked")
        Map<String, Object> k8s = (Map<String, Object>) AgentConfigTest.config(m).get("kubernetes");
        assertEquals(Boolean.TRUE, k8s.get("relay-tree"));
    }

    @Test
    void gatewayApiReadsItsKindsAndWritesOnlyTheirStatusWhenEnabled() {
        ClusterRole off = MsmChart.render().one(ClusterRole.class, "ClusterRole");
        assertTrue(
                grants(off).stream().noneMatch(g -> g.group().equals("gateway.networking.k8s.io")),
                "nothing of the Gateway API by default");
        @SuppressWarnings("unchecked")
        Map<String, Object> k8sOff =
                (Map<String, Object>) AgentConfigTest.config(MsmChart.render()).get("kubernetes");
        assertFalse(k8sOff.containsKey("gateway-api"));

        Manifests m = MsmChart.render("agent: {kubernetes: {gatewayApi: true}}\n");
        Set<Grant> want = new TreeSet<>(expectedLeastPrivilege());
        for (String kind : List.of("gatewayclasses", "gateways", "udproutes")) {
            want.addAll(read("gateway.networking.k8s.io", kind));
            want.add(new Grant("gateway.networking.k8s.io", kind + "/status", "update"));
            want.add(new Grant("gateway.networking.k8s.io", kind + "/status", "patch"));
        }
        assertEquals(want, grants(m.one(ClusterRole.class, "ClusterRole")));
        @SuppressWarnings("unchecked")
        Map<String, Object> k8s = (Map<String, Object>) AgentConfigTest.config(m).get("kubernetes");
        assertEquals(Boolean.TRUE, k8s.get("gateway-api"));
    }
}
