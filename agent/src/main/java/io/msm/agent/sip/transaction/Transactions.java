package io.msm.agent.sip.transaction;

import io.msm.agent.config.SipSettings;
import io.msm.agent.sip.message.CSeq;
import io.msm.agent.sip.message.SipRequest;
import io.msm.agent.sip.message.SipResponse;
import io.msm.agent.sip.message.Via;
import io.msm.agent.sip.transport.Hop;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The transaction table (RFC 3261 section 17.1.3 and 17.2.3 matching): one thread, no locks. Server
 * transactions are keyed by the top Via's branch and sent-by and the method (ACK matches its
 * INVITE); client transactions by the branch msm put in its own Via and the CSeq method.
 */
public final class Transactions {
    private final Network net;
    private volatile SipSettings.Timers timers;
    private final Map<String, ServerTransaction> servers = new HashMap<>();
    private final Map<String, ClientTransaction> clients = new HashMap<>();

    public Transactions(Network net, SipSettings.Timers timers) {
        this.net = net;
        this.timers = timers;
    }

    Network net() {
        return net;
    }

    public SipSettings.Timers timers() {
        return timers;
    }

    /**
     * The key of the server transaction a request belongs to (ACK and CANCEL look up their INVITE's
     * with method INVITE).
     */
    public static String serverKey(SipRequest r, String method) {
        Via v = r.topVia();
        if (v.rfc3261Branch()) {
            return v.branch() + "|" + v.sentBy().toLowerCase(Locale.ROOT) + "|" + method;
        }
        // RFC 2543 peers: no unique branch; the dialog identifiers and CSeq number stand in
        CSeq c = r.cseq();
        return "2543|"
                + r.callId()
                + "|"
                + c.number()
                + "|"
                + r.from().tag()
                + "|"
                + v
                + "|"
                + method;
    }

    /** The transaction of this request, if it is a retransmission (or the ACK of a failure). */
    public ServerTransaction findServer(SipRequest r) {
        String m = r.is("ACK") ? "INVITE" : r.method();
        return servers.get(serverKey(r, m));
    }

    /** The INVITE transaction a CANCEL refers to. */
    public ServerTransaction findInviteFor(SipRequest cancel) {
        return servers.get(serverKey(cancel, "INVITE"));
    }

    /**
     * Handle a retransmission or the ACK of a failure response.
     *
     * @return true if the request was absorbed by an existing transaction
     */
    public boolean absorb(SipRequest r) {
        ServerTransaction st = findServer(r);
        if (st == null) {
            return false;
        }
        if (r.is("ACK")) {
            if (st.state() == ServerTransaction.State.COMPLETED
                    || st.state() == ServerTransaction.State.CONFIRMED) {
                st.onAck();
                return true;
            }
            return false; // the ACK of a 2xx is end to end: the proxy forwards it
        }
        st.onRetransmission();
        return true;
    }

    public ServerTransaction newServer(SipRequest r, Hop from, Hop responseHop) {
        String key = serverKey(r, r.method());
        ServerTransaction st = new ServerTransaction(this, key, r, from, responseHop);
        servers.put(key, st);
        return st;
    }

    /** Start a client transaction for a request whose top Via is msm's (with a unique branch). */
    public ClientTransaction newClient(SipRequest r, Hop to, ClientTransaction.Listener listener) {
        String key = r.topVia().branch() + "|" + r.cseq().method();
        ClientTransaction ct = new ClientTransaction(this, key, r, to, listener);
        clients.put(key, ct);
        ct.start();
        return ct;
    }

    /** Hand a response to its client transaction; false if none matches. */
    public boolean onResponse(SipResponse r) {
        Via v = r.topVia();
        if (v == null || v.branch() == null) {
            return false;
        }
        ClientTransaction ct = clients.get(v.branch() + "|" + r.cseq().method());
        if (ct == null) {
            return false;
        }
        ct.onResponse(r);
        return true;
    }

    public void terminate(ClientTransaction ct) {
        ct.terminate();
    }

    void remove(ServerTransaction st) {
        servers.remove(st.key, st);
    }

    void remove(ClientTransaction ct) {
        clients.remove(ct.key, ct);
    }

    public int serverCount() {
        return servers.size();
    }

    public int clientCount() {
        return clients.size();
    }
}
