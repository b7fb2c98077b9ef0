package io.msm.agent.k8s.crd;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.ArrayList;
import java.util.List;

/** spec of a StreamRoute. Field names are the CRD's; the API server has validated them. */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public class StreamRouteSpec {
    public Match match;
    public List<BackendRef> backends = new ArrayList<>();
    public FailureDetection failureDetection;

    /**
     * Hot standby, e.g. "300ms": each upstream session pulls a second target of the route (another
     * endpoint of the Service, or the next backend) into the same relays; the kernel forwards the
     * standby's RTP once the active target's has been silent this long. 20ms..10s; null: none.
     */
    public String hotStandby;

    @JsonIgnoreProperties(ignoreUnknown = true)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Match {
        /** Host of the RTSP URL; "*.example.com" matches one label; null: any host. */
        public String host;

        public PathMatch path;
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class PathMatch {
        /** Exact or PathPrefix (the CRD's default). */
        public String type;

        public String value;
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class BackendRef {
        public ServiceRef service;

        /** rtsp:// or rtsps://host[:port][/path] outside the cluster. */
        public String url;

        /** 0..1000, default 1; 0 drains. */
        public Integer weight;
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class ServiceRef {
        public String name;

        /** null: the route's own namespace. */
        public String namespace;

        public Integer port;
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class FailureDetection {
        public Integer describeTimeoutSeconds;
        public Integer rtpTimeoutSeconds;
    }
}
