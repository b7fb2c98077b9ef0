package io.msm.agent.sip.registrar;

import io.msm.agent.config.SipSettings;
import io.msm.agent.sip.message.HeaderNames;
import io.msm.agent.sip.message.NameAddr;
import io.msm.agent.sip.message.SipRequest;
import io.msm.agent.sip.message.SipResponse;
import io.msm.agent.sip.message.SipSyntaxException;
import io.msm.agent.sip.message.SipUri;
import io.msm.agent.sip.route.Node;
import io.msm.agent.sip.route.Router;
import java.util.List;

/**
 * msm's registrar (RFC 3261 section 10): REGISTER requests addressed to the node fill the {@link
 * Location} service, which routing asks for the contact of a Request-URI. Proxy thread only.
 */
public final class Registrar implements Router.Registrations {
    private final SipSettings cfg;
    private final Location location;
    private final Node node;

    public Registrar(SipSettings cfg, Location location, Node node) {
        this.cfg = cfg;
        this.location = location;
        this.node = node;
    }

    /**
     * A REGISTER for msm itself: the bindings updated, and the answer (200 with the bindings, or
     * why not).
     */
    public SipResponse register(SipRequest req) {
        SipUri aorUri;
        try {
            aorUri = req.to().sipUri();
        } catch (SipSyntaxException e) {
            return refuse(req, 400, "the To of a REGISTER must be a sip: URI");
        }
        String aor = aorKey(aorUri);
        long maxExp = cfg.maxRegisterExpires().toSeconds();
        long dflt = 3600;
        String eh = req.first(HeaderNames.EXPIRES);
        if (eh != null) {
            if (!eh.trim().matches("\\d{1,10}")) {
                return refuse(req, 400, "bad Expires");
            }
            dflt = Long.parseLong(eh.trim());
        }
        List<String> contacts = req.all(HeaderNames.CONTACT);
        if (contacts.size() == 1 && contacts.get(0).trim().equals("*")) {
            if (dflt != 0) {
                return refuse(req, 400, "Contact: * needs Expires: 0");
            }
            location.removeAll(aor);
        } else {
            for (String c : contacts) {
                if (c.trim().equals("*")) {
                    return refuse(req, 400, "Contact: * must be alone");
                }
                NameAddr na = NameAddr.parse(c);
                long exp = dflt;
                String e = na.param("expires");
                if (e != null) {
                    if (!e.matches("\\d{1,10}")) {
                        return refuse(req, 400, "bad expires parameter");
                    }
                    exp = Long.parseLong(e);
                }
                if (!SipUri.isSip(na.uri())) {
                    return refuse(req, 400, "only sip: contacts can be registered");
                }
                if (!location.update(aor, na.uri(), Math.min(exp, maxExp))) {
                    SipResponse r = SipResponse.to(req, 503, null, SipResponse.newTag());
                    r.add(HeaderNames.RETRY_AFTER, Long.toString(cfg.retryAfter().toSeconds()));
                    r.add(
                            HeaderNames.WARNING,
                            "399 msm \"location service full (sip.max-registrations)\"");
                    return r;
                }
            }
        }
        SipResponse ok = SipResponse.to(req, 200, null, SipResponse.newTag());
        long now = System.currentTimeMillis();
        for (Location.Binding b : location.lookup(aor)) {
            ok.add(HeaderNames.CONTACT, "<" + b.contact() + ">;expires=" + b.remainingSeconds(now));
        }
        return ok;
    }

    private static SipResponse refuse(SipRequest req, int status, String warning) {
        SipResponse r = SipResponse.to(req, status, null, SipResponse.newTag());
        r.add(HeaderNames.WARNING, "399 msm \"" + warning.replace('"', '\'') + "\"");
        return r;
    }

    @Override
    public String contactOf(SipUri ruri) {
        List<Location.Binding> b = location.lookup(aorKey(ruri));
        return b.isEmpty() ? null : b.get(0).contact();
    }

    /**
     * The location service's key for a URI: "user@host", where every one of the node's own
     * addresses counts as the same host — a UA registered at one node address is reachable through
     * the others (a node has one address per network it joins).
     */
    private String aorKey(SipUri u) {
        String user = u.userName() == null ? "" : u.userName();
        if (u.address() != null && node.isOurHost(u.host())) {
            return user + "@(this node)";
        }
        return u.aor();
    }
}
