package io.msm.agent.rtsp.sdp;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A session description (RFC 4566) as far as an RTSP proxy needs it: the session-level lines, the
 * media sections and their control URLs. Parsing is strict about structure and bounded in size;
 * values it does not need are carried through untouched.
 */
public final class SessionDescription {
    /** More media sections than any camera sends; bounds per-path state. */
    public static final int MAX_MEDIA = 8;

    public static final int MAX_LINES = 512;
    public static final int MAX_LINE = 4096;

    private final String name;
    private final String control;
    private final List<String> sessionLines;
    private final List<MediaDescription> media;
    private String text = "";

    private SessionDescription(
            String name, String control, List<String> sessionLines, List<MediaDescription> media) {
        this.name = name;
        this.control = control;
        this.sessionLines = sessionLines;
        this.media = media;
    }

    /** s= */
    public String name() {
        return name;
    }

    /** session-level a=control, or null */
    public String control() {
        return control;
    }

    public List<MediaDescription> media() {
        return media;
    }

    /** The text it was parsed from. */
    public String text() {
        return text;
    }

    public static SessionDescription parse(String text) throws SdpException {
        if (text == null || text.isBlank()) {
            throw new SdpException("empty session description");
        }
        String[] raw = text.split("\r?\n", -1);
        if (raw.length > MAX_LINES) {
            throw new SdpException("more than " + MAX_LINES + " lines");
        }
        String name = null;
        String sessionControl = null;
        boolean sawVersion = false;
        List<String> session = new ArrayList<>();
        List<MediaDescription> media = new ArrayList<>();
        String[] m = null;
        String mControl = null;
        List<String> mLines = null;
        int n = 0;
        for (String line : raw) {
            n++;
            if (line.isEmpty()) {
                continue; // a trailing newline, or blank lines some encoders emit
            }
            if (line.length() > MAX_LINE) {
                throw new SdpException("line " + n + " is longer than " + MAX_LINE + " characters");
            }
            if (line.length() < 2
                    || line.charAt(1) != '='
                    || line.charAt(0) < 'a'
                    || line.charAt(0) > 'z') {
                throw new SdpException(
                        "line " + n + " is not <letter>=<value>: '" + shorten(line) + "'");
            }
            for (int i = 0; i < line.length(); i++) {
                char c = line.charAt(i);
                if ((c < 0x20 && c != '\t') || c == 0x7f) {
                    throw new SdpException("line " + n + " has a control character");
                }
            }
            char type = line.charAt(0);
            String value = line.substring(2);
            if (!sawVersion) {
                if (type != 'v' || !value.trim().equals("0")) {
                    throw new SdpException("line " + n + ": a session description starts with v=0");
                }
                sawVersion = true;
                continue;
            }
            if (type == 'm') {
                if (m != null) {
                    media.add(
                            new MediaDescription(
                                    m[0], m[2], formats(m), mControl, List.copyOf(mLines)));
                }
                if (media.size() >= MAX_MEDIA) {
                    throw new SdpException("more than " + MAX_MEDIA + " media sections");
                }
                m = value.trim().split(" +");
                if (m.length < 4 || m[0].isEmpty()) {
                    throw new SdpException(
                            "line "
                                    + n
                                    + ": m= needs <media> <port> <proto> <fmt>...: '"
                                    + shorten(line)
                                    + "'");
                }
                if (!m[1].matches("\\d{1,5}(/\\d{1,5})?")) {
                    throw new SdpException(
                            "line " + n + ": m= port is not a number: '" + shorten(m[1]) + "'");
                }
                mControl = null;
                mLines = new ArrayList<>();
                continue;
            }
            boolean isControl = type == 'a' && value.regionMatches(true, 0, "control:", 0, 8);
            if (m == null) {
                if (type == 's') {
                    name = value;
                }
                if (isControl) {
                    sessionControl = value.substring(8).trim();
                } else {
                    session.add(line);
                }
            } else if (isControl) {
                mControl = value.substring(8).trim();
            } else {
                mLines.add(line);
            }
        }
        if (!sawVersion) {
            throw new SdpException("no v= line");
        }
        if (m != null) {
            media.add(new MediaDescription(m[0], m[2], formats(m), mControl, List.copyOf(mLines)));
        }
        if (media.isEmpty()) {
            throw new SdpException("no media (m=) section");
        }
        SessionDescription d =
                new SessionDescription(
                        name, sessionControl, List.copyOf(session), List.copyOf(media));
        d.text = text;
        return d;
    }

    private static List<String> formats(String[] m) {
        List<String> f = new ArrayList<>();
        for (int i = 3; i < m.length; i++) {
            f.add(m[i]);
        }
        return List.copyOf(f);
    }

    /**
     * The description this proxy serves to viewers: its own origin and connection lines, session
     * control "*", track i's control "trackID=i" (relative to Content-Base), the media's formats,
     * bandwidth and attributes as the source gave them.
     *
     * @param serverAddress the proxy's address for o=
     * @param sessionId o= session id (numeric)
     */
    public String served(String serverAddress, long sessionId, String fallbackName) {
        StringBuilder b = new StringBuilder();
        line(b, "v=0");
        line(b, "o=- " + sessionId + " 1 IN IP4 " + serverAddress);
        line(b, "s=" + (name == null || name.isBlank() ? fallbackName : name));
        for (String l : sessionLines) {
            if (l.charAt(0) == 'i') {
                line(b, l);
            }
        }
        line(b, "c=IN IP4 0.0.0.0");
        for (String l : sessionLines) {
            if (l.charAt(0) == 'b') {
                line(b, l);
            }
        }
        line(b, "t=0 0");
        line(b, "a=tool:msm");
        line(b, "a=control:*");
        for (String l : sessionLines) {
            if (l.charAt(0) == 'a' && !l.toLowerCase(Locale.ROOT).startsWith("a=tool:")) {
                line(b, l);
            }
        }
        for (int i = 0; i < media.size(); i++) {
            MediaDescription md = media.get(i);
            line(
                    b,
                    "m="
                            + md.media()
                            + " 0 "
                            + md.protocol()
                            + " "
                            + String.join(" ", md.formats()));
            for (String t : new String[] {"i", "b", "a"}) {
                for (String l : md.lines()) {
                    if (l.charAt(0) == t.charAt(0)) {
                        line(b, l);
                    }
                }
            }
            line(b, "a=control:" + trackControl(i));
        }
        return b.toString();
    }

    /** The control URL (relative) this proxy gives track i. */
    public static String trackControl(int i) {
        return "trackID=" + i;
    }

    private static void line(StringBuilder b, String l) {
        b.append(l).append("\r\n");
    }

    static String shorten(String s) {
        String t = s.length() > 60 ? s.substring(0, 60) + "..." : s;
        return t.replaceAll("[^\\x20-\\x7e]", "?");
    }
}
