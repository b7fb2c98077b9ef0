package io.msm.agent.rtsp;

import io.msm.agent.net.Transport;
import io.msm.agent.rtsp.client.RtspClient;
import io.msm.agent.rtsp.wire.RtspHeaders;
import io.msm.agent.rtsp.wire.RtspResponse;
import io.netty.channel.EventLoopGroup;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** A blocking RTSP client over {@link RtspClient}, for tests. */
final class RtspTestClient implements AutoCloseable {
    static final EventLoopGroup GROUP = Transport.group(1, "rtsp-test-client");
    final RtspClient c;
    final String base;
    String session;

    RtspTestClient(InetSocketAddress server, String path) throws Exception {
        this(server, path, null, null, null);
    }

    /**
     * From {@code from} (another loopback address is another source), answering challenges with
     * {@code user}/{@code password} when not null.
     */
    RtspTestClient(
            InetSocketAddress server, String path, InetAddress from, String user, String password)
            throws Exception {
        c =
                RtspClient.connect(
                                GROUP,
                                server,
                                from == null ? null : new InetSocketAddress(from, 0),
                                Duration.ofSeconds(5),
                                8192,
                                65536)
                        .get(5, TimeUnit.SECONDS);
        if (user != null) {
            c.credentials(user, password);
        }
        base =
                "rtsp://"
                        + server.getAddress().getHostAddress()
                        + ":"
                        + server.getPort()
                        + "/"
                        + path;
    }

    RtspResponse send(String method, String uri, String... headers) throws Exception {
        return sendBody(method, uri, null, headers);
    }

    RtspResponse sendBody(String method, String uri, String body, String... headers)
            throws Exception {
        RtspHeaders h = new RtspHeaders();
        for (int i = 0; i < headers.length; i += 2) {
            h.add(headers[i], headers[i + 1]);
        }
        if (session != null && h.get("Session").isEmpty()) {
            h.add("Session", session);
        }
        RtspResponse r =
                c.request(
                                method,
                                uri,
                                h,
                                body == null ? null : body.getBytes(StandardCharsets.UTF_8))
                        .get(10, TimeUnit.SECONDS);
        String s = r.headers().getOrNull("Session");
        if (s != null && session == null) {
            session = s.split(";")[0];
        }
        return r;
    }

    /** server_port's first port from a SETUP response. */
    static int serverPort(RtspResponse r) {
        String t = r.headers().getOrNull("Transport");
        int i = t.indexOf("server_port=");
        return Integer.parseInt(t.substring(i + 12).split("[-;]")[0]);
    }

    @Override
    public void close() {
        c.close();
    }
}
