package io.msm.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The metrics Service and the optional ServiceMonitor. */
class MetricsTest {
    @Test
    void serviceExposesTheAgentsMetricsPort() {
        Manifests m = MsmChart.render();
        Service s = m.one(Service.class, "Service");
        assertEquals("ClusterIP", s.getSpec().getType());
        assertEquals(1, s.getSpec().getPorts().size());
        ServicePort p = s.getSpec().getPorts().get(0);
        assertEquals("http-metrics", p.getName());
        assertEquals(9469, p.getPort());
        // by number: with upgrade.handover (the default) the pod declares no named ports
        assertEquals(9469, p.getTargetPort().getIntVal());
        Map<String, String> podLabels =
                m.daemonSet().getSpec().getTemplate().getMetadata().getLabels();
        s.getSpec()
                .getSelector()
                .forEach((k, v) -> assertEquals(v, podLabels.get(k), "selector " + k));
    }

    @Test
    void noServiceMonitorByDefault() {
        assertTrue(MsmChart.render().ofKind("ServiceMonitor").isEmpty());
    }

    @Test
    @SuppressWarnings("unchecked")
    void serviceMonitorWhenEnabledScrapesTheService() {
        Manifests m = MsmChart.render(MsmChart.resource("values-custom.yaml"));
        GenericKubernetesResource sm = m.serviceMonitor();
        assertEquals("monitoring.coreos.com/v1", sm.getApiVersion());
        assertEquals("prometheus", sm.getMetadata().getLabels().get("release"));
        Map<String, Object> spec = (Map<String, Object>) sm.getAdditionalProperties().get("spec");
        Map<String, String> selector =
                (Map<String, String>)
                        ((Map<String, Object>) spec.get("selector")).get("matchLabels");
        Service s = m.one(Service.class, "Service");
        selector.forEach(
                (k, v) ->
                        assertEquals(
                                v,
                                s.getMetadata().getLabels().get(k),
                                "ServiceMonitor selects " + k));
        List<Map<String, Object>> endpoints = (List<Map<String, Object>>) spec.get("endpoints");
        assertEquals(1, endpoints.size());
        assertEquals("http-metrics", endpoints.get(0).get("port"));
        assertEquals("/metrics", endpoints.get(0).get("path"));
        assertEquals("15s", endpoints.get(0).get("interval"));
        assertEquals("5s", endpoints.get(0).get("scrapeTimeout"));
        assertEquals(1, ((List<?>) endpoints.get(0).get("relabelings")).size());
        assertEquals(19469, s.getSpec().getPorts().get(0).getPort());
    }

    @Test
    void serviceMonitorWithoutServiceIsRefusedWithAReason() {
        IllegalStateException e =
                assertThrows(
                        IllegalStateException.class,
                        () ->
                                MsmChart.template(
                                        "service: {enabled: false}\nserviceMonitor: {enabled: true}\n"));
        assertTrue(
                e.getMessage().contains("serviceMonitor.enabled=true needs service.enabled=true"),
                e.getMessage());
    }
}
