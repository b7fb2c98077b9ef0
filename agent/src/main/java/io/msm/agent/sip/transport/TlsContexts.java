package io.msm.agent.sip.transport;

import io.msm.agent.config.ConfigException;
import io.msm.agent.config.SipSettings;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TLS contexts of the SIP transport, built from sip.tls's PEM files with the JDK's provider:
 * the server context (msm's certificate; clients are not asked for one) and the client context for
 * outgoing connections (msm's certificate offered, the peer verified against sip.tls.ca or the
 * JDK's trust store, and with verify-host its certificate must name the address connected to).
 * {@link #reloadIfChanged()} rebuilds both when a file's modification time or size changes (a
 * cert-manager rotation); new connections use the new contexts, open ones keep theirs. A rotation
 * caught half-way (a new certificate with the old key) is not taken: the old contexts stay and the
 * next poll tries again.
 */
final class TlsContexts {
    private static final Logger log = LoggerFactory.getLogger(TlsContexts.class);
    static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private final SipSettings.Tls cfg;
    private volatile SslContext server;
    private volatile SslContext client;
    private volatile X509Certificate leaf;
    private List<Object> stamp;
    private String lastFailure;
    private volatile int reloads;

    TlsContexts(SipSettings.Tls cfg) {
        this.cfg = cfg;
    }

    /**
     * Build the contexts now (at start).
     *
     * @throws ConfigException naming the sip.tls field whose file is missing or unusable
     */
    void load() {
        List<Object> s = stamp();
        build();
        stamp = s;
    }

    /** Rebuild if a file changed since the last successful build; true when it was rebuilt. */
    boolean reloadIfChanged() {
        List<Object> s = stamp();
        if (s.equals(stamp)) {
            return false;
        }
        try {
            build();
        } catch (RuntimeException e) { // ConfigException, or anything else: the poll must go on
            String msg = e.getMessage() == null ? e.toString() : e.getMessage();
            if (!msg.equals(lastFailure)) {
                log.warn(
                        "SIP TLS: the changed files are not usable ({}): keeping the certificate "
                                + "loaded before; trying again in {}",
                        msg,
                        cfg.reload());
            }
            lastFailure = msg;
            return false;
        }
        lastFailure = null;
        stamp = s;
        reloads++;
        log.info(
                "SIP TLS: certificate reloaded from {}: {} (valid until {})",
                cfg.cert(),
                leaf.getSubjectX500Principal().getName(),
                leaf.getNotAfter().toInstant());
        return true;
    }

    SslContext server() {
        return server;
    }

    SslContext client() {
        return client;
    }

    X509Certificate certificate() {
        return leaf;
    }

    int reloads() {
        return reloads;
    }

    private void build() {
        List<X509Certificate> chain = certs("sip.tls.cert", cfg.cert());
        PrivateKey key;
        try {
            key = Pem.privateKey(cfg.key());
            Pem.checkPair(key, chain.get(0), cfg.key(), cfg.cert());
        } catch (IllegalArgumentException e) {
            throw new ConfigException("sip.tls.key", e.getMessage());
        }
        X509Certificate[] certs = chain.toArray(new X509Certificate[0]);
        X509Certificate[] trusted =
                cfg.ca() == null
                        ? null
                        : certs("sip.tls.ca", cfg.ca()).toArray(new X509Certificate[0]);
        Date now = new Date();
        if (certs[0].getNotAfter().before(now)) {
            log.warn(
                    "SIP TLS: the certificate in {} expired on {}: peers will refuse it",
                    cfg.cert(),
                    certs[0].getNotAfter().toInstant());
        }
        try {
            SslContext srv =
                    SslContextBuilder.forServer(key, certs)
                            .sslProvider(SslProvider.JDK)
                            .protocols(PROTOCOLS)
                            .clientAuth(ClientAuth.NONE)
                            .build();
            SslContextBuilder cb =
                    SslContextBuilder.forClient()
                            .sslProvider(SslProvider.JDK)
                            .protocols(PROTOCOLS)
                            .keyManager(key, certs)
                            .endpointIdentificationAlgorithm(cfg.verifyHost() ? "HTTPS" : null);
            if (trusted != null) {
                cb.trustManager(trusted); // else the JDK's default trust store
            }
            SslContext cli = cb.build();
            server = srv;
            client = cli;
            leaf = certs[0];
        } catch (SSLException | IllegalArgumentException e) {
            throw new ConfigException(
                    "sip.tls.cert", "cannot make a TLS context of it: " + e.getMessage());
        }
    }

    private static List<X509Certificate> certs(String field, Path file) {
        try {
            List<X509Certificate> c = Pem.certificates(file);
            if (c.isEmpty()) {
                throw new IllegalArgumentException("no certificate in " + file);
            }
            return c;
        } catch (IllegalArgumentException e) {
            throw new ConfigException(field, e.getMessage());
        }
    }

    /** Modification time and size of each file (a missing file: its absence). */
    private List<Object> stamp() {
        List<Object> s = new ArrayList<>();
        for (Path p : new Path[] {cfg.cert(), cfg.key(), cfg.ca()}) {
            if (p == null) {
                s.add(null);
                continue;
            }
            try {
                s.add(Files.getLastModifiedTime(p).toMillis() + "/" + Files.size(p));
            } catch (IOException e) {
                s.add("missing");
            }
        }
        return s;
    }

    @Override
    public String toString() {
        return "TLS " + Objects.toString(cfg.cert());
    }
}
