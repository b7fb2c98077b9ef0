package io.msm.agent.sip.route;

import io.msm.agent.config.SipSettings;
import io.msm.agent.sip.message.SipUri;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Routes from the config (sip.routes): the most specific match wins — "user@domain", then "user"
 * (any domain), then "@domain".
 */
public final class StaticRoutes {
    private final Map<String, SipSettings.Route> exact = new HashMap<>();
    private final Map<String, SipSettings.Route> users = new HashMap<>();
    private final Map<String, SipSettings.Route> domains = new HashMap<>();

    public StaticRoutes(List<SipSettings.Route> routes) {
        for (SipSettings.Route r : routes) {
            String m = r.match();
            int at = m.indexOf('@');
            if (at < 0) {
                users.putIfAbsent(m, r);
            } else if (at == 0) {
                domains.putIfAbsent(m.substring(1).toLowerCase(Locale.ROOT), r);
            } else {
                exact.putIfAbsent(
                        m.substring(0, at) + "@" + m.substring(at + 1).toLowerCase(Locale.ROOT), r);
            }
        }
    }

    public SipSettings.Route match(SipUri uri) {
        String user = uri.userName();
        String host = uri.host().toLowerCase(Locale.ROOT);
        if (user != null) {
            SipSettings.Route r = exact.get(user + "@" + host);
            if (r != null) {
                return r;
            }
            r = users.get(user);
            if (r != null) {
                return r;
            }
        }
        return domains.get(host);
    }
}
