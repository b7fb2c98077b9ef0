package io.msm.agent.sip.policy;

import io.msm.agent.auth.AuthHeader;
import io.msm.agent.auth.Credentials;
import io.msm.agent.auth.DigestAuthenticator;
import io.msm.agent.auth.SourceFailures;
import io.msm.agent.config.SipSettings;
import io.msm.agent.sip.message.SipRequest;
import io.msm.agent.sip.message.SipResponse;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Digest authentication for SIP (RFC 3261 section 22, RFC 8760): REGISTER is challenged with 401
 * and WWW-Authenticate, requests msm forwards with 407 and Proxy-Authenticate; qop=auth is required
 * (nonce counts, so a captured answer cannot be replayed), an expired nonce with the right password
 * gets stale=true, and a source with too many failures is locked out (403) for a while. The users
 * are read from {@code sip.users-file} (HA1 hashes) and re-read when the file changes. Proxy thread
 * only, apart from the shared building blocks (which are thread-safe).
 */
public final class SipAuth {
    private static final Logger log = LoggerFactory.getLogger(SipAuth.class);
    private static final long RECHECK_NANOS = 2_000_000_000L;

    /** How a request's credentials came out. */
    public sealed interface Result {
        /** Authenticated as {@code user}. */
        record Ok(String user) implements Result {}

        /** No (usable) credentials: answer with this challenge (401/407). */
        record Challenge(SipResponse response, boolean failed) implements Result {}

        /** The source is locked out after too many failures: 403. */
        record Locked() implements Result {}
    }

    private final Path file;
    private final DigestAuthenticator digest;
    private final SourceFailures failures;
    private volatile Credentials users = Credentials.NONE;
    private FileTime loadedAt;
    private long checkedAt = System.nanoTime() - RECHECK_NANOS;

    public SipAuth(SipSettings.Security s) throws IOException {
        this.file = s.usersFile();
        if (file != null) {
            try {
                users = Credentials.read(file);
                loadedAt = Files.getLastModifiedTime(file);
            } catch (IOException e) {
                throw new IOException(
                        "sip.users-file " + file + " cannot be read: " + e.getMessage(), e);
            }
            if (Credentials.readableByOthers(file)) {
                log.warn(
                        "sip.users-file {} is readable by others: it holds password hashes (chmod 600)",
                        file);
            }
        }
        this.digest =
                new DigestAuthenticator(
                        s.realm(),
                        this::users,
                        s.algorithms(),
                        s.nonceLifetime(),
                        false,
                        100_000,
                        System::currentTimeMillis);
        this.failures =
                new SourceFailures(
                        s.maxFailures(), s.failureWindow(), s.lockout(), 100_000, System::nanoTime);
    }

    /** Whether anybody could authenticate (a users file with entries). */
    public boolean hasUsers() {
        return !users().isEmpty();
    }

    public String realm() {
        return digest.realm();
    }

    /** The users now; the file is re-read when it changed (checked at most every 2 s). */
    Credentials users() {
        if (file != null && System.nanoTime() - checkedAt > RECHECK_NANOS) {
            checkedAt = System.nanoTime();
            try {
                FileTime t = Files.getLastModifiedTime(file);
                if (!t.equals(loadedAt)) {
                    users = Credentials.read(file);
                    loadedAt = t;
                    log.info("sip.users-file {} re-read: {}", file, users);
                }
            } catch (IOException | IllegalArgumentException e) {
                log.warn(
                        "sip.users-file {} not re-read, the old users stay: {}",
                        file,
                        e.getMessage());
                loadedAt = null;
            }
        }
        return users;
    }

    /**
     * Checks a request's credentials for msm's realm.
     *
     * @param proxy true: Proxy-Authorization / 407 (a request msm forwards); false: Authorization /
     *     401 (REGISTER at msm)
     */
    public Result check(SipRequest req, InetAddress source, boolean proxy) {
        if (failures.locked(source)) {
            return new Result.Locked();
        }
        String header = ours(req.all(proxy ? "Proxy-Authorization" : "Authorization"));
        boolean stale = false;
        boolean failed = false;
        if (header != null) {
            DigestAuthenticator.Outcome o = digest.verify(source, req.method(), req.uri(), header);
            if (o instanceof DigestAuthenticator.Outcome.Accepted a) {
                failures.succeeded(source);
                return new Result.Ok(a.user());
            }
            if (o instanceof DigestAuthenticator.Outcome.Stale) {
                stale = true;
            } else {
                failed = true;
                log.debug(
                        "SIP {} from {}: credentials refused: {}",
                        req.method(),
                        source.getHostAddress(),
                        ((DigestAuthenticator.Outcome.Rejected) o).reason());
                if (failures.failed(source)) {
                    return new Result.Locked();
                }
            }
        }
        int status = proxy ? 407 : 401;
        SipResponse r = SipResponse.to(req, status, null, SipResponse.newTag());
        for (String c : digest.challenges(source, stale)) {
            r.add(proxy ? "Proxy-Authenticate" : "WWW-Authenticate", c);
        }
        return new Result.Challenge(r, failed);
    }

    /** The credentials for msm's realm among a request's (others are for proxies further on). */
    private String ours(List<String> values) {
        for (String v : values) {
            try {
                if (digest.realm().equals(AuthHeader.parse(v).param("realm"))) {
                    return v;
                }
            } catch (IllegalArgumentException e) {
                return v; // malformed: refused by the check, counted as a failure
            }
        }
        return values.isEmpty() ? null : values.get(0);
    }

    /** Removes msm's own credentials from a request it forwards (RFC 3261 section 22.3). */
    public void consume(SipRequest fwd) {
        List<String> all = fwd.all("Proxy-Authorization");
        if (all.isEmpty()) {
            return;
        }
        fwd.removeAll("Proxy-Authorization");
        for (String v : all) {
            boolean mine;
            try {
                mine = digest.realm().equals(AuthHeader.parse(v).param("realm"));
            } catch (IllegalArgumentException e) {
                mine = false;
            }
            if (!mine) {
                fwd.add("Proxy-Authorization", v);
            }
        }
    }
}
