package io.msm.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The StreamRoute CRD's identity, subresources, columns and schema shape. */
class StreamRouteCrdTest {
    static CustomResourceDefinition crd() {
        return MsmChart.render().crd();
    }

    static JSONSchemaProps at(JSONSchemaProps s, String... path) {
        for (String p : path) {
            s = p.equals("[*]") ? s.getItems().getSchema() : s.getProperties().get(p);
            assertNotNull(s, "schema has no " + p);
        }
        return s;
    }

    static JSONSchemaProps schema() {
        return crd().getSpec().getVersions().get(0).getSchema().getOpenAPIV3Schema();
    }

    @Test
    void namesAndScope() {
        CustomResourceDefinition c = crd();
        assertEquals("streamroutes.msm.io", c.getMetadata().getName());
        assertEquals("msm.io", c.getSpec().getGroup());
        assertEquals("Namespaced", c.getSpec().getScope());
        assertEquals("StreamRoute", c.getSpec().getNames().getKind());
        assertEquals("streamroutes", c.getSpec().getNames().getPlural());
        assertEquals(List.of("sr"), c.getSpec().getNames().getShortNames());
        assertEquals(1, c.getSpec().getVersions().size());
        CustomResourceDefinitionVersion v = c.getSpec().getVersions().get(0);
        assertEquals("v1alpha1", v.getName());
        assertTrue(v.getServed());
        assertTrue(v.getStorage());
        assertNotNull(
                v.getSubresources().getStatus(),
                "status subresource: the agent writes status only");
        assertNull(v.getSubresources().getScale());
    }

    @Test
    void printerColumnsShowTheMatchAndReadiness() {
        List<CustomResourceColumnDefinition> cols =
                crd().getSpec().getVersions().get(0).getAdditionalPrinterColumns();
        Map<String, String> byName = new LinkedHashMap<>();
        cols.forEach(c -> byName.put(c.getName(), c.getJsonPath()));
        assertEquals(
                List.of("Host", "Path", "Ready", "Reason", "Age"), List.copyOf(byName.keySet()));
        assertEquals(".spec.match.host", byName.get("Host"));
        assertEquals(".spec.match.path.value", byName.get("Path"));
        assertEquals(".status.conditions[?(@.type==\"Ready\")].status", byName.get("Ready"));
        assertEquals(".metadata.creationTimestamp", byName.get("Age"));
        assertEquals("date", cols.get(4).getType());
    }

    @Test
    void statusConditionsHaveTheStandardShape() {
        JSONSchemaProps cond = at(schema(), "status", "conditions");
        assertEquals("map", cond.getXKubernetesListType());
        assertEquals(List.of("type"), cond.getXKubernetesListMapKeys());
        JSONSchemaProps item = cond.getItems().getSchema();
        assertEquals(
                List.of("type", "status", "reason", "message", "lastTransitionTime"),
                item.getRequired());
        assertEquals("date-time", at(item, "lastTransitionTime").getFormat());
        assertEquals("int64", at(item, "observedGeneration").getFormat());
        assertEquals(
                List.of("\"True\"", "\"False\"", "\"Unknown\""),
                at(item, "status").getEnum().stream().map(Object::toString).toList());
        JSONSchemaProps backend = at(schema(), "status", "backends", "[*]");
        assertEquals(List.of("name", "ready"), backend.getRequired());
        assertEquals("boolean", at(backend, "ready").getType());
        assertEquals("string", at(backend, "reason").getType());
    }

    @Test
    void specFieldsCarryTheirConstraints() {
        JSONSchemaProps spec = at(schema(), "spec");
        assertEquals(List.of("match", "backends"), spec.getRequired());
        JSONSchemaProps path = at(spec, "match", "path");
        assertEquals(
                List.of("\"Exact\"", "\"PathPrefix\""),
                at(path, "type").getEnum().stream().map(Object::toString).toList());
        assertTrue(at(path, "value").getPattern().startsWith("^/"));
        assertEquals(1L, at(spec, "backends").getMinItems());
        JSONSchemaProps weight = at(spec, "backends", "[*]", "weight");
        assertEquals(0.0, weight.getMinimum());
        assertEquals(1000.0, weight.getMaximum());
        assertEquals(1, weight.getDefault().asInt());
        assertTrue(at(spec, "backends", "[*]", "url").getPattern().startsWith("^rtsp://"));
        assertEquals(65535.0, at(spec, "backends", "[*]", "service", "port").getMaximum());
        assertEquals(List.of("name", "port"), at(spec, "backends", "[*]", "service").getRequired());
        assertNotNull(at(spec, "failureDetection", "describeTimeoutSeconds").getMinimum());
        assertNotNull(at(spec, "failureDetection", "rtpTimeoutSeconds").getMinimum());
        assertTrue(
                "300ms".matches(at(spec, "hotStandby").getPattern())
                        && "1.5s".matches(at(spec, "hotStandby").getPattern())
                        && !"300".matches(at(spec, "hotStandby").getPattern()),
                at(spec, "hotStandby").getPattern());
    }

    @Test
    void crdIsKeptOnUninstallUnlessToldOtherwise() {
        assertEquals("keep", crd().getMetadata().getAnnotations().get("helm.sh/resource-policy"));
        CustomResourceDefinition notKept =
                MsmChart.render(MsmChart.resource("values-custom.yaml")).crd();
        assertTrue(
                notKept.getMetadata().getAnnotations() == null
                        || !notKept.getMetadata()
                                .getAnnotations()
                                .containsKey("helm.sh/resource-policy"));
    }

    @Test
    void crdCanBeLeftOut() {
        Manifests m = MsmChart.render("crds: {install: false}\n");
        assertTrue(m.ofKind("CustomResourceDefinition").isEmpty());
        assertTrue(m.ofKind("DaemonSet").size() == 1, "the rest of the chart stays");
    }
}
