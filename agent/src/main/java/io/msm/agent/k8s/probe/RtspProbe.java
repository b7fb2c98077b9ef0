package io.msm.agent.k8s.probe;

import io.msm.agent.routing.Failure;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * A minimal RTSP client that asks a backend whether it is alive: OPTIONS on a fresh TCP connection,
 * then DESCRIBE of the stream when one is given, all within one deadline. Alive means the OPTIONS
 * answer is RTSP and the DESCRIBE answer is 2xx (or 401: the stream exists behind authentication).
 * Blocking I/O on the caller's thread: the prober runs it on its own small pool.
 */
public final class RtspProbe {
    private static final int MAX_HEADER = 16 * 1024;

    private RtspProbe() {}

    /** Empty when alive, else why not. */
    public static Optional<Failure> probe(String host, int port, URI describe, Duration timeout) {
        return probe(host, port, describe, timeout, false);
    }

    /**
     * The same over TLS when {@code tls} (an rtsps:// backend). The probe tells liveness only: it
     * does not verify the server's certificate (it sends no credentials and trusts nothing it
     * hears); the pull itself verifies it against rtsp.upstream-tls and fails — counted, logged,
     * reported to the route — when it does not pass.
     */
    public static Optional<Failure> probe(
            String host, int port, URI describe, Duration timeout, boolean tls) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Socket s = new Socket()) {
            try {
                s.connect(new InetSocketAddress(host, port), (int) Math.max(1, timeout.toMillis()));
            } catch (ConnectException e) {
                return Optional.of(
                        Failure.of(
                                Failure.Kind.CONNECT_FAILED,
                                host + ":" + port + ": " + e.getMessage()));
            } catch (SocketTimeoutException e) {
                return Optional.of(
                        Failure.of(
                                Failure.Kind.CONNECT_FAILED,
                                host
                                        + ":"
                                        + port
                                        + ": no answer within "
                                        + timeout.toMillis()
                                        + " ms"));
            } catch (IOException e) {
                return Optional.of(
                        Failure.of(
                                Failure.Kind.CONNECT_FAILED,
                                host + ":" + port + ": " + e.getMessage()));
            }
            Socket io = s;
            if (tls) {
                try {
                    io = handshake(s, host, port, timeout);
                } catch (IOException e) {
                    return Optional.of(
                            Failure.of(
                                    Failure.Kind.CONNECT_FAILED,
                                    host + ":" + port + ": TLS handshake: " + e.getMessage()));
                }
            }
            OutputStream out = io.getOutputStream();
            InputStream in = io.getInputStream();
            String base =
                    (tls ? "rtsps://" : "rtsp://")
                            + (host.contains(":") ? "[" + host + "]" : host)
                            + ":"
                            + port;
            int status =
                    request(
                            io,
                            out,
                            in,
                            "OPTIONS "
                                    + (describe != null ? describe : URI.create(base + "/"))
                                    + " RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: msm-agent probe\r\n\r\n",
                            deadline);
            if (status < 0) {
                return Optional.of(
                        Failure.of(Failure.Kind.DESCRIBE_FAILED, "OPTIONS: not an RTSP answer"));
            }
            if (describe == null) {
                return Optional
                        .empty(); // no concrete stream to ask for: an RTSP server answering is
                // alive
            }
            status =
                    request(
                            io,
                            out,
                            in,
                            "DESCRIBE "
                                    + describe
                                    + " RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n"
                                    + "User-Agent: msm-agent probe\r\n\r\n",
                            deadline);
            if ((status >= 200 && status < 300) || status == 401) {
                return Optional.empty();
            }
            if (status == 404) {
                return Optional.of(
                        Failure.of(
                                Failure.Kind.STREAM_NOT_FOUND, "DESCRIBE " + describe + ": 404"));
            }
            return Optional.of(
                    Failure.of(
                            Failure.Kind.DESCRIBE_FAILED,
                            "DESCRIBE "
                                    + describe
                                    + ": "
                                    + (status < 0 ? "not an RTSP answer" : "status " + status)));
        } catch (SocketTimeoutException e) {
            return Optional.of(
                    Failure.of(
                            Failure.Kind.DESCRIBE_FAILED,
                            host
                                    + ":"
                                    + port
                                    + ": no answer within "
                                    + timeout.toMillis()
                                    + " ms"));
        } catch (IOException e) {
            return Optional.of(
                    Failure.of(
                            Failure.Kind.DESCRIBE_FAILED,
                            host + ":" + port + ": " + e.getMessage()));
        }
    }

    /** TLS over the connected socket, without checking the certificate (liveness only). */
    private static Socket handshake(Socket s, String host, int port, Duration timeout)
            throws IOException {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {new LivenessOnly()}, null);
            SSLSocket t = (SSLSocket) ctx.getSocketFactory().createSocket(s, host, port, true);
            t.setSoTimeout((int) Math.max(1, timeout.toMillis()));
            t.startHandshake();
            return t;
        } catch (GeneralSecurityException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** Accepts any certificate: the probe asks whether something answers, never whom it trusts. */
    @SuppressWarnings("TrustAllCertificates")
    private static final class LivenessOnly implements X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }

    /** Send a request and read the answer's head; the status code, or -1 when it is not RTSP. */
    private static int request(
            Socket s, OutputStream out, InputStream in, String req, long deadline)
            throws IOException {
        out.write(req.getBytes(StandardCharsets.US_ASCII));
        out.flush();
        StringBuilder head = new StringBuilder();
        while (head.length() < MAX_HEADER) {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                throw new SocketTimeoutException("deadline");
            }
            s.setSoTimeout((int) left);
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.append((char) b);
            if (head.length() >= 4
                    && head.charAt(head.length() - 1) == '\n'
                    && head.substring(head.length() - 4).equals("\r\n\r\n")) {
                break;
            }
        }
        String h = head.toString();
        int len = contentLength(h);
        for (int i = 0; i < len; i++) { // skip the body (the SDP): the connection is used once more
            if (in.read() < 0) {
                break;
            }
        }
        if (!h.startsWith("RTSP/1.0 ") || h.length() < 12) {
            return -1;
        }
        try {
            return Integer.parseInt(h.substring(9, 12));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static int contentLength(String head) {
        for (String line : head.split("\r\n")) {
            int c = line.indexOf(':');
            if (c > 0 && line.substring(0, c).trim().equalsIgnoreCase("Content-Length")) {
                try {
                    return Math.min(1 << 20, Integer.parseInt(line.substring(c + 1).trim()));
                } catch (NumberFormatException e) {
                    return 0;
                }
            }
        }
        return 0;
    }
}
