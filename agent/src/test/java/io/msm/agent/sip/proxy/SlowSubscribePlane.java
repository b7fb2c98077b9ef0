package io.msm.agent.sip.proxy;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.msm.agent.identity.IdentityLookup;
import io.msm.agent.identity.IdentitySink;
import io.msm.agent.media.ForwardingRelay;
import io.msm.agent.media.MediaAdmission;
import io.msm.agent.media.MediaPlane;
import io.msm.agent.media.Relay;
import io.msm.agent.media.RelayOptions;
import io.msm.agent.media.RelayPair;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * A media plane whose subscriptions take {@code delayMs} (as a kernel plane's can, when it resolves
 * a next hop): everything else is the wrapped plane's.
 *
 * <p>Blocking: {@code subscribe} itself takes that long. Deferred: it returns at once, and the
 * subscription is made {@code delayMs} later on a control thread of the plane's own, one after the
 * other, as the kernel plane does (until then nothing is copied to the subscriber; its {@code
 * ready()} completes when copies flow).
 */
final class SlowSubscribePlane implements MediaPlane {
    private final MediaPlane inner;
    private final long delayMs;
    private final ExecutorService control;

    SlowSubscribePlane(MediaPlane inner, long delayMs) {
        this(inner, delayMs, false);
    }

    SlowSubscribePlane(MediaPlane inner, long delayMs, boolean deferred) {
        this.inner = inner;
        this.delayMs = delayMs;
        this.control =
                deferred
                        ? Executors.newSingleThreadExecutor(
                                r -> {
                                    Thread t = new Thread(r, "slow-subscribe-control");
                                    t.setDaemon(true);
                                    return t;
                                })
                        : null;
    }

    private void pause() {
        try {
            Thread.sleep(delayMs);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
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
    public IdentitySink identitySink() {
        return inner.identitySink();
    }

    @Override
    public void identityLookup(IdentityLookup lookup) {
        inner.identityLookup(lookup);
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
        if (control != null) {
            control.shutdownNow();
        }
        inner.close();
    }

    private final class Slow extends ForwardingRelay {
        Slow(Relay r) {
            super(r);
        }

        @Override
        public Subscriber subscribe(InetSocketAddress viewer, InetSocketAddress source) {
            if (control == null) {
                pause();
                return delegate.subscribe(viewer, source);
            }
            Deferred d = new Deferred(viewer, source);
            control.execute(
                    () -> {
                        pause();
                        d.make(() -> delegate.subscribe(viewer, source));
                    });
            return d;
        }
    }

    private static final class Deferred implements Relay.Subscriber {
        final InetSocketAddress viewer;
        final InetSocketAddress source;
        final CompletableFuture<Void> ready = new CompletableFuture<>();

        @GuardedBy("this")
        Relay.Subscriber sub;

        @GuardedBy("this")
        boolean closed;

        Deferred(InetSocketAddress viewer, InetSocketAddress source) {
            this.viewer = viewer;
            this.source = source;
        }

        /** Control thread: subscribe now, unless closed meanwhile; copies flow from here on. */
        void make(Supplier<Relay.Subscriber> subscribe) {
            synchronized (this) {
                if (!closed) {
                    sub = subscribe.get();
                }
            }
            ready.complete(null);
        }

        @Override
        public InetSocketAddress viewer() {
            return viewer;
        }

        @Override
        public InetSocketAddress source() {
            return source;
        }

        @Override
        public synchronized long packets() {
            return sub == null ? 0 : sub.packets();
        }

        @Override
        public synchronized long bytes() {
            return sub == null ? 0 : sub.bytes();
        }

        @Override
        public CompletionStage<Void> ready() {
            return ready;
        }

        @Override
        public synchronized String servedBy() {
            return sub == null ? "pending" : sub.servedBy();
        }

        @Override
        public synchronized void close() {
            closed = true;
            if (sub != null) {
                sub.close();
            }
        }
    }
}
