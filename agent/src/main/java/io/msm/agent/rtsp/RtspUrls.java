package io.msm.agent.rtsp;

import java.util.Locale;

/** The parts of an RTSP Request-URI the proxy routes by. */
final class RtspUrls {
    /** What a path name may be made of (as in rtsp.paths keys). */
    static final String PATH_CHARS = "[A-Za-z0-9._~\\-/]+";

    static final int MAX_PATH = 128;

    private RtspUrls() {}

    /**
     * The path of an rtsp:// URL (or of an absolute path), without leading or trailing slashes,
     * query or fragment; null if the URI is neither.
     */
    static String path(String uri) {
        String u = uri;
        String lower = u.toLowerCase(Locale.ROOT);
        if (lower.startsWith("rtsp://")
                || lower.startsWith("rtspu://")
                || lower.startsWith("rtsps://")) {
            int start = u.indexOf("//") + 2;
            int slash = u.indexOf('/', start);
            u = slash < 0 ? "" : u.substring(slash);
        } else if (!u.startsWith("/")) {
            return null;
        }
        int cut = indexOfAny(u, '?', '#');
        if (cut >= 0) {
            u = u.substring(0, cut);
        }
        int from = 0;
        int to = u.length();
        while (from < to && u.charAt(from) == '/') {
            from++;
        }
        while (to > from && u.charAt(to - 1) == '/') {
            to--;
        }
        return u.substring(from, to);
    }

    /**
     * The host part of an rtsp:// URL (what a StreamRoute matches on: the name the client dialled,
     * kept in the URL even when its connection was steered to the node), or null for an absolute
     * path.
     */
    static String host(String uri) {
        String lower = uri.toLowerCase(Locale.ROOT);
        if (!(lower.startsWith("rtsp://")
                || lower.startsWith("rtspu://")
                || lower.startsWith("rtsps://"))) {
            return null;
        }
        int start = uri.indexOf("//") + 2;
        int end = start;
        while (end < uri.length() && "/?#".indexOf(uri.charAt(end)) < 0) {
            end++;
        }
        String authority = uri.substring(start, end);
        int at = authority.lastIndexOf('@');
        return at >= 0 ? authority.substring(at + 1) : authority;
    }

    /** A name a client may publish to. */
    static boolean validPathName(String p) {
        return p != null
                && !p.isEmpty()
                && p.length() <= MAX_PATH
                && p.matches(PATH_CHARS)
                && !p.contains("..")
                && !p.contains("//");
    }

    /**
     * The URL with query removed and exactly one trailing slash: what relative control URLs resolve
     * against.
     */
    static String base(String uri) {
        String u = uri;
        int cut = indexOfAny(u, '?', '#');
        if (cut >= 0) {
            u = u.substring(0, cut);
        }
        while (u.endsWith("/")) {
            u = u.substring(0, u.length() - 1);
        }
        return u + "/";
    }

    private static int indexOfAny(String s, char a, char b) {
        int i = s.indexOf(a);
        int j = s.indexOf(b);
        return i < 0 ? j : j < 0 ? i : Math.min(i, j);
    }
}
