package io.msm.agent.config;

import io.msm.agent.game.GameTables;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.slf4j.LoggerFactory;

/**
 * Game services from the config (section {@code game:}): UDP services the kernel routes per session
 * to backends (Maglev, weights; see the README's "Game traffic"), for nodes without Kubernetes and
 * the local demo. In a cluster they come from Gateway API UDPRoutes ({@code
 * kubernetes.gateway-api}). None by default: the datapath's game code stays off (F_GAME unset)
 * until a service exists.
 *
 * <pre>
 * game:
 *   sweep-interval: 10s          # removed backends are freed once no session is pinned to them
 *   silent-interval: 5s          # a backend that received ≥ silent-min-packets in one interval
 *   silent-min-packets: 20       #   and answered none gets no new sessions until it answers
 *   services:
 *   - name: arena                # letters, digits, . _ - (metrics' route label)
 *     port: 7777                 # UDP port on the node's addresses
 *     address: 192.0.2.10        # optional: only this node address (default: every IPv4 address
 *                                #   of the interfaces msm is attached to)
 *     session-key: client-address   # client-address | kcp | token | raknet
 *     kcp-offset: 0              # session-key kcp: the conversation id's offset in the payload
 *                                #   (kcptun --crypt none: 20)
 *     token-length: 8            # session-key token: the last N (1..16) bytes name the backend
 *     idle-timeout: 2m           # a session idle this long picks its backend again
 *     rebind: port               # where a known session key may move its client: port (same
 *                                #   IP, default) | prefix (same /24) | any (unsafe) | none
 *     rebind-confirm: 0          # replies move only after N packets in a row from the new address
 *     backends:
 *     - {address: 10.0.1.2, port: 9000, weight: 3}
 *     - {address: 10.0.1.3, port: 9000, weight: 1, token: "hex:00112233aabbccdd"}
 * </pre>
 *
 * Tokens are {@code hex:...}, {@code base64:...} or bare hex.
 */
