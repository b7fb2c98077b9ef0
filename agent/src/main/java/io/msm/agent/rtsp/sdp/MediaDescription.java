package io.msm.agent.rtsp.sdp;

import java.util.List;

/**
 * One m= section.
 *
 * @param media audio, video, application, ...
 * @param protocol e.g. RTP/AVP
 * @param formats payload types (as text)
 * @param control the a=control value, or null
 * @param lines every line of the section after m=, except a=control (type letter, '=', value)
 */
public record MediaDescription(
        String media, String protocol, List<String> formats, String control, List<String> lines) {
    public boolean isRtpAvp() {
        return protocol.equalsIgnoreCase("RTP/AVP");
    }
}
