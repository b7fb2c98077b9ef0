package io.msm.agent.k8s;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.fabric8.kubernetes.client.informers.cache.Indexer;
import io.msm.agent.k8s.route.Route;
import io.msm.agent.k8s.route.ServiceEndpoints;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Resolves a Service port to endpoint addresses from the informers' caches: the Service gives the
 * port's name, the EndpointSlices labelled with the Service's name give, for that port name, the
 * target port and the ready endpoints (ready unset counts as ready, as the API defines).
 */
final class EndpointSliceIndex implements ServiceEndpoints {
    static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";
    static final String BY_SERVICE = "byService";

    private final Indexer<Service> services;
    private final Indexer<EndpointSlice> slices;

    EndpointSliceIndex(Indexer<Service> services, Indexer<EndpointSlice> slices) {
        this.services = services;
        this.slices = slices;
    }

    /** Index function for the slice informer: "namespace/service". */
    static List<String> byService(EndpointSlice s) {
        String svc =
                s.getMetadata().getLabels() == null
                        ? null
                        : s.getMetadata().getLabels().get(SERVICE_NAME_LABEL);
        return svc == null ? List.of() : List.of(s.getMetadata().getNamespace() + "/" + svc);
    }

    @Override
    public Resolution resolve(Route.ServiceRef ref) {
        Service svc = services.getByKey(Cache.namespaceKeyFunc(ref.namespace(), ref.name()));
        if (svc == null) {
            return Resolution.problem(
                    "ServiceNotFound", "no Service " + ref.namespace() + "/" + ref.name());
        }
        ServicePort port = null;
        List<ServicePort> ports =
                svc.getSpec() == null || svc.getSpec().getPorts() == null
                        ? List.of()
                        : svc.getSpec().getPorts();
        for (ServicePort p : ports) {
            if (p.getPort() != null
                    && p.getPort() == ref.port()
                    && (p.getProtocol() == null || p.getProtocol().equals("TCP"))) {
                port = p;
            }
        }
        if (port == null) {
            return Resolution.problem(
                    "PortNotFound",
                    "Service "
                            + ref.namespace()
                            + "/"
                            + ref.name()
                            + " has no TCP port "
                            + ref.port());
        }
        String portName = port.getName() == null ? "" : port.getName();
        Set<InetSocketAddress> out = new LinkedHashSet<>();
        for (EndpointSlice s : slices.byIndex(BY_SERVICE, ref.namespace() + "/" + ref.name())) {
            if ("FQDN".equals(s.getAddressType())) {
                continue;
            }
            Integer target = null;
            for (EndpointPort ep : s.getPorts() == null ? List.<EndpointPort>of() : s.getPorts()) {
                String n = ep.getName() == null ? "" : ep.getName();
                if (n.equals(portName)
                        && (ep.getProtocol() == null || ep.getProtocol().equals("TCP"))) {
                    target = ep.getPort();
                }
            }
            if (target == null) {
                continue;
            }
            for (Endpoint e : s.getEndpoints() == null ? List.<Endpoint>of() : s.getEndpoints()) {
                boolean ready =
                        e.getConditions() == null
                                || !Objects.equals(e.getConditions().getReady(), Boolean.FALSE);
                if (!ready || e.getAddresses() == null) {
                    continue;
                }
                for (String a : e.getAddresses()) {
                    try {
                        out.add(new InetSocketAddress(InetAddress.getByName(a), target));
                    } catch (UnknownHostException ignored) {
                        // not an address literal: skipped (addressType says IP)
                    }
                }
            }
        }
        List<InetSocketAddress> sorted = new ArrayList<>(out);
        sorted.sort(
                Comparator.comparing((InetSocketAddress a) -> a.getAddress().getHostAddress())
                        .thenComparingInt(InetSocketAddress::getPort));
        return Resolution.of(sorted);
    }
}
