package io.msm.kernel.intercept;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.msm.agent.k8s.NodeAwareMock;
import io.msm.testkit.Netns;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A Kubernetes API for an agent running as a process in a test namespace: fabric8's CRUD mock on
 * the test's loopback, taught the pods' spec.nodeName field selector (the agent watches its node's
 * pods with it; the mock indexes only metadata), and a relay listening on 127.0.0.1:PORT inside the
 * namespace that forwards each connection to the mock.
 */
public final class ApiServer implements AutoCloseable {
    private final NodeAwareMock mock;
    final KubernetesMockServer server;
    public final KubernetesClient client;
    private final List<ServerSocket> relays = new CopyOnWriteArrayList<>();

    /**
     * The agent module's node-aware CRUD mock (spec.nodeName field selector on pods), on loopback.
     */
    public ApiServer() {
        mock = new NodeAwareMock(InetAddress.getLoopbackAddress());
        server = mock.server;
        client = mock.client;
    }

    /**
     * Listen on 127.0.0.1:port inside ns and forward to the mock; returns the kubeconfig text for
     * it.
     */
    public String relayFrom(Netns ns, int port) {
        ServerSocket relay =
                ns.call(
                        () -> {
                            ServerSocket s = new ServerSocket();
                            s.setReuseAddress(true);
                            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
                            return s;
                        });
        relays.add(relay);
        Thread t = new Thread(() -> relay(relay), "api-relay");
        t.setDaemon(true);
        t.start();
        return "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: http://127.0.0.1:"
                + port
                + "\ncontexts:\n- name: test\n  context:\n    cluster: test\n    user: test\n    namespace: default\n"
                + "current-context: test\nusers:\n- name: test\n  user:\n    token: test\n";
    }

    private void relay(ServerSocket relay) {
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
        Thread t =
                new Thread(
                        () -> {
                            byte[] buf = new byte[16384];
                            try (InputStream i = from.getInputStream();
                                    OutputStream o = to.getOutputStream()) {
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
                        },
                        "api-relay-pump");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() throws IOException {
        for (ServerSocket relay : relays) {
            relay.close();
        }
        mock.close();
    }
}
