package io.msm.agent.k8s.crd;

import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * The StreamPolicy custom resource (msm.io/v1alpha1, namespaced), as the chart's CRD
 * (helm/msm/templates/crd-streampolicy.yaml) defines it: who may publish to and watch the RTSP
 * paths it matches, by namespace, ServiceAccount and pod labels. It covers any path — published to
 * the agent, configured, or routed by a StreamRoute.
 */
@Group(StreamRoute.GROUP)
@Version(StreamRoute.VERSION)
@Kind("StreamPolicy")
@Plural("streampolicies")
@Singular("streampolicy")
public class StreamPolicy extends CustomResource<StreamPolicySpec, StreamPolicyStatus>
        implements Namespaced {
    private static final long serialVersionUID = 1L;

    /** "namespace/name". */
    public String key() {
        return getMetadata().getNamespace() + "/" + getMetadata().getName();
    }
}