public record GameSettings(
        List<Service> services,
        Duration sweepInterval,
        Duration silentInterval,
        int silentMinPackets) {

    /** How a session is keyed. */
    public enum SessionKey {
        CLIENT_ADDRESS,
        KCP,
        TOKEN,
        /** RakNet: the client GUID of Open Connection Request 2 picks the backend. */
        RAKNET
    }

    /** One backend: IPv4 address, port, weight, routing token (null: none). */
    public record Backend(Inet4Address address, int port, int weight, byte[] token) {}

    /**
     * A static game service.
     *
     * @param address only this node address (empty: the node's addresses)
     */
    public record Service(
            String name,
            int port,
            Optional<Inet4Address> address,
            SessionKey sessionKey,
            int kcpOffset,
            int tokenLength,
            Duration idleTimeout,
            List<Backend> backends,
            GameTables.Rebind rebind,
            int rebindConfirm) {}

    /** Most game services at once (the kernel's service ids; MSM_GAME_MAX_SERVICES). */
    public static final int MAX_SERVICES = 64;

    /**
     * Most backends of one service: the Maglev table has 16,381 slots per service and wants ≥ 100
     * per backend to keep weights within ~1 %.
     */
    public static final int MAX_BACKENDS = 163;

    /** Longest routing token (MSM_GAME_TOKEN_MAX). */
    public static final int TOKEN_MAX = 16;

    public static final Duration DEFAULT_IDLE = Duration.ofMinutes(2);

    public static GameSettings defaults() {
        return read(new ConfigNode("game", null));
    }

    public boolean any() {
        return !services.isEmpty();
    }

    public static GameSettings read(ConfigNode n) {
        Duration sweep =
                n.duration("sweep-interval", Duration.ofSeconds(10), Duration.ofMillis(100));
        Duration silent =
                n.duration("silent-interval", Duration.ofSeconds(5), Duration.ofMillis(100));
        int minPackets = n.integer("silent-min-packets", 20, 1, 1_000_000);
        Set<String> names = new HashSet<>();
        Set<String> listens = new HashSet<>();
        List<Service> services =
                n.list(
                        "services",
                        List.of(),
                        e -> {
                            Service s = service(e.node());
                            if (!names.add(s.name())) {
                                throw new ConfigException(
                                        e.field() + ".name",
                                        "another service is named '" + s.name() + "'");
                            }
                            String at =
                                    s.address().map(InetAddress::getHostAddress).orElse("*")
                                            + ":"
                                            + s.port();
                            // the same address and port, or a port on every address and on one
                            boolean clash =
                                    listens.contains(at)
                                            || listens.contains("*:" + s.port())
                                            || (s.address().isEmpty()
                                                    && listens.stream()
                                                            .anyMatch(
                                                                    l ->
                                                                            l.endsWith(
                                                                                    ":"
                                                                                            + s
                                                                                                    .port())));
                            listens.add(at);
                            if (clash) {
                                throw new ConfigException(
                                        e.field() + ".port",
                                        "another service listens on port " + s.port());
                            }
                            return s;
                        });
        if (services.size() > MAX_SERVICES) {
            throw new ConfigException(
                    n.field("services"),
                    "at most " + MAX_SERVICES + " services (got " + services.size() + ")");
        }
        n.done();
        return new GameSettings(List.copyOf(services), sweep, silent, minPackets);
    }

    private static Service service(ConfigNode s) {
        String name = s.string("name", null);
        if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
            throw new ConfigException(
                    s.field("name"), "required: 1..63 letters, digits, . _ - (got '" + name + "')");
        }
        if (!s.has("port")) {
            throw new ConfigException(s.field("port"), "required: the UDP port 1..65535");
        }
        int port = s.integer("port", 0, 1, 65535);
        String addr = s.string("address", null);
        Optional<Inet4Address> address =
                addr == null ? Optional.empty() : Optional.of(ipv4(s.field("address"), addr));
        SessionKey key = s.enumeration("session-key", SessionKey.CLIENT_ADDRESS, SessionKey.class);
        if (key != SessionKey.KCP && s.has("kcp-offset")) {
            throw new ConfigException(s.field("kcp-offset"), "only with session-key: kcp");
        }
        int kcpOffset = s.integer("kcp-offset", 0, 0, 1400);
        if (key != SessionKey.TOKEN && s.has("token-length")) {
            throw new ConfigException(s.field("token-length"), "only with session-key: token");
        }
        if (key == SessionKey.TOKEN && !s.has("token-length")) {
            throw new ConfigException(
                    s.field("token-length"),
                    "required with session-key: token (1.." + TOKEN_MAX + " bytes)");
        }
        int tokenLength = s.integer("token-length", 0, 1, TOKEN_MAX);
        Duration idle = s.duration("idle-timeout", DEFAULT_IDLE, Duration.ofSeconds(1));
        String rebindText = s.string("rebind", "port");
        GameTables.Rebind rebind;
        try {
            rebind = GameTables.Rebind.parse(rebindText);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(
                    s.field("rebind"),
                    "must be port (same IP, default), prefix (same /24), any (unsafe: anyone who"
                            + " knows a session key takes its replies) or none; got '"
                            + rebindText
                            + "'");
        }
        if (rebind == GameTables.Rebind.ANY) {
            LoggerFactory.getLogger(GameSettings.class)
                    .warn(
                            "{}: rebind any — whoever sends a session's key from anywhere takes"
                                    + " its replies; use it only with an authenticated protocol",
                            s.field("rebind"));
        }
        int rebindConfirm = s.integer("rebind-confirm", 0, 0, 65535);
        Set<String> seen = new HashSet<>();
        List<Backend> backends =
                s.list(
                        "backends",
                        List.of(),
                        e -> {
                            Backend b = backend(e.node(), key, tokenLength);
                            if (!seen.add(b.address().getHostAddress() + ":" + b.port())) {
                                throw new ConfigException(
                                        e.field(),
                                        "backend "
                                                + b.address().getHostAddress()
                                                + ":"
                                                + b.port()
                                                + " is listed twice");
                            }
                            return b;
                        });
        if (backends.isEmpty()) {
            throw new ConfigException(s.field("backends"), "at least one backend");
        }
        if (backends.size() > MAX_BACKENDS) {
            throw new ConfigException(
                    s.field("backends"),
                    "at most "
                            + MAX_BACKENDS
                            + " per service (16,381 Maglev slots, ≥ 100 each); got "
                            + backends.size());
        }
        if (key == SessionKey.TOKEN) {
            Set<String> tokens = new HashSet<>();
            for (Backend b : backends) {
                if (!tokens.add(HexFormat.of().formatHex(b.token()))) {
                    throw new ConfigException(
                            s.field("backends"),
                            "two backends share the token hex:"
                                    + HexFormat.of().formatHex(b.token()));
                }
            }
        }
        s.done();
        return new Service(
                name,
                port,
                address,
                key,
                kcpOffset,
                tokenLength,
                idle,
                List.copyOf(backends),
                rebind,
                rebindConfirm);
    }

    private static Backend backend(ConfigNode b, SessionKey key, int tokenLength) {
        String addr = b.string("address", null);
        if (addr == null) {
            throw new ConfigException(b.field("address"), "required: the backend's IPv4 address");
        }
        Inet4Address a = ipv4(b.field("address"), addr);
        if (!b.has("port")) {
            throw new ConfigException(b.field("port"), "required: the backend's UDP port");
        }
        int port = b.integer("port", 0, 1, 65535);
        int weight = b.integer("weight", 1, 1, 65535);
        String tok = b.string("token", null);
        byte[] token = null;
        if (tok != null) {
            if (key != SessionKey.TOKEN) {
                throw new ConfigException(b.field("token"), "only with session-key: token");
            }
            token = token(b.field("token"), tok);
            if (token.length != tokenLength) {
                throw new ConfigException(
                        b.field("token"),
                        "must be token-length = "
                                + tokenLength
                                + " bytes (got "
                                + token.length
                                + ")");
            }
        } else if (key == SessionKey.TOKEN) {
            throw new ConfigException(
                    b.field("token"),
                    "required with session-key: token (packets name their backend by it)");
        }
        b.done();
        return new Backend(a, port, weight, token);
    }

    private static Inet4Address ipv4(String field, String text) {
        if (!text.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}")) {
            throw new ConfigException(field, "must be an IPv4 address (got '" + text + "')");
        }
        try {
            return (Inet4Address) InetAddress.getByName(text);
        } catch (UnknownHostException | ClassCastException e) {
            throw new ConfigException(field, "must be an IPv4 address (got '" + text + "')");
        }
    }

    /**
     * A routing token: {@code hex:0011aa}, {@code base64:ABEi} or bare hex; 1..16 bytes. Also the
     * format of the {@code msm.io/routing-token} pod annotation.
     */
    public static byte[] token(String field, String text) {
        String t = text.trim();
        byte[] out;
        try {
            if (t.toLowerCase(Locale.ROOT).startsWith("base64:")) {
                out = Base64.getDecoder().decode(t.substring(7));
            } else {
                String h = t.toLowerCase(Locale.ROOT).startsWith("hex:") ? t.substring(4) : t;
                out = HexFormat.of().parseHex(h);
            }
        } catch (IllegalArgumentException e) {
            throw new ConfigException(
                    field, "must be hex:..., base64:... or bare hex (got '" + text + "')");
        }
        if (out.length < 1 || out.length > TOKEN_MAX) {
            throw new ConfigException(
                    field, "must be 1.." + TOKEN_MAX + " bytes (got " + out.length + ")");
        }
        return out;
    }

    /** For lists of what the config asks, with the key's name as it is written. */
    public static String keyName(SessionKey k) {
        return k.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
