package io.msm.agent.k8s.route;

import java.net.InetSocketAddress;
import java.util.List;

/** Resolves a Service port to the addresses of its ready endpoints (from EndpointSlices). */
public interface ServiceEndpoints {
    /**
     * @param endpoints ready endpoint addresses with the target port, sorted
     * @param problem CamelCase reason when there are none (ServiceNotFound, PortNotFound,
     *     NoEndpoints), else null
     */
    record Resolution(List<InetSocketAddress> endpoints, String problem, String detail) {
        public static Resolution of(List<InetSocketAddress> endpoints) {
            return endpoints.isEmpty()
                    ? new Resolution(List.of(), "NoEndpoints", "no ready endpoints")
                    : new Resolution(List.copyOf(endpoints), null, null);
        }

        public static Resolution problem(String reason, String detail) {
            return new Resolution(List.of(), reason, detail);
        }
    }

    Resolution resolve(Route.ServiceRef service);
}
