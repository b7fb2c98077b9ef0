package io.msm.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The StreamPolicy CRD: its shape matches what the agent reads and writes (issue 14). */
class StreamPolicyCrdTest {
    static CustomResourceDefinition crd() {
        return MsmChart.render().crd("streampolicies.msm.io");
    }

    static JSONSchemaProps schema() {
        return crd().getSpec().getVersions().get(0).getSchema().getOpenAPIV3Schema();
    }

    @Test
    void namespacedWithAStatusSubresourceKeptOnUninstall() {
        CustomResourceDefinition c = crd();
        assertEquals("msm.io", c.getSpec().getGroup());
        assertEquals("Namespaced", c.getSpec().getScope());
        assertEquals("StreamPolicy", c.getSpec().getNames().getKind());
        assertEquals("v1alpha1", c.getSpec().getVersions().get(0).getName());
        assertNotNull(c.getSpec().getVersions().get(0).getSubresources().getStatus());
        assertEquals("keep", c.getMetadata().getAnnotations().get("helm.sh/resource-policy"));
    }

    @Test
    void peersByNamespaceServiceAccountAndLabelsForPublishAndWatch() {
        JSONSchemaProps spec = schema().getProperties().get("spec");
        assertEquals(List.of("match"), spec.getRequired());
        for (String action : List.of("publish", "watch")) {
            JSONSchemaProps peer = spec.getProperties().get(action).getItems().getSchema();
            assertEquals(
                    List.of("namespace", "podLabels", "serviceAccount"),
                    peer.getProperties().keySet().stream().sorted().toList(),
                    action);
        }
        assertTrue(
                spec.getXKubernetesValidations().stream()
                        .anyMatch(v -> v.getRule().contains("has(self.publish)")));
        JSONSchemaProps status = schema().getProperties().get("status");
        assertTrue(
                status.getProperties()
                        .keySet()
                        .containsAll(List.of("conditions", "publishRules", "watchRules")));
    }

    @Test
    void notInstalledWhenCrdsAreManagedElsewhere() {
        assertTrue(
                MsmChart.render("crds: {install: false}\n")
                        .ofKind("CustomResourceDefinition")
                        .isEmpty());
    }
}
