package io.msm.agent.rtsp;

import io.msm.agent.auth.Credentials;
import io.msm.agent.auth.DigestAlgorithm;
import io.msm.agent.auth.DigestAuthenticator;
import io.msm.agent.auth.SourceFailures;
import io.msm.agent.config.RtspSettings;
import io.msm.agent.limits.Refusals;
import io.msm.agent.rtsp.wire.RtspRequest;
import io.msm.agent.rtsp.wire.RtspStatus;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may publish or read a path: the source must be in the permission's {@code from}, and where
 * the permission names users the request must carry their credentials — Digest (SHA-256 and MD5
 * challenges with qop=auth; RFC 2069 answers without qop too, which GStreamer and live555/VLC send)
 * or Basic (only over RTSPS unless {@code rtsp.basic-auth: always}, since it carries the password).
 * No credentials or wrong ones: 401 with the challenges; a user without the permission, a source
 * outside the allow-list or one locked out after repeated failures: 403. The users file is read
 * again when it changes.
 */
final class RtspAccess {
    private static final Logger log = LoggerFactory.getLogger(RtspAccess.class);

    static final String UNAUTHORIZED = "unauthorized";
    static final String FORBIDDEN_USER = "user_not_allowed";
    static final String FORBIDDEN_SOURCE = "source_not_allowed";
    static final String LOCKED_OUT = "locked_out";

    private final RtspSettings.Auth settings;
    private final Refusals refusals;
    private final DigestAuthenticator digest;
    private final SourceFailures failures =
            new SourceFailures(
                    10, Duration.ofMinutes(1), Duration.ofMinutes(1), 4096, System::nanoTime);

    private volatile Credentials users = Credentials.NONE;
    private volatile FileTime usersModified;
    private volatile long usersChecked;

    RtspAccess(RtspSettings.Auth settings, Refusals refusals) {
        this.settings = settings;
        this.refusals = refusals;
        if (settings.usersFile() != null) {
            reload(); // a missing or malformed file stops the start, with the reason
            if (Credentials.readableByOthers(settings.usersFile())) {
                log.warn(
                        "rtsp.users-file {} is readable by others: it holds password hashes (chmod 600)",
                        settings.usersFile());
            }
        }
        this.digest =
                new DigestAuthenticator(
                        settings.realm(),
                        this::users,
                        List.of(DigestAlgorithm.SHA_256, DigestAlgorithm.MD5),
                        Duration.ofMinutes(5),
                        true,
                        65_536,
                        System::currentTimeMillis);
    }

    private void reload() {
        Path f = settings.usersFile();
        try {
            FileTime m = Files.getLastModifiedTime(f);
            if (!m.equals(usersModified)) {
                users = Credentials.read(f);
                usersModified = m;
                log.info("rtsp: {} HA1 line(s) from {}", users.size(), f);
            }
        } catch (IOException | IllegalArgumentException e) {
            if (usersModified == null) {
                throw new IllegalStateException(
                        "rtsp.users-file " + f + " cannot be read: " + e.getMessage(), e);
            }
            log.warn("rtsp.users-file {}: {}; the users read before stay", f, e.getMessage());
        }
    }

    /** The users, read again when the file changed (looked at once a second at most). */
    private Credentials users() {
        if (settings.usersFile() != null) {
            long now = System.nanoTime();
            if (now - usersChecked > 1_000_000_000L) {
                usersChecked = now;
                reload();
            }
        }
        return users;
    }

    /**
     * The permission a request needs on a path ({@code configured}: its configured name or null).
     */
    RtspSettings.Permission permission(String configured, boolean routed, boolean publish) {
        if (routed) {
            return publish ? RtspSettings.Permission.NONE : settings.routedRead();
        }
        RtspSettings.Rules r = settings.rules(configured);
        return publish ? r.publish() : r.read();
    }

    /**
     * Checks a request against a permission.
     *
     * @param known the user this connection logged in as already, or null
     * @return the user the request is from (null when no login was needed)
     * @throws Refused 401 or 403
     */
    String check(
            RtspSettings.Permission p,
            String action,
            String path,
            InetAddress source,
            boolean tls,
            RtspRequest req,
            Authenticated known)
            throws Refused {
        if (!p.from().contains(source)) {
            refusals.refuse(
                    FORBIDDEN_SOURCE, source.getHostAddress() + " may not " + action + " " + path);
            throw new Refused(
                    RtspStatus.FORBIDDEN,
                    source.getHostAddress() + " may not " + action + " " + path);
        }
        if (!p.needsLogin()) {
            return null;
        }
        String header = req.headers().getOrNull("Authorization");
        String user;
        if (header != null && known != null && header.equals(known.header)) {
            user = known.user; // the same answer again (a request handled again after a wait)
        } else if (header == null) {
            refusals.refuse(UNAUTHORIZED, source.getHostAddress() + ": no credentials for " + path);
            throw challenge("credentials needed to " + action + " " + path, source, false, tls);
        } else {
            if (failures.locked(source)) {
                refusals.refuse(LOCKED_OUT, source.getHostAddress() + " is locked out");
                throw new Refused(
                        RtspStatus.FORBIDDEN,
                        "too many failed logins from this address; try again later");
            }
            DigestAuthenticator.Outcome o;
            String scheme = header.strip().toLowerCase(Locale.ROOT);
            if (scheme.startsWith("basic")) {
                o =
                        basicAllowed(tls)
                                ? digest.verifyBasic(header)
                                : new DigestAuthenticator.Outcome.Rejected(
                                        "Basic credentials are taken only over RTSPS (rtsp.basic-auth)");
            } else {
                o = digest.verify(source, req.method(), req.uri(), header);
            }
            if (o instanceof DigestAuthenticator.Outcome.Stale) {
                throw challenge("the nonce expired", source, true, tls);
            }
            if (o instanceof DigestAuthenticator.Outcome.Rejected r) {
                boolean locked = failures.failed(source);
                refusals.refuse(
                        UNAUTHORIZED,
                        source.getHostAddress()
                                + ": "
                                + r.reason()
                                + (locked ? " (now locked out)" : ""));
                throw challenge(r.reason(), source, false, tls);
            }
            user = ((DigestAuthenticator.Outcome.Accepted) o).user();
            failures.succeeded(source);
            if (known != null) {
                known.header = header;
                known.user = user;
            }
        }
        if (!p.admits(user)) {
            refusals.refuse(FORBIDDEN_USER, user + " may not " + action + " " + path);
            throw new Refused(RtspStatus.FORBIDDEN, user + " may not " + action + " " + path);
        }
        return user;
    }

    private Refused challenge(String why, InetAddress source, boolean stale, boolean tls) {
        List<String> c = new ArrayList<>(digest.challenges(source, stale));
        if (basicAllowed(tls)) {
            c.add("Basic realm=\"" + settings.realm() + "\"");
        }
        return new Refused(RtspStatus.UNAUTHORIZED, why, c);
    }

    private boolean basicAllowed(boolean tls) {
        return settings.basic() == RtspSettings.BasicAuth.ALWAYS
                || (settings.basic() == RtspSettings.BasicAuth.TLS && tls);
    }

    /** What a connection logged in as: its last verified Authorization and its user. */
    static final class Authenticated {
        String header;
        String user;
    }
}
