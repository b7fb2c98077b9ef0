package io.msm.agent.sip.proxy;

import io.msm.agent.media.MediaAdmission;
import io.msm.agent.media.MediaPlane;
import io.msm.agent.media.Relay;
import io.msm.agent.media.RelayOptions;
import io.msm.agent.media.RelayPair;
import io.msm.agent.media.RelayStats;
import io.msm.agent.media.RtpStreamStats;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;

/**
 * A media plane whose subscriptions take {@code delayMs} (as a kernel plane's can, when it resolves
 * a next hop): everything else is the wrapped plane's.
 */
final class SlowSubscribePlane implements MediaPlane {
    private final MediaPlane inner;
    private final long delayMs;

    SlowSubscribePlane(MediaPlane inner, long delayMs) {
        this.inner = inner;
        this.delayMs = delayMs;
    }

    @Override
    public MediaAdmission admission() {
        return inner.admission();
    }

    @Override
    public String mode() {
        return inner.mode();
    }

    @Override
    public Relay open(InetSocketAddress bind, RelayOptions options) throws IOException {
        return new Slow(inner.open(bind, options));
    }

    @Override
    public RelayPair openPair(InetAddress addr, RelayOptions rtp, RelayOptions rtcp)
            throws IOException {
        RelayPair p = inner.openPair(addr, rtp, rtcp);
        return new RelayPair(new Slow(p.rtp()), new Slow(p.rtcp()));
    }

    @Override
    public void close() {
        inner.close();
    }

    private final class Slow implements Relay {
        private final Relay r;

        Slow(Relay r) {
            this.r = r;
        }

        @Override
        public Subscriber subscribe(InetSocketAddress viewer, InetSocketAddress source) {
            try {
                Thread.sleep(delayMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return r.subscribe(viewer, source);
        }

        @Override
        public InetSocketAddress local() {
            return r.local();
        }

        @Override
        public RelayOptions options() {
            return r.options();
        }

        @Override
        public void expectSource(InetSocketAddress source) {
            r.expectSource(source);
        }

        @Override
        public List<Subscriber> subscribers() {
            return r.subscribers();
        }

        @Override
        public void tap(PacketListener listener, boolean upstreamToo) {
            r.tap(listener, upstreamToo);
        }

        @Override
        public void inject(ByteBuf data) {
            r.inject(data);
        }

        @Override
        public void send(ByteBuf data, InetSocketAddress to) {
            r.send(data, to);
        }

        @Override
        public RelayStats stats() {
            return r.stats();
        }

        @Override
        public Optional<RtpStreamStats> rtpStats() {
            return r.rtpStats();
        }

        @Override
        public void close() {
            r.close();
        }
    }
}
