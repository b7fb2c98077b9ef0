package io.msm.agent.media;

import io.msm.bpf.maps.PortTable;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;

/** Finds free (even, even + 1) UDP port pairs in the media range, round robin. */
final class PortPairs {
    interface Opener {
        Relay open(InetSocketAddress bind, RelayOptions options) throws IOException;
    }

    private final PortTable.Range range;
    private final AtomicInteger cursor;

    PortPairs(PortTable.Range range) {
        this.range = range;
        this.cursor = new AtomicInteger(range.lo() + (range.lo() & 1));
    }

    RelayPair open(Opener opener, InetAddress addr, RelayOptions rtp, RelayOptions rtcp)
            throws IOException {
        int span = range.hi() - range.lo() + 1;
        for (int tries = 0; tries < span / 2; tries++) {
            int p = cursor.getAndAdd(2);
            if (p + 1 > range.hi()) {
                cursor.set(range.lo() + (range.lo() & 1) + 2);
                p = range.lo() + (range.lo() & 1);
            }
            Relay a;
            try {
                a = opener.open(new InetSocketAddress(addr, p), rtp);
            } catch (BindException e) {
                continue;
            }
            try {
                return new RelayPair(a, opener.open(new InetSocketAddress(addr, p + 1), rtcp));
            } catch (BindException e) {
                a.close();
            }
        }
        throw new BindException(
                "no free RTP/RTCP port pair in media.port-range "
                        + range
                        + " on "
                        + addr.getHostAddress());
    }
}
