package io.msm.agent.k8s;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An RTSP origin on a loopback address for the probe tests: answers OPTIONS with 200 and DESCRIBE
 * with 200 + SDP, or with the status set by {@link #describeStatus}; {@link #stop} closes the
 * listener (connects are then refused), {@link #start} listens again on the same port.
 */
final class TinyRtspServer implements AutoCloseable {
    final InetAddress address;
    private volatile int port;
    private volatile ServerSocket server;
    volatile int describeStatus = 200;
    final AtomicInteger describes = new AtomicInteger();

    TinyRtspServer(String address) throws IOException {
        this(address, 0);
    }

    /** On a given port (0: any free one). */
    TinyRtspServer(String address, int port) throws IOException {
        this.address = InetAddress.getByName(address);
        this.port = port;
        start();
    }

    int port() {
        return port;
    }

    String url(String path) {
        return "rtsp://" + address.getHostAddress() + ":" + port + path;
    }

    synchronized void start() throws IOException {
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true);
        s.bind(new InetSocketAddress(address, port));
        port = s.getLocalPort();
        server = s;
        Thread t =
                new Thread(() -> accept(s), "tiny-rtsp-" + address.getHostAddress() + ":" + port);
        t.setDaemon(true);
        t.start();
    }

    synchronized void stop() throws IOException {
        server.close();
    }

    private void accept(ServerSocket s) {
        while (!s.isClosed()) {
            try {
                Socket c = s.accept();
                Thread t = new Thread(() -> serve(c), "tiny-rtsp-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket c) {
        try (c) {
            c.setSoTimeout(5000);
            InputStream in = c.getInputStream();
            OutputStream out = c.getOutputStream();
            while (true) {
                StringBuilder head = new StringBuilder();
                int b;
                while ((b = in.read()) >= 0) {
                    head.append((char) b);
                    if (head.length() >= 4
                            && head.substring(head.length() - 4).equals("\r\n\r\n")) {
                        break;
                    }
                }
                if (b < 0) {
                    return;
                }
                String req = head.toString();
                String cseq = "0";
                for (String l : req.split("\r\n")) {
                    if (l.toLowerCase(Locale.ROOT).startsWith("cseq:")) {
                        cseq = l.substring(5).trim();
                    }
                }
                String resp;
                if (req.startsWith("DESCRIBE")) {
                    describes.incrementAndGet();
                    int st = describeStatus;
                    if (st == 200) {
                        String sdp =
                                "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=test\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n";
                        resp =
                                "RTSP/1.0 200 OK\r\nCSeq: "
                                        + cseq
                                        + "\r\nContent-Type: application/sdp\r\nContent-Length: "
                                        + sdp.length()
                                        + "\r\n\r\n"
                                        + sdp;
                    } else {
                        resp = "RTSP/1.0 " + st + " Failed\r\nCSeq: " + cseq + "\r\n\r\n";
                    }
                } else {
                    resp =
                            "RTSP/1.0 200 OK\r\nCSeq: "
                                    + cseq
                                    + "\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY\r\n\r\n";
                }
                out.write(resp.getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
        } catch (IOException e) {
            // client went away
        }
    }

    @Override
    public void close() throws IOException {
        stop();
    }
}
