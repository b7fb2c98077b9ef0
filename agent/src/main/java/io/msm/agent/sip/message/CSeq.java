package io.msm.agent.sip.message;

/** "CSeq: 4711 INVITE" — the sequence number is at most 2^31 - 1 (RFC 3261 section 8.1.1.5). */
public record CSeq(long number, String method) {
    public static CSeq parse(String value) {
        if (value == null) {
            throw new SipSyntaxException("missing CSeq");
        }
        String[] p = value.trim().split("[ \t]+");
        if (p.length != 2
                || p[0].isEmpty()
                || p[0].length() > 10
                || !p[0].chars().allMatch(Character::isDigit)
                || !Tokens.isToken(p[1])) {
            throw new SipSyntaxException(
                    "CSeq must be '<number> <method>': '" + Tokens.clip(value) + "'");
        }
        long n = Long.parseLong(p[0]);
        if (n > Integer.MAX_VALUE) {
            throw new SipSyntaxException("CSeq number above 2^31-1: " + n);
        }
        return new CSeq(n, p[1]);
    }

    @Override
    public String toString() {
        return number + " " + method;
    }
}
