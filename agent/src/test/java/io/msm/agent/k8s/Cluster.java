package io.msm.agent.k8s;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.msm.agent.k8s.crd.StreamRoute;
import io.msm.agent.k8s.crd.StreamRouteSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;

/** Builders for what the tests put into the mock API server. */
final class Cluster {
    final KubernetesClient client;

    Cluster(KubernetesClient client) {
        this.client = client;
    }

    void namespace(String name, Map<String, String> labels) {
        client.namespaces()
                .resource(
                        new NamespaceBuilder()
                                .withNewMetadata()
                                .withName(name)
                                .withLabels(labels)
                                .endMetadata()
                                .build())
                .create();
    }

    Pod pod(String ns, String name, String node, Map<String, String> labels, boolean hostNetwork) {
        return client.pods()
                .inNamespace(ns)
                .resource(
                        new PodBuilder()
                                .withNewMetadata()
                                .withName(name)
                                .withNamespace(ns)
                                .withUid(UUID.randomUUID().toString())
                                .withLabels(labels)
                                .endMetadata()
                                .withNewSpec()
                                .withNodeName(node)
                                .withHostNetwork(hostNetwork)
                                .endSpec()
                                .withNewStatus()
                                .withPhase("Running")
                                .withHostIP(node.equals("node-a") ? "192.0.2.10" : "192.0.2.20")
                                .withQosClass("BestEffort")
                                .endStatus()
                                .build())
                .create();
    }

    /** A Service with one TCP port named "rtsp". */
    void service(String ns, String name, int port) {
        client.services()
                .inNamespace(ns)
                .resource(
                        new ServiceBuilder()
                                .withNewMetadata()
                                .withName(name)
                                .withNamespace(ns)
                                .endMetadata()
                                .withNewSpec()
                                .addNewPort()
                                .withName("rtsp")
                                .withPort(port)
                                .withProtocol("TCP")
                                .endPort()
                                .endSpec()
                                .build())
                .create();
    }

    /**
     * An EndpointSlice of service with the given ready addresses on targetPort (port name "rtsp").
     */
    EndpointSlice slice(
            String ns, String service, String sliceName, int targetPort, List<String> addresses) {
        EndpointSliceBuilder b =
                new EndpointSliceBuilder()
                        .withNewMetadata()
                        .withName(sliceName)
                        .withNamespace(ns)
                        .withLabels(Map.of(EndpointSliceIndex.SERVICE_NAME_LABEL, service))
                        .endMetadata()
                        .withAddressType("IPv4")
                        .addNewPort()
                        .withName("rtsp")
                        .withPort(targetPort)
                        .withProtocol("TCP")
                        .endPort();
        for (String a : addresses) {
            b.addNewEndpoint()
                    .withAddresses(a)
                    .withNewConditions()
                    .withReady(true)
                    .endConditions()
                    .endEndpoint();
        }
        return client.discovery()
                .v1()
                .endpointSlices()
                .inNamespace(ns)
                .resource(b.build())
                .createOr(r -> r.update());
    }

    static StreamRouteSpec.BackendRef service(String ns, String name, int port, int weight) {
        StreamRouteSpec.BackendRef b = new StreamRouteSpec.BackendRef();
        b.service = new StreamRouteSpec.ServiceRef();
        b.service.name = name;
        b.service.namespace = ns;
        b.service.port = port;
        b.weight = weight;
        return b;
    }

    static StreamRouteSpec.BackendRef url(String url, int weight) {
        StreamRouteSpec.BackendRef b = new StreamRouteSpec.BackendRef();
        b.url = url;
        b.weight = weight;
        return b;
    }

    StreamRoute route(
            String ns,
            String name,
            String host,
            String type,
            String path,
            List<StreamRouteSpec.BackendRef> backends) {
        StreamRoute sr = new StreamRoute();
        sr.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns).build());
        StreamRouteSpec s = new StreamRouteSpec();
        s.match = new StreamRouteSpec.Match();
        s.match.host = host;
        s.match.path = new StreamRouteSpec.PathMatch();
        s.match.path.type = type;
        s.match.path.value = path;
        s.backends = new ArrayList<>(backends);
        sr.setSpec(s);
        return client.resources(StreamRoute.class).inNamespace(ns).resource(sr).create();
    }

    StreamRoute get(String ns, String name) {
        return client.resources(StreamRoute.class).inNamespace(ns).withName(name).get();
    }

    /** Change a route's spec (bumps metadata.generation). */
    StreamRoute edit(String ns, String name, Consumer<StreamRouteSpec> change) {
        for (int attempt = 0; ; attempt++) {
            try {
                return client.resources(StreamRoute.class)
                        .inNamespace(ns)
                        .withName(name)
                        .edit(
                                sr -> {
                                    change.accept(sr.getSpec());
                                    return sr;
                                });
            } catch (KubernetesClientException e) {
                // the agent wrote status in between: read again and retry, as kubectl edit would
                if (e.getCode() != 409 || attempt == 10) {
                    throw e;
                }
            }
        }
    }
}
