package io.msm.agent.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Users and their password hashes (HA1 = H(user:realm:password)), never the passwords: what the
 * Digest and Basic checks need, and all a leaked file gives away.
 *
 * <p>The file has one line per user, realm and algorithm; blank lines and lines starting with
 * {@code #} are ignored:
 *
 * <pre>
 * alice:msm:5f4dcc3b5aa765d61d8327deb882cf99              # MD5, as Apache's htdigest writes it
 * alice:msm:SHA-256:9f86d081884c7d659a2feaa0c55ad015...   # SHA-256 (RFC 7616, RFC 8760)
 * </pre>
 *
 * {@code msm-agent passwd USER} writes such lines. In Kubernetes the file comes from a Secret
 * mounted read-only.
 */
public final class Credentials {
    public static final Credentials NONE = new Credentials(Map.of(), "(no users)");

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._~!$&'()*+,;=%@-]{1,64}");
    private static final Pattern HEX = Pattern.compile("[0-9a-fA-F]+");
    private static final int MAX_USERS = 100_000;

    private record Key(String user, String realm, DigestAlgorithm algorithm) {}

    private final Map<Key, String> ha1;
    private final String origin;

    private Credentials(Map<Key, String> ha1, String origin) {
        this.ha1 = Map.copyOf(ha1);
        this.origin = origin;
    }

    /**
     * The stored HA1 (lowercase hex), or null when this user has none for the realm and algorithm.
     */
    public String ha1(String user, String realm, DigestAlgorithm algorithm) {
        return ha1.get(new Key(user, realm, algorithm));
    }

    public boolean isEmpty() {
        return ha1.isEmpty();
    }

    /** Entries (user, realm, algorithm). */
    public int size() {
        return ha1.size();
    }

    /** Where the users came from (a path), for log lines and errors. */
    public String origin() {
        return origin;
    }

    /**
     * Reads a users file.
     *
     * @throws IOException the file cannot be read
     * @throws IllegalArgumentException a line is malformed: the message names the file, line and
     *     reason
     */
    public static Credentials read(Path file) throws IOException {
        return parse(Files.readAllLines(file, StandardCharsets.UTF_8), file.toString());
    }

    /** Whether others than the owner may read the file (it holds password hashes). */
    public static boolean readableByOthers(Path file) {
        try {
            Set<PosixFilePermission> p = Files.getPosixFilePermissions(file);
            return p.contains(PosixFilePermission.OTHERS_READ);
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    public static Credentials parse(List<String> lines, String origin) {
        Map<Key, String> out = new HashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            int hash = line.indexOf(" #");
            if (hash >= 0) {
                line = line.substring(0, hash).strip();
            }
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String where = origin + " line " + (i + 1) + ": ";
            String[] f = line.split(":", -1);
            if (f.length != 3 && f.length != 4) {
                throw new IllegalArgumentException(
                        where + "want user:realm:HA1 or user:realm:ALGORITHM:HA1");
            }
            String bad = checkNames(f[0], f[1]);
            if (bad != null) {
                throw new IllegalArgumentException(where + bad);
            }
            DigestAlgorithm alg;
            try {
                alg = f.length == 3 ? DigestAlgorithm.MD5 : DigestAlgorithm.byToken(f[2]);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where + e.getMessage(), e);
            }
            String h = f[f.length - 1];
            if (h.length() != alg.hexLength() || !HEX.matcher(h).matches()) {
                throw new IllegalArgumentException(
                        where
                                + "the "
                                + alg.token()
                                + " HA1 must be "
                                + alg.hexLength()
                                + " hex digits (H(user:realm:password); 'msm-agent passwd' writes it)");
            }
            Key k = new Key(f[0], f[1], alg);
            if (out.put(k, h.toLowerCase(Locale.ROOT)) != null) {
                throw new IllegalArgumentException(
                        where
                                + "user '"
                                + f[0]
                                + "' has a second "
                                + alg.token()
                                + " entry for realm '"
                                + f[1]
                                + "'");
            }
            if (out.size() > MAX_USERS) {
                throw new IllegalArgumentException(where + "more than " + MAX_USERS + " entries");
            }
        }
        return new Credentials(out, origin);
    }

    /** Null when user and realm are acceptable, else why not. */
    static String checkNames(String user, String realm) {
        if (!NAME.matcher(user).matches()) {
            return "user '"
                    + user
                    + "' must be 1-64 characters of letters, digits and ._~!$&'()*+,;=%@-";
        }
        if (realm.isEmpty()
                || realm.length() > 128
                || realm.contains("\"")
                || realm.contains("\\")
                || realm.contains(":")) {
            return "realm must be 1-128 characters without quotes, backslashes or colons";
        }
        return null;
    }

    /**
     * The lines for a user, one per algorithm, as {@link #parse} reads them.
     *
     * @throws IllegalArgumentException the user or realm cannot be written to the file
     */
    public static List<String> lines(String user, String realm, String password) {
        String bad = checkNames(user, realm);
        if (bad != null) {
            throw new IllegalArgumentException(bad);
        }
        return List.of(
                user + ":" + realm + ":" + DigestAlgorithm.MD5.ha1(user, realm, password),
                user
                        + ":"
                        + realm
                        + ":"
                        + DigestAlgorithm.SHA_256.token()
                        + ":"
                        + DigestAlgorithm.SHA_256.ha1(user, realm, password));
    }

    @Override
    public String toString() {
        return origin + " (" + ha1.size() + " entries)";
    }
}
