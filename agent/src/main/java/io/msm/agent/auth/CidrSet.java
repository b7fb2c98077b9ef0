package io.msm.agent.auth;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * A list of prefixes a source may be in: trusted networks, allow-lists. Empty means nobody (the
 * safe default), never everybody.
 */
public final class CidrSet {
    public static final CidrSet NONE = new CidrSet(List.of());

    private final List<Cidr> prefixes;

    public CidrSet(List<Cidr> prefixes) {
        this.prefixes = List.copyOf(prefixes);
    }

    /**
     * Parses each entry; the error names the entry's index, for the caller to prefix with the field
     * ("sip.trusted[2]: ...").
     */
    public static CidrSet parse(List<String> entries) {
        List<Cidr> out = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            try {
                out.add(Cidr.parse(entries.get(i)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("[" + i + "]: " + e.getMessage(), e);
            }
        }
        return new CidrSet(out);
    }

    public boolean contains(InetAddress a) {
        for (Cidr c : prefixes) {
            if (c.contains(a)) {
                return true;
            }
        }
        return false;
    }

    public boolean isEmpty() {
        return prefixes.isEmpty();
    }

    public List<Cidr> prefixes() {
        return prefixes;
    }

    @Override
    public String toString() {
        return prefixes.isEmpty() ? "none" : prefixes.toString();
    }
}
