package io.msm.agent.sip.registrar;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The location service the registrar fills (RFC 3261 section 10): per address-of-record
 * ("user@host") the contacts registered, each until its expiry (capped by
 * sip.max-register-expires). In memory: UAs re-register.
 */
public final class Location {
    /** One contact of an address-of-record. */
    public record Binding(String aor, String contact, long expiresAtMs, long registeredAtMs) {
        public long remainingSeconds(long nowMs) {
            return Math.max(0, (expiresAtMs - nowMs + 999) / 1000);
        }
    }

    private final Map<String, Map<String, Binding>> byAor = new HashMap<>();
    private final LongSupplier clock;
    private final int max;
    private int count;

    public Location(int maxBindings, LongSupplier clockMs) {
        this.max = maxBindings;
        this.clock = clockMs;
    }

    /** Bindings of an AoR that have not expired, the most recently registered first. */
    public List<Binding> lookup(String aor) {
        Map<String, Binding> m = byAor.get(aor);
        if (m == null) {
            return List.of();
        }
        long now = clock.getAsLong();
        List<Binding> out = new ArrayList<>();
        for (Binding b : m.values()) {
            if (b.expiresAtMs() > now) {
                out.add(b);
            }
        }
        out.sort(Comparator.comparingLong(Binding::registeredAtMs).reversed());
        return out;
    }

    /**
     * Add or refresh (expiresSeconds > 0) or remove (0) a binding.
     *
     * @return false if the location service is full
     */
    public boolean update(String aor, String contact, long expiresSeconds) {
        purge();
        Map<String, Binding> m = byAor.computeIfAbsent(aor, k -> new LinkedHashMap<>());
        if (expiresSeconds <= 0) {
            if (m.remove(contact) != null) {
                count--;
            }
            if (m.isEmpty()) {
                byAor.remove(aor);
            }
            return true;
        }
        if (!m.containsKey(contact)) {
            if (count >= max) {
                if (m.isEmpty()) {
                    byAor.remove(aor);
                }
                return false;
            }
            count++;
        }
        long now = clock.getAsLong();
        m.put(contact, new Binding(aor, contact, now + expiresSeconds * 1000, now));
        return true;
    }

    public void removeAll(String aor) {
        Map<String, Binding> m = byAor.remove(aor);
        if (m != null) {
            count -= m.size();
        }
    }

    /** Drop expired bindings. */
    public void purge() {
        long now = clock.getAsLong();
        byAor.values()
                .removeIf(
                        m -> {
                            int before = m.size();
                            m.values().removeIf(b -> b.expiresAtMs() <= now);
                            count -= before - m.size();
                            return m.isEmpty();
                        });
    }

    public int size() {
        return count;
    }
}
