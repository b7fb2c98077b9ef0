package io.msm.agent.config;

import io.msm.agent.auth.CidrSet;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The HTTP listener's settings (section {@code http:}; the address is {@code metrics-listen}).
 *
 * <pre>
 * http:
 *   max-connections: 256            # open connections at most; more are closed at once
 *   max-connections-per-source: 16  # per client address (IPv6: per /64)
 *   request-timeout: 5s             # a request must arrive whole within this (slow clients are closed)
 *   idle-timeout: 60s               # a kept-alive connection with no request this long is closed
 *   stall-timeout: 5s               # /readyz fails while a proxy's event loop has not run for this long
 *   token-file: /etc/msm/http-token # bearer token for endpoints with personal data (/calls)
 *   private-from: [127.0.0.0/8, ::1]  # without a token, those endpoints answer only these clients
 * </pre>
 *
 * @param maxConnections open connections at most
 * @param maxConnectionsPerSource open connections per client address (IPv6 /64)
 * @param requestTimeout a request must arrive whole within this
 * @param idleTimeout a connection without a request this long is closed
 * @param stallTimeout an event loop that has not run a task this long makes /readyz fail
 * @param tokenFile bearer token for personal-data endpoints; null: none (loopback only)
 * @param privateFrom clients served personal-data endpoints without a token
 */
public record HttpSettings(
        int maxConnections,
        int maxConnectionsPerSource,
        Duration requestTimeout,
        Duration idleTimeout,
        Duration stallTimeout,
        Path tokenFile,
        CidrSet privateFrom) {

    public static final List<String> LOOPBACK = List.of("127.0.0.0/8", "::1/128");

    public static HttpSettings defaults() {
        return read(new ConfigNode("http", null));
    }

    public static HttpSettings read(ConfigNode n) {
        int max = n.integer("max-connections", 256, 1, 100_000);
        int perSource = n.integer("max-connections-per-source", 16, 1, 100_000);
        if (perSource > max) {
            throw new ConfigException(
                    n.field("max-connections-per-source"),
                    "must not be over max-connections (" + max + ")");
        }
        Duration request =
                n.duration("request-timeout", Duration.ofSeconds(5), Duration.ofMillis(100));
        Duration idle = n.duration("idle-timeout", Duration.ofSeconds(60), Duration.ofSeconds(1));
        Duration stall = n.duration("stall-timeout", Duration.ofSeconds(5), Duration.ofMillis(500));
        String token = n.string("token-file", "");
        CidrSet privateFrom = n.cidrs("private-from", LOOPBACK);
        n.done();
        return new HttpSettings(
                max,
                perSource,
                request,
                idle,
                stall,
                token.isEmpty() ? null : Path.of(token),
                privateFrom);
    }
}
