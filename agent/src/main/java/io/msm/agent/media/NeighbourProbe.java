package io.msm.agent.media;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;

/**
 * Makes the kernel resolve a subscriber's MAC address: an empty UDP datagram to the subscriber's
 * own media port (which expects our traffic anyway; RTP receivers ignore datagrams shorter than a
 * header). The kernel sends the ARP request and records the answer in its neighbour table, where
 * the fan-out reads it.
 */
final class NeighbourProbe {
    private NeighbourProbe() {}

    static void send(InetSocketAddress viewer) {
        try (DatagramChannel ch = DatagramChannel.open()) {
            ch.send(ByteBuffer.allocate(0), viewer);
        } catch (IOException e) {
            // unreachable: resolution then times out and the subscriber is served from userspace
        }
    }
}
