package io.msm.kernel.intercept;

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
import io.msm.testkit.Netns;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Field;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.HashMap;
import java.util.List;

/**
 * A Kubernetes API for an agent running as a process in a test namespace:
 * fabric8's CRUD mock on the test's loopback, taught the pods' spec.nodeName
 * field selector (the agent watches its node's pods with it; the mock indexes
 * only metadata), and a relay listening on 127.0.0.1:PORT inside the
 * namespace that forwards each connection to the mock.
 */
final class ApiServer implements AutoCloseable {
    // the mock logs every request at INFO through java.util.logging: keep test output readable
    private static final java.util.logging.Logger MOCK_LOG = quiet();

    private static java.util.logging.Logger quiet() {
        java.util.logging.Logger l = java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");
        l.setLevel(java.util.logging.Level.WARNING);
        return l;
    }

    final KubernetesMockServer server;
    final KubernetesClient client;
    private ServerSocket relay;

    ApiServer() {
        KubernetesCrudDispatcher dispatcher = new KubernetesCrudDispatcher(List.of());
        try {
            Field crd = KubernetesCrudDispatcher.class.getDeclaredField("crdProcessor");
            crd.setAccessible(true);
            NodeFieldExtractor x = new NodeFieldExtractor();
            x.setCustomResourceDefinitionProcessor((CustomResourceDefinitionProcessor) crd.get(dispatcher));
            Field own = KubernetesCrudDispatcher.class.getDeclaredField("kubernetesAttributesExtractor");
            own.setAccessible(true);
            own.set(dispatcher, x);
            Field base = CrudDispatcher.class.getDeclaredField("attributeExtractor");
            base.setAccessible(true);
            base.set(dispatcher, x);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("fabric8's mock changed its fields: " + e, e);
        }
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        client = server.createClient();
    }

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
            return node == null ? s : s.add(new Attribute("spec.nodeName", node));
        }
    }

    /** Listen on 127.0.0.1:port inside ns and forward to the mock; returns the kubeconfig text for it. */
    String relayFrom(Netns ns, int port) {
        relay = ns.call(() -> {
            ServerSocket s = new ServerSocket();
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            return s;
        });
        Thread t = new Thread(this::relay, "api-relay");
        t.setDaemon(true);
        t.start();
        return "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: http://127.0.0.1:" + port
                + "\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: test\n    namespace: default\n"
                + "current-context: test\nusers:\n- name: test\n  user:\n    token: test\n";
    }

    private void relay() {
        while (!relay.isClosed()) {
            try {
                Socket in = relay.accept();
                // this thread is in the test's own namespace: the mock's loopback
                Socket out = new Socket(InetAddress.getLoopbackAddress(), server.getPort());
                pump(in, out);
                pump(out, in);
            } catch (IOException e) {
                return;
            }
        }
    }

    private static void pump(Socket from, Socket to) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16384];
            try (InputStream i = from.getInputStream(); OutputStream o = to.getOutputStream()) {
                int n;
                while ((n = i.read(buf)) >= 0) {
                    o.write(buf, 0, n);
                    o.flush();
                }
            } catch (IOException e) {
                // one side closed
            } finally {
                try {
                    from.close();
                    to.close();
                } catch (IOException ignored) {
                    // closing
                }
            }
        }, "api-relay-pump");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() throws IOException {
        if (relay != null) {
            relay.close();
        }
        client.close();
        server.destroy();
    }
}
