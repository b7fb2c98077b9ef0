package io.msm.agent.sip.message;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * ";name=value;flag" parameter lists of URIs and header values. Names are kept lower case (they
 * compare case-insensitively); a flag has a null value. Quoted values keep their quotes.
 */
final class Params {
    private Params() {}

    static Map<String, String> parse(String s, String what) {
        Map<String, String> out = new LinkedHashMap<>();
        if (s == null || s.isEmpty()) {
            return out;
        }
        for (String p : Tokens.split(s, ';')) {
            String t = p.trim();
            if (t.isEmpty()) {
                continue;
            }
            int eq = t.indexOf('=');
            String name = (eq < 0 ? t : t.substring(0, eq)).trim();
            String value = eq < 0 ? null : t.substring(eq + 1).trim();
            if (!Tokens.isToken(name)) {
                throw new SipSyntaxException(
                        what + ": bad parameter name '" + Tokens.clip(name) + "'");
            }
            if (value != null && !value.startsWith("\"") && !Tokens.isParamValue(value)) {
                throw new SipSyntaxException(what + ": bad value of parameter '" + name + "'");
            }
            if (out.size() >= 32) {
                throw new SipSyntaxException(what + ": more than 32 parameters");
            }
            out.put(name.toLowerCase(Locale.ROOT), value);
        }
        return out;
    }

    static void append(StringBuilder sb, Map<String, String> params) {
        for (Map.Entry<String, String> e : params.entrySet()) {
            sb.append(';').append(e.getKey());
            if (e.getValue() != null) {
                sb.append('=').append(e.getValue());
            }
        }
    }
}
