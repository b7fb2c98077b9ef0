package io.msm.agent.rtsp;

import io.msm.agent.config.RtspSettings;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.attribute.FileTime;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The RTSPS listener's certificate and key (PEM files), read again when either file changes: {@link
 * #check()} runs every few seconds, and each new connection takes the context current when it opens
 * (connections already open keep theirs). A file that cannot be read at start stops the start; a
 * bad file later keeps the last good pair and logs why.
 */
final class RtspTls {
    private static final Logger log = LoggerFactory.getLogger(RtspTls.class);

    private final RtspSettings.Tls settings;
    private volatile SslContext context;
    private volatile FileTime certModified;
    private volatile FileTime keyModified;

    RtspTls(RtspSettings.Tls settings) {
        this.settings = settings;
        try {
            load();
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException(
                    "rtsp.tls: cannot use "
                            + settings.cert()
                            + " and "
                            + settings.key()
                            + " (PEM certificate chain and PEM PKCS#8 key): "
                            + e.getMessage(),
                    e);
        }
    }

    SslContext context() {
        return context;
    }

    private void load() throws IOException {
        FileTime c = Files.getLastModifiedTime(settings.cert());
        FileTime k = Files.getLastModifiedTime(settings.key());
        context =
                SslContextBuilder.forServer(settings.cert().toFile(), settings.key().toFile())
                        .build();
        certModified = c;
        keyModified = k;
    }

    /** Reads the pair again when a file changed; true when it did. */
    boolean check() {
        try {
            FileTime c = Files.getLastModifiedTime(settings.cert());
            FileTime k = Files.getLastModifiedTime(settings.key());
            if (Objects.equals(c, certModified) && Objects.equals(k, keyModified)) {
                return false;
            }
            load();
            log.info("rtsps: certificate {} and key {} reloaded", settings.cert(), settings.key());
            return true;
        } catch (IOException | RuntimeException e) {
            try { // warn once per change, not at every check
                certModified = Files.getLastModifiedTime(settings.cert());
                keyModified = Files.getLastModifiedTime(settings.key());
            } catch (IOException ignored) {
                // a file is missing: warned below
            }
            log.warn(
                    "rtsps: cannot reload {} / {} ({}); the previous certificate stays in use",
                    settings.cert(),
                    settings.key(),
                    e.toString());
            return false;
        }
    }
}
