package io.msm.agent.sip.message;

import java.util.Map;

/** Default reason phrases of the status codes msm sends. */
public final class Reasons {
    private static final Map<Integer, String> R =
            Map.ofEntries(
                    Map.entry(100, "Trying"),
                    Map.entry(180, "Ringing"),
                    Map.entry(200, "OK"),
                    Map.entry(400, "Bad Request"),
                    Map.entry(403, "Forbidden"),
                    Map.entry(404, "Not Found"),
                    Map.entry(405, "Method Not Allowed"),
                    Map.entry(408, "Request Timeout"),
                    Map.entry(416, "Unsupported URI Scheme"),
                    Map.entry(420, "Bad Extension"),
                    Map.entry(423, "Interval Too Brief"),
                    Map.entry(480, "Temporarily Unavailable"),
                    Map.entry(481, "Call/Transaction Does Not Exist"),
                    Map.entry(482, "Loop Detected"),
                    Map.entry(483, "Too Many Hops"),
                    Map.entry(487, "Request Terminated"),
                    Map.entry(488, "Not Acceptable Here"),
                    Map.entry(500, "Server Internal Error"),
                    Map.entry(502, "Bad Gateway"),
                    Map.entry(503, "Service Unavailable"),
                    Map.entry(504, "Server Time-out"),
                    Map.entry(505, "Version Not Supported"),
                    Map.entry(513, "Message Too Large"));

    private Reasons() {}

    public static String of(int status) {
        String r = R.get(status);
        if (r != null) {
            return r;
        }
        return status < 200
                ? "Session Progress"
                : status < 300
                        ? "OK"
                        : status < 400
                                ? "Redirect"
                                : status < 500
                                        ? "Client Error"
                                        : status < 600 ? "Server Error" : "Global Failure";
    }
}
