package io.msm.agent.rtsp;

import io.msm.agent.config.RtspSettings;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.net.URI;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client side of {@code rtsps://} upstreams ({@code rtsp.upstream-tls}): a TLS context that
 * verifies the server's chain against the configured CA bundle (else the JVM's trust store) and,
 * unless {@code verify-host: false}, that its certificate names the URL's host. Built at each
 * upstream session start, so a rotated CA file (a mounted Secret) applies to the next session; a
 * file that became unreadable fails that session with the field's name.
 */
final class UpstreamTls {
    private static final Logger log = LoggerFactory.getLogger(UpstreamTls.class);
    static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    /** RTSPS's default port (RFC 7826 section 19.2). */
    static final int DEFAULT_PORT = 322;

    private UpstreamTls() {}

    static boolean isTls(URI upstream) {
        return "rtsps".equals(upstream.getScheme().toLowerCase(Locale.ROOT));
    }

    static int port(URI upstream) {
        return upstream.getPort() > 0 ? upstream.getPort() : isTls(upstream) ? DEFAULT_PORT : 554;
    }

    /** The client context for one upstream session. */
    static SslContext context(RtspSettings.UpstreamTls cfg) throws IOException {
        try {
            SslContextBuilder b =
                    SslContextBuilder.forClient()
                            .sslProvider(SslProvider.JDK)
                            .protocols(PROTOCOLS)
                            .endpointIdentificationAlgorithm(cfg.verifyHost() ? "HTTPS" : null);
            if (cfg.ca() != null) {
                b.trustManager(cfg.ca().toFile()); // else the JVM's default trust store
            }
            return b.build();
        } catch (IOException | RuntimeException e) {
            throw new IOException(
                    "rtsp.upstream-tls.ca: cannot use "
                            + cfg.ca()
                            + " as a PEM CA bundle ("
                            + e.getMessage()
                            + ")",
                    e);
        }
    }

    /** Said once at start when host names are not checked: anyone with a trusted cert passes. */
    static void warnIfUnverified(RtspSettings.UpstreamTls cfg) {
        if (!cfg.verifyHost()) {
            log.warn(
                    "rtsp.upstream-tls.verify-host is false: rtsps:// upstreams are NOT checked"
                            + " to be the host their URL names — any server with a certificate from"
                            + " {} can pose as any upstream; turn it back on as soon as the"
                            + " certificates name their hosts",
                    cfg.ca() == null ? "a CA the JVM trusts" : cfg.ca());
        }
    }
}
