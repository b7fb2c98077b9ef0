package io.msm.agent.k8s;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.CustomResourceDefinitionProcessor;
import io.fabric8.kubernetes.client.server.mock.KubernetesAttributesExtractor;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.crud.Attribute;
import io.fabric8.mockwebserver.crud.AttributeSet;
import io.fabric8.mockwebserver.crud.CrudDispatcher;
import java.lang.reflect.Field;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * fabric8's CRUD mock API server, made to honour the field selector {@code spec.nodeName=NODE} on
 * pods as the real API server does. The mock indexes only metadata (name, namespace, labels), so a
 * node-filtered informer would otherwise see no pod at all and the test "only pods of this node are
 * watched" could not fail for the right reason. The extractor is swapped in by reflection: the mock
 * (7.5.2) offers no constructor for it.
 */
public final class NodeAwareMock implements AutoCloseable {
    // the mock logs every request at INFO through java.util.logging: keep test output readable
    private static final Logger MOCK_LOG = quiet();

    private static Logger quiet() {
        Logger l = Logger.getLogger("io.fabric8.mockwebserver");
        l.setLevel(Level.WARNING);
        return l;
    }

    public final KubernetesMockServer server;
    public final KubernetesClient client;

    public NodeAwareMock() {
        this(null);
    }

    /**
     * @param bind the address to listen on (null: the mock's default)
     */
    public NodeAwareMock(InetAddress bind) {
        KubernetesCrudDispatcher dispatcher = new KubernetesCrudDispatcher(List.of());
        try {
            Field crd = KubernetesCrudDispatcher.class.getDeclaredField("crdProcessor");
            crd.setAccessible(true);
            NodeFieldExtractor x = new NodeFieldExtractor();
            x.setCustomResourceDefinitionProcessor(
                    (CustomResourceDefinitionProcessor) crd.get(dispatcher));
            Field own =
                    KubernetesCrudDispatcher.class.getDeclaredField(
                            "kubernetesAttributesExtractor");
            own.setAccessible(true);
            own.set(dispatcher, x);
            Field base = CrudDispatcher.class.getDeclaredField("attributeExtractor");
            base.setAccessible(true);
            base.set(dispatcher, x);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("fabric8's mock changed its fields: " + e, e);
        }
        server =
                new KubernetesMockServer(
                        new Context(), new MockWebServer(), new HashMap<>(), dispatcher, false);
        if (bind == null) {
            server.init();
        } else {
            server.init(bind, 0);
        }
        client = server.createClient();
    }

    /** Adds spec.nodeName to a pod's indexed attributes. */
    static final class NodeFieldExtractor extends KubernetesAttributesExtractor {
        @Override
        public AttributeSet extract(HasMetadata o) {
            AttributeSet s = super.extract(o);
            String node = null;
            if (o instanceof Pod p && p.getSpec() != null) {
                node = p.getSpec().getNodeName();
            } else if (o instanceof GenericKubernetesResource g && "Pod".equals(g.getKind())) {
                Object v = g.get("spec", "nodeName");
                node = v == null ? null : v.toString();
            }
            if (node != null) {
                s = s.add(new Attribute("spec.nodeName", node));
            }
            return s;
        }
    }

    @Override
    public void close() {
        client.close();
        server.destroy();
    }
}
