package io.msm.agent.media;

import io.msm.agent.net.NextHop;
import io.msm.agent.net.NextHops;
import java.net.InetAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Next hops by destination for a while: a viewer's RTP and RTCP subscriptions resolve once. */
final class NextHopCache {
    private record Entry(NextHop hop, long expiresNs) {}

    private final Map<InetAddress, Entry> cache = new ConcurrentHashMap<>();
    private final long ttlNs;

    NextHopCache(Duration ttl) {
        this.ttlNs = ttl.toNanos();
    }

    NextHop resolve(InetAddress dst, Runnable probe) throws NextHops.Unresolved {
        Entry e = cache.get(dst);
        long now = System.nanoTime();
        if (e != null && e.expiresNs - now > 0) {
            return e.hop;
        }
        NextHop h = NextHops.resolve(dst, probe, 1000);
        cache.put(dst, new Entry(h, now + ttlNs));
        return h;
    }
}
