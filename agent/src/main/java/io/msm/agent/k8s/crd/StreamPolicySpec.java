package io.msm.agent.k8s.crd;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Map;

/** spec of a StreamPolicy. Field names are the CRD's. */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public class StreamPolicySpec {
    public StreamRouteSpec.Match match;

    /** Who may publish (ANNOUNCE/RECORD); absent: publishing is not restricted by this policy. */
    public List<Peer> publish;

    /** Who may watch (DESCRIBE/SETUP/PLAY); absent: watching is not restricted by this policy. */
    public List<Peer> watch;

    @JsonIgnoreProperties(ignoreUnknown = true)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Peer {
        /** The pod's namespace; absent: the policy's own; "*": any. */
        public String namespace;

        /** The pod's ServiceAccount; absent: any. */
        public String serviceAccount;

        /** Labels the pod must carry; absent: any. */
        public Map<String, String> podLabels;
    }
}
