package io.msm.agent.k8s.crd;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/**
 * status of a StreamPolicy: conditions (Accepted, Enforced) and how many publish and watch rules
 * are enforced (null: that action is not restricted).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public class StreamPolicyStatus {
    public List<Condition> conditions = new ArrayList<>();
    public Integer publishRules;
    public Integer watchRules;
}
