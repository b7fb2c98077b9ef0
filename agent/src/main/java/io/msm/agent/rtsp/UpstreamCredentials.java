package io.msm.agent.rtsp;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Credentials msm answers an upstream's challenge with, for pulled paths. Never from the YAML: a
 * configured URL with a password is refused at load; they come from {@code
 * rtsp.upstream-credentials-file} (a file, or a mounted Kubernetes Secret), one {@code URL-prefix
 * user:password} per line, the longest prefix matching the upstream URL winning — for configured
 * and routed upstreams alike (the StreamRoute CRD admits no userinfo in its URLs; should a URL
 * carry {@code user:password@} anyway, that is used and never logged). The file is read at each
 * upstream session start, so a changed Secret applies to the next one.
 */
final class UpstreamCredentials {
    /** A user and password, and the URL without them (what requests name). */
    record Login(String user, String password, String url) {}

    private UpstreamCredentials() {}

    /** The login for an upstream URL (user and password null when none is known). */
    static Login forUrl(URI upstream, Path file) throws IOException {
        String url = withoutUserInfo(upstream);
        String info = upstream.getRawUserInfo();
        if (info != null && info.contains(":")) {
            int c = info.indexOf(':');
            return new Login(decode(info.substring(0, c)), decode(info.substring(c + 1)), url);
        }
        if (file == null) {
            return new Login(null, null, url);
        }
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        String best = null;
        String bestPrefix = "";
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i).strip();
            if (l.isEmpty() || l.startsWith("#")) {
                continue;
            }
            String[] f = l.split("\\s+", 2);
            if (f.length != 2 || !f[1].contains(":")) {
                throw new IOException(
                        file + " line " + (i + 1) + ": expected 'URL-prefix user:password'");
            }
            if (url.startsWith(f[0]) && f[0].length() > bestPrefix.length()) {
                bestPrefix = f[0];
                best = f[1];
            }
        }
        if (best == null) {
            return new Login(null, null, url);
        }
        int c = best.indexOf(':');
        return new Login(best.substring(0, c), best.substring(c + 1), url);
    }

    static String withoutUserInfo(URI u) {
        if (u.getRawUserInfo() == null) {
            return u.toString();
        }
        try {
            return new URI(
                            u.getScheme(),
                            null,
                            u.getHost(),
                            u.getPort(),
                            u.getPath(),
                            u.getQuery(),
                            u.getFragment())
                    .toString();
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(e);
        }
    }

    private static String decode(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }
}
