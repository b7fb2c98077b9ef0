package io.msm.agent.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The SIP proxy's settings (section {@code sip:}).
 *
 * @param maxMessageBytes    larger messages are refused (513 / dropped)
 * @param maxCalls           concurrent calls with anchored media
 * @param invitesPerSecond   new INVITEs accepted per second; more get 503 with Retry-After
 * @param rtpTimeout         a call without RTP for this long is torn down and its ports freed
 * @param maxRegisterExpires cap on REGISTER expiry
 * @param routes             static routes: user or domain -> target
 */
public record SipSettings(int maxMessageBytes, int maxCalls, int invitesPerSecond, Duration rtpTimeout,
                          Duration maxRegisterExpires, List<Route> routes) {

    /** @param match "user@domain", "@domain" or "user"; @param target "host:port" to forward to */
    public record Route(String match, HostPort target) {
    }

    public static SipSettings defaults() {
        return read(new ConfigNode("sip", null));
    }

    public static SipSettings read(ConfigNode n) {
        int maxMsg = n.integer("max-message-bytes", 16384, 1024, 65535);
        int maxCalls = n.integer("max-calls", 1000, 1, 100_000);
        int ips = n.integer("invites-per-second", 100, 1, 100_000);
        Duration rtp = n.duration("rtp-timeout", Duration.ofSeconds(60), Duration.ofSeconds(1));
        Duration reg = n.duration("max-register-expires", Duration.ofHours(1), Duration.ofSeconds(60));
        List<Route> routes = n.list("routes", new ArrayList<>(), e -> {
            ConfigNode r = e.node();
            String match = r.string("match", null);
            if (match == null || match.isBlank()) {
                throw new ConfigException(r.field("match"), "required: user@domain, @domain or user");
            }
            HostPort target = HostPort.parse(r.field("target"), r.string("target", null));
            r.done();
            return new Route(match, target);
        });
        n.done();
        return new SipSettings(maxMsg, maxCalls, ips, rtp, reg, routes);
    }
}
