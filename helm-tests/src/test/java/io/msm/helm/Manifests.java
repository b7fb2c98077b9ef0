package io.msm.helm;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What helm template produced, as typed fabric8 objects (kinds fabric8 does not know, like
 * ServiceMonitor, as GenericKubernetesResource).
 */
final class Manifests {
    static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    /** One rendered document and the template it came from. */
    record Document(String source, String yaml, HasMetadata object) {}

    private final List<Document> documents;

    private Manifests(List<Document> documents) {
        this.documents = documents;
    }

    static Manifests parse(String rendered) {
        List<Document> docs = new ArrayList<>();
        for (String part : rendered.split("(?m)^---\\s*$")) {
            if (part.lines().allMatch(l -> l.isBlank() || l.startsWith("#"))) {
                continue;
            }
            String source =
                    part.lines()
                            .filter(l -> l.startsWith("# Source: "))
                            .findFirst()
                            .map(l -> l.substring("# Source: ".length()))
                            .orElse("?");
            HasMetadata o = SERIALIZATION.unmarshal(part, HasMetadata.class);
            docs.add(new Document(source, part, o));
        }
        return new Manifests(docs);
    }

    List<Document> documents() {
        return documents;
    }

    List<HasMetadata> all() {
        return documents.stream().map(Document::object).toList();
    }

    /** Every object of that kind. */
    List<HasMetadata> ofKind(String kind) {
        return all().stream().filter(o -> kind.equals(o.getKind())).toList();
    }

    /** The single object of that kind; fails when there is none or more than one. */
    <T extends HasMetadata> T one(Class<T> type, String kind) {
        List<HasMetadata> found = ofKind(kind);
        if (found.size() != 1) {
            throw new AssertionError(
                    "expected exactly one " + kind + ", rendered " + found.size() + ": " + kinds());
        }
        return type.cast(found.get(0));
    }

    Optional<HasMetadata> find(String kind) {
        List<HasMetadata> found = ofKind(kind);
        return found.isEmpty() ? Optional.empty() : Optional.of(found.get(0));
    }

    DaemonSet daemonSet() {
        return one(DaemonSet.class, "DaemonSet");
    }

    ConfigMap configMap() {
        return one(ConfigMap.class, "ConfigMap");
    }

    /** The StreamRoute CRD. */
    CustomResourceDefinition crd() {
        return crd("streamroutes.msm.io");
    }

    /** The CRD of that name; fails when there is none. */
    CustomResourceDefinition crd(String name) {
        return ofKind("CustomResourceDefinition").stream()
                .filter(o -> name.equals(o.getMetadata().getName()))
                .map(CustomResourceDefinition.class::cast)
                .findFirst()
                .orElseThrow(() -> new AssertionError("no CRD " + name + ": " + kinds()));
    }

    GenericKubernetesResource serviceMonitor() {
        return one(GenericKubernetesResource.class, "ServiceMonitor");
    }

    List<String> kinds() {
        return all().stream().map(HasMetadata::getKind).toList();
    }

    /**
     * Fields fabric8 did not recognise, as "Kind/name: path.field" — a misspelt or misplaced key in
     * a template that Kubernetes would reject or ignore. fabric8 keeps such keys in
     * additionalProperties instead of failing.
     */
    List<String> unknownFields() {
        List<String> out = new ArrayList<>();
        for (HasMetadata o : all()) {
            if (o instanceof GenericKubernetesResource) {
                continue; // no typed model to check against
            }
            collectUnknown(o, o.getKind() + "/" + o.getMetadata().getName() + ":", out);
        }
        return out;
    }

    private static void collectUnknown(Object o, String path, List<String> out) {
        if (o == null) {
            return;
        }
        if (o instanceof List<?> list) {
            for (int i = 0; i < list.size(); i++) {
                collectUnknown(list.get(i), path + "[" + i + "]", out);
            }
            return;
        }
        if (o instanceof Map<?, ?> map) {
            map.forEach((k, v) -> collectUnknown(v, path + "[" + k + "]", out));
            return;
        }
        if (!o.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
            return; // strings, numbers, JsonNode (schema defaults and enums), ...
        }
        for (Method m : o.getClass().getMethods()) {
            if (m.getParameterCount() != 0
                    || Modifier.isStatic(m.getModifiers())
                    || !m.getName().startsWith("get")
                    || m.getDeclaringClass() == Object.class) {
                continue;
            }
            Object v;
            try {
                v = m.invoke(o);
            } catch (IllegalAccessException | InvocationTargetException e) {
                continue;
            }
            if (m.getName().equals("getAdditionalProperties") && v instanceof Map<?, ?> extra) {
                extra.keySet().forEach(k -> out.add(path + " " + k));
            } else {
                String field =
                        Character.toLowerCase(m.getName().charAt(3)) + m.getName().substring(4);
                collectUnknown(v, path + "." + field, out);
            }
        }
    }
}
