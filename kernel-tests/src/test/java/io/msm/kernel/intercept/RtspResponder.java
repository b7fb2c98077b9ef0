package io.msm.kernel.intercept;

import io.msm.testkit.Netns;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Stands in for the node's RTSP proxy: listens in the node namespace and answers every request with
 * 200 OK, remembering who asked what (the client's address and the request line, which carries the
 * original URL).
 */
final class RtspResponder implements AutoCloseable {
    record Seen(InetSocketAddress from, String requestLine) {}

    private final ServerSocket server;
    final List<Seen> seen = new CopyOnWriteArrayList<>();

    RtspResponder(Netns ns, InetAddress addr, int port) {
        server =
                ns.call(
                        () -> {
                            ServerSocket s = new ServerSocket();
                            s.setReuseAddress(true);
                            s.bind(new InetSocketAddress(addr, port));
                            return s;
                        });
        Thread t = new Thread(this::serve, "rtsp-responder");
        t.setDaemon(true);
        t.start();
    }

    private void serve() {
        while (!server.isClosed()) {
            try (Socket c = server.accept()) {
                c.setSoTimeout(5000);
                InputStream in = c.getInputStream();
                StringBuilder head = new StringBuilder();
                int b;
                while ((b = in.read()) >= 0) {
                    head.append((char) b);
                    if (head.length() >= 4
                            && head.substring(head.length() - 4).equals("\r\n\r\n")) {
                        break;
                    }
                }
                String line = head.toString().split("\r\n", 2)[0];
                seen.add(new Seen((InetSocketAddress) c.getRemoteSocketAddress(), line));
                OutputStream out = c.getOutputStream();
                out.write(
                        ("RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n")
                                .getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } catch (IOException e) {
                // closed, or a client gave up: next
            }
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
