package io.msm.agent.k8s.crd;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** status of a StreamRoute: conditions (Accepted, BackendsReady, Ready) and per-backend health. */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public class StreamRouteStatus {
    public List<Condition> conditions = new ArrayList<>();
    public List<BackendStatus> backends = new ArrayList<>();

    @JsonIgnoreProperties(ignoreUnknown = true)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class BackendStatus {
        /** "namespace/service:port" or the url. */
        public String name;

        public boolean ready;

        /** CamelCase reason when not ready; null when ready. */
        public String reason;

        public BackendStatus() {}

        public BackendStatus(String name, boolean ready, String reason) {
            this.name = name;
            this.ready = ready;
            this.reason = reason;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof BackendStatus b
                    && ready == b.ready
                    && Objects.equals(name, b.name)
                    && Objects.equals(reason, b.reason);
        }

        @Override
        public int hashCode() {
            return Objects.hash(name, ready, reason);
        }

        @Override
        public String toString() {
            return name + (ready ? " ready" : " not ready (" + reason + ")");
        }
    }
}
