package io.msm.agent.sip.call;

import java.net.InetSocketAddress;

/**
 * The node ports of one anchored media stream: the caller sends to {@code callerSide} (on the node
 * address facing the caller), the callee to {@code calleeSide}; RTCP is on the next port of each.
 */
public record StreamPorts(InetSocketAddress callerSide, InetSocketAddress calleeSide) {
    public InetSocketAddress callerSideRtcp() {
        return new InetSocketAddress(callerSide.getAddress(), callerSide.getPort() + 1);
    }

    public InetSocketAddress calleeSideRtcp() {
        return new InetSocketAddress(calleeSide.getAddress(), calleeSide.getPort() + 1);
    }
}
