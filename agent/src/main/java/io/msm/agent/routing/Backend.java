package io.msm.agent.routing;

import java.net.URI;

/**
 * A backend chosen for one session.
 *
 * @param route the StreamRoute, "namespace/name"
 * @param name the backend as its status names it: "namespace/service:port" or the url
 * @param endpoint the target that was chosen: "ip:port" of a Service endpoint, or the url's
 *     host:port
 * @param upstream the rtsp:// URL to pull the session's stream from
 */
public record Backend(String route, String name, String endpoint, URI upstream) {}
