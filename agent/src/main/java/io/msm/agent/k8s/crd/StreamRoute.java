package io.msm.agent.k8s.crd;

import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * The StreamRoute custom resource (msm.io/v1alpha1, namespaced), as the chart's CRD
 * (helm/msm/templates/crd-streamroute.yaml) defines it: RTSP requests matching a host and path go
 * to weighted backends.
 */
@Group(StreamRoute.GROUP)
@Version(StreamRoute.VERSION)
@Kind("StreamRoute")
@Plural("streamroutes")
@Singular("streamroute")
public class StreamRoute extends CustomResource<StreamRouteSpec, StreamRouteStatus>
        implements Namespaced {
    private static final long serialVersionUID = 1L;

    public static final String GROUP = "msm.io";
    public static final String VERSION = "v1alpha1";

    /** "namespace/name": how routes are keyed and named in logs and metrics. */
    public String key() {
        return getMetadata().getNamespace() + "/" + getMetadata().getName();
    }
}
