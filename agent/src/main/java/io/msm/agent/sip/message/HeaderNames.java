package io.msm.agent.sip.message;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Header names as RFC 3261 (section 7.3.3, 20) spells them: compact forms expand to the full name,
 * known names get their canonical case, so the rest of the proxy compares one spelling.
 */
public final class HeaderNames {
    public static final String VIA = "Via";
    public static final String FROM = "From";
    public static final String TO = "To";
    public static final String CALL_ID = "Call-ID";
    public static final String CSEQ = "CSeq";
    public static final String CONTACT = "Contact";
    public static final String MAX_FORWARDS = "Max-Forwards";
    public static final String ROUTE = "Route";
    public static final String RECORD_ROUTE = "Record-Route";
    public static final String CONTENT_LENGTH = "Content-Length";
    public static final String CONTENT_TYPE = "Content-Type";
    public static final String EXPIRES = "Expires";
    public static final String PROXY_REQUIRE = "Proxy-Require";
    public static final String UNSUPPORTED = "Unsupported";
    public static final String RETRY_AFTER = "Retry-After";
    public static final String ALLOW = "Allow";
    public static final String ACCEPT = "Accept";
    public static final String SUPPORTED = "Supported";
    public static final String SERVER = "Server";
    public static final String USER_AGENT = "User-Agent";
    public static final String WARNING = "Warning";
    public static final String REASON = "Reason";

    private static final Map<String, String> CANONICAL = new HashMap<>();
    private static final Map<Character, String> COMPACT =
            Map.ofEntries(
                    Map.entry('i', CALL_ID),
                    Map.entry('m', CONTACT),
                    Map.entry('e', "Content-Encoding"),
                    Map.entry('l', CONTENT_LENGTH),
                    Map.entry('c', CONTENT_TYPE),
                    Map.entry('f', FROM),
                    Map.entry('s', "Subject"),
                    Map.entry('k', SUPPORTED),
                    Map.entry('t', TO),
                    Map.entry('v', VIA),
                    Map.entry('o', "Event"),
                    Map.entry('r', "Refer-To"),
                    Map.entry('u', "Allow-Events"),
                    Map.entry('x', "Session-Expires"),
                    Map.entry('b', "Referred-By"),
                    Map.entry('a', "Accept-Contact"),
                    Map.entry('j', "Reject-Contact"),
                    Map.entry('d', "Request-Disposition"),
                    Map.entry('y', "Identity"));

    /** Headers whose comma-separated values are split into one entry each on parsing. */
    static final Set<String> LISTS = Set.of(VIA, ROUTE, RECORD_ROUTE, CONTACT);

    static {
        for (String n :
                new String[] {
                    VIA,
                    FROM,
                    TO,
                    CALL_ID,
                    CSEQ,
                    CONTACT,
                    MAX_FORWARDS,
                    ROUTE,
                    RECORD_ROUTE,
                    CONTENT_LENGTH,
                    CONTENT_TYPE,
                    EXPIRES,
                    PROXY_REQUIRE,
                    UNSUPPORTED,
                    RETRY_AFTER,
                    ALLOW,
                    ACCEPT,
                    SUPPORTED,
                    SERVER,
                    USER_AGENT,
                    WARNING,
                    REASON,
                    "Require",
                    "Subject",
                    "Content-Encoding",
                    "Event",
                    "Refer-To",
                    "Allow-Events",
                    "Session-Expires",
                    "Min-Expires",
                    "Date",
                    "Timestamp",
                    "Proxy-Authenticate",
                    "Proxy-Authorization",
                    "WWW-Authenticate",
                    "Authorization",
                    "Priority",
                    "Organization",
                    "Accept-Encoding",
                    "Accept-Language",
                    "Min-SE",
                    "Path",
                    "P-Asserted-Identity"
                }) {
            CANONICAL.put(n.toLowerCase(Locale.ROOT), n);
        }
        for (String n : COMPACT.values()) {
            CANONICAL.putIfAbsent(n.toLowerCase(Locale.ROOT), n);
        }
    }

    private HeaderNames() {}

    /** The full, canonically cased name for a name as received. */
    public static String canonical(String name) {
        if (name.length() == 1) {
            String full = COMPACT.get(Character.toLowerCase(name.charAt(0)));
            if (full != null) {
                return full;
            }
        }
        String c = CANONICAL.get(name.toLowerCase(Locale.ROOT));
        return c != null ? c : name;
    }
}
